"""The web application: JSON API under /api/v1 and server-rendered pages for officers."""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, request, send_file
from werkzeug.exceptions import Forbidden, HTTPException, NotFound
from werkzeug.routing import IntegerConverter

from broadcaster.config import ServerConfig
from broadcaster.database import DB_DOWN, Database
from broadcaster.db import LARGEST_ID
from broadcaster.domain.access import client_address

logger = logging.getLogger(__name__)


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

    @app.after_request
    def commit(response: Response) -> Response:
        # Here rather than at teardown: a commit that fails still gets an answer (503), not a dropped connection.
        session = g.get("db")
        if session is not None and response.status_code < 500:  # a server error's half-done work is rolled back
            try:
                session.commit()
            except DB_DOWN:
                session.rollback()
                return database_unavailable()
        return response

    @app.teardown_appcontext
    def close_session(exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.rollback()  # whatever a failed request left unfinished
            session.close()

    def database_down(exc: Exception) -> Response:
        logger.warning("database unavailable (%s): %s %s answered 503", exc.__class__.__name__, request.method,
                       request.path)
        return database_unavailable()

    for kind in DB_DOWN:
        app.register_error_handler(kind, database_down)

    from broadcaster.web import api, i18n, pages

    i18n.init(app)

    @app.errorhandler(HTTPException)
    def api_errors_as_json(exc: HTTPException) -> Any:
        # Unknown URLs and wrong methods under /api/ answer in the API's error format; elsewhere a page of the
        # site in the officer's language.
        if request.path.startswith("/api/"):
            return api.http_error(exc)
        return pages.error_page(exc)

    app.url_map.converters["int"] = DatabaseId  # before the routes: every <int:...> in them is one
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.add_url_rule("/a/<asset_id>", "receiver_audio", receiver_audio)
    app.add_url_rule("/metrics", "metrics", metrics)
    return app


def metrics() -> Response:
    """The fleet for Prometheus (docs/operations.md): with ``[metrics] token_file``, for the bearer of that token;
    without it, only for a request from this machine that no proxy forwarded."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from broadcaster.ops.metrics import fleet_registry
    from broadcaster.web.common import config
    from edge_agent.settings import read_secret

    settings = config().metrics
    token = read_secret(None, settings.token_file) if settings.token_file else None
    sent = request.headers.get("Authorization", "")
    if token is not None:
        allowed = secrets.compare_digest(sent.encode(), f"Bearer {token}".encode())
    else:
        allowed = request.remote_addr in ("127.0.0.1", "::1") and "X-Forwarded-For" not in request.headers
    if not allowed:
        raise Forbidden("metrics: send the token of [metrics] token_file")
    if "metrics" not in current_app.extensions["broadcaster"]:
        current_app.extensions["broadcaster"]["metrics"] = fleet_registry(
            current_app.extensions["broadcaster"]["db"].sessions)
    return Response(generate_latest(current_app.extensions["broadcaster"]["metrics"]), mimetype=CONTENT_TYPE_LATEST)


def receiver_audio(asset_id: str) -> Response:
    """A stored audio file for the receivers (``asset_url``), by its SHA-256: no login, as the id cannot be
    guessed and every receiver checks the file against it and the signed manifest; ranges resume a download,
    and the file never changes, so caches and proxies may keep it."""
    from broadcaster.assets import AssetStore
    from broadcaster.web.common import config

    if not ASSET_ID.fullmatch(asset_id):
        raise NotFound("no such audio")
    path = AssetStore(config().asset_dir).path(asset_id)
    if not path.is_file():
        raise NotFound("no such audio")
    response = send_file(path, mimetype="audio/ogg", conditional=True, max_age=365 * 86400)
    response.headers["Cache-Control"] += ", immutable"
    return response


ASSET_ID = re.compile(r"[0-9a-f]{64}")


class DatabaseId(IntegerConverter):
    """An id a database column can hold (``LARGEST_ID``): a larger number in a URL is not found (404), not a crash in
    the database driver."""

    def to_python(self, value: str) -> int:
        number = int(super().to_python(value))
        if number > LARGEST_ID:
            # Not a mismatch (werkzeug would then answer 405 where another method's rule has this path): there
            # simply is no such thing.
            raise NotFound(f"there is nothing numbered {value[:30]}")
        return number


def _secret_key(config: ServerConfig) -> str:
    if config.web.secret_key_file:
        key = Path(config.web.secret_key_file).read_text().strip()
        if len(key) < 32:
            raise ValueError(f"{config.web.secret_key_file}: the secret key must be at least 32 characters")
        return key
    # No key configured: sessions last until restart, which is safe if inconvenient.
    return secrets.token_urlsafe(48)


def database_unavailable() -> Response:
    """503 with a hint to retry: JSON under /api/, a bare page otherwise (the usual one needs the database)."""
    from flask_babel import gettext

    from broadcaster.web.api import error

    if request.path.startswith("/api/"):
        response, _ = error("database_unavailable", "the database is not answering; try again shortly", 503)
    else:
        text = gettext("Hệ thống tạm thời không đọc được cơ sở dữ liệu. Xin thử lại sau ít phút; "
                       "không có gì bị mất.")
        response = Response(f"<!doctype html><meta charset=utf-8><title>503</title><p>{text}</p>",
                            mimetype="text/html")
    response.status_code = 503
    response.headers["Retry-After"] = "5"
    return response
