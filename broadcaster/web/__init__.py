"""The web application: JSON API under /api/v1 and server-rendered pages for officers."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from broadcaster.access import client_address
from broadcaster.config import ServerConfig
from broadcaster.db import Database


def create_app(config: ServerConfig, db: Database | None = None, test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(config),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.web.secure_cookies,
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,  # uploaded recordings; JSON bodies are capped at 1 MiB
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if test_config:
        app.config.update(test_config)
    database = db or Database(config.db_url)
    app.extensions["broadcaster"] = {"config": config, "db": database}

    @app.before_request
    def remember_address() -> None:
        # For the audit log. Behind a reverse proxy, configure it to set X-Forwarded-For and trust it
        # there (werkzeug's ProxyFix); the address is then the officer's, not the proxy's.
        client_address.set(request.remote_addr)

    @app.teardown_appcontext
    def close_session(exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            if exc is None:
                try:
                    session.commit()
                except OperationalError:
                    session.rollback()
                    raise
            else:
                session.rollback()
            session.close()

    from broadcaster.web import api, i18n, pages, ui  # noqa: F401  (pages adds its routes to ui.bp)

    i18n.init(app)

    @app.errorhandler(HTTPException)
    def api_errors_as_json(exc: HTTPException) -> Any:
        # Unknown URLs and wrong methods under /api/ answer in the API's error format, not HTML.
        if request.path.startswith("/api/"):
            return api.http_error(exc)
        return exc

    app.register_blueprint(api.bp)
    app.register_blueprint(ui.bp)
    return app


def _secret_key(config: ServerConfig) -> str:
    if config.web.secret_key_file:
        key = Path(config.web.secret_key_file).read_text().strip()
        if len(key) < 32:
            raise ValueError(f"{config.web.secret_key_file}: the secret key must be at least 32 characters")
        return key
    # No key configured: sessions last until restart, which is safe if inconvenient.
    return secrets.token_urlsafe(48)
