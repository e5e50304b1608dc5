"""Accounts in the API: who you are, your tokens, users and their roles."""

from __future__ import annotations

from flask import Response, g, jsonify

from broadcaster.db import ApiToken
from broadcaster.domain import accounts
from broadcaster.web.api.base import authenticated, body, bp
from broadcaster.web.common import db


@bp.get("/me")
@authenticated
def me() -> Response:
    return jsonify(accounts.user_json(db(), g.user))


@bp.get("/tokens")
@authenticated
def list_tokens() -> Response:
    """Your API tokens (never the tokens themselves: only their names and when they were used)."""
    rows = db().query(ApiToken).filter_by(user_id=g.user.id).order_by(ApiToken.id)
    return jsonify([accounts.token_json(t) for t in rows])


@bp.post("/tokens")
@authenticated
def create_token() -> tuple[Response, int]:
    """``{"name": "..."}``: a new token, shown once in the answer."""
    record, token = accounts.create_token(db(), g.user, body().get("name"))
    return jsonify({**accounts.token_json(record), "token": token}), 201


@bp.delete("/tokens/<int:token_id>")
@authenticated
def delete_token(token_id: int) -> Response:
    accounts.delete_token(db(), g.user, token_id)
    return Response(status=204)


@bp.get("/users")
@authenticated
def list_users() -> Response:
    return jsonify([accounts.user_json(db(), u) for u in accounts.list_users(db(), g.user)])


@bp.post("/users")
@authenticated
def create_user() -> tuple[Response, int]:
    """``{"username", "password", "roles": [...], "areas": [area ids]}`` (admins)."""
    return jsonify(accounts.user_json(db(), accounts.create_user(db(), g.user, body()))), 201


@bp.patch("/users/<int:user_id>")
@authenticated
def update_user(user_id: int) -> Response:
    """Change ``roles``, ``areas`` or ``password``; ``"unlock": true`` lifts a lockout (admins)."""
    return jsonify(accounts.user_json(db(), accounts.update_user(db(), g.user, user_id, body())))
