"""The JSON API's blueprint under /api/v1 and what every operation shares: errors as
``{"error": {"code", "message"}}`` with a 4xx/5xx status, bearer-token authentication, reading the JSON body."""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from broadcaster.db import LARGEST_ID, ApiToken, token_hash, utcnow
from broadcaster.domain import errors
from broadcaster.domain.access import Denied, read_only
from broadcaster.web.common import db

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error(code: str, message: str, status: int, field: str | None = None,
          details: list[dict[str, Any]] | None = None) -> tuple[Response, int]:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    if details:
        body["details"] = details
    return jsonify(error=body), status


def _undo() -> None:
    """A refused request changes nothing: whatever it did before the refusal is rolled back here, not committed
    with the answer (an emergency's bulletin without its broadcast, a session without its clusters)."""
    session = g.get("db")
    if session is not None:
        session.rollback()


@bp.errorhandler(errors.Refusal)
def refused(exc: errors.Refusal) -> tuple[Response, int]:
    _undo()
    return error(exc.code, exc.message, exc.status, exc.field, exc.details)


@bp.errorhandler(Denied)
def denied(exc: Denied) -> tuple[Response, int]:
    _undo()
    return error(exc.code, exc.message, 403)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> tuple[Response, int]:
    return error((exc.name or "error").lower().replace(" ", "_"), exc.description or "", exc.code or 500)


def authenticated(view):
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error("unauthorized", "send 'Authorization: Bearer <token>'", 401)
        record = db().query(ApiToken).filter_by(token_hash=token_hash(token.strip())).one_or_none()
        if record is None:
            return error("unauthorized", "the API token is not valid", 401)
        now = utcnow()
        if record.last_used_at is None or (now - record.last_used_at).total_seconds() > 300:
            record.last_used_at = now  # coarse: a write per token every few minutes, not per request
        if request.method not in ("GET", "HEAD", "OPTIONS") and read_only(record.user):
            return error("read_only", "an integration token can only read (GET)", 403)
        g.user = record.user
        return view(*args, **kwargs)

    return wrapper


MAX_JSON_BYTES = 1024 * 1024


def body() -> dict[str, Any]:
    """The request's JSON object. Each field is checked where it is used (its own code and message); here only
    what no field can mean: not an object, too large or too deeply nested, or a number beyond what an id column
    holds, which the database driver cannot even compare (an id like that would crash the lookup instead of not
    being found)."""
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise errors.Refusal("request_entity_too_large", "a JSON body may be at most 1 MiB", status=413)
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # ``silent`` covers malformed JSON, not JSON nested deeper than the decoder goes
        raise errors.Refusal("bad_json", "the JSON body is nested too deeply", status=400) from None
    if not isinstance(data, dict):
        raise errors.Refusal("bad_json", "the request body must be a JSON object", status=400)
    _refuse_huge_integers(data)
    return data


def optional_body() -> dict[str, Any]:
    """``body()`` for an operation whose body may be left out: nothing (or nothing in JSON) sent is ``{}``."""
    if not request.is_json or (not request.content_length and not request.get_data()):
        return {}
    return body()


def _refuse_huge_integers(data: dict[str, Any]) -> None:
    # A loop, not recursion: a body nested a thousand deep must not exhaust the stack.
    pending: list[tuple[str, Any]] = list(data.items())
    while pending:
        field, value = pending.pop()
        if isinstance(value, dict):
            pending += [(field, v) for v in value.values()]
        elif isinstance(value, list):
            pending += [(field, v) for v in value]
        elif isinstance(value, int) and not -LARGEST_ID <= value <= LARGEST_ID:
            raise errors.Refusal("number_too_large", f"'{field}' holds a number beyond what this server keeps "
                                                      f"(at most {LARGEST_ID})", field=field)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """This API described as OpenAPI 3.1."""
    from broadcaster.web.openapi import document

    return jsonify(document())


@bp.get("/health")
def health() -> Response:
    return jsonify(status="ok")
