"""Several web processes behind one proxy: none keeps state of its own, so an officer may land on any of them."""

from __future__ import annotations

import secrets

from broadcaster.web import create_app
from tests.support.env import Env
from tests.support.web import csrf


def test_a_session_made_on_one_web_process_works_on_another_and_logins_are_counted_together(env: Env) -> None:
    key = env.root / "web-secret-key"
    key.write_text(secrets.token_urlsafe(48))
    env.config.web.secret_key_file = str(key)
    first, second = (create_app(env.config, env.db, {"TESTING": True}).test_client() for _ in range(2))

    page = first.get("/login").get_data(as_text=True)
    answer = first.post("/login", data={"username": "admin", "password": "correct horse battery",
                                        "csrf_token": csrf(page)})
    assert answer.status_code == 302
    cookie = first.get_cookie("session")
    assert cookie is not None
    second.set_cookie("session", cookie.value)
    assert second.get("/").status_code == 200, "the other process knows the officer"
    assert csrf(second.get("/").get_data(as_text=True)), "and shows its forms"

    # Failed logins spread over both processes add up: the account locks as if they had hit one.
    for n in range(10):
        client = (first, second)[n % 2]
        page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"username": "admin", "password": "wrong", "csrf_token": csrf(page)})
    page = second.get("/login").get_data(as_text=True)
    locked = second.post("/login", data={"username": "admin", "password": "correct horse battery",
                                         "csrf_token": csrf(page)})
    assert locked.status_code != 302, "locked across processes"
