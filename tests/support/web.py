"""An officer's session in the pages: the CSRF token every form carries, and logging in."""

from __future__ import annotations

import re

from tests.support.env import Env


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "every form carries a CSRF token"
    return match.group(1)


def login(env: Env, password: str = "correct horse battery", username: str = "admin") -> str:
    """Log in (the admin by default; a user made by ``env.user`` has the password "<name> password 123")."""
    page = env.client.get("/login").get_data(as_text=True)
    response = env.client.post("/login", data={"username": username, "password": password,
                                               "csrf_token": csrf(page)})
    return response.headers["Location"] if response.status_code == 302 else response.get_data(as_text=True)
