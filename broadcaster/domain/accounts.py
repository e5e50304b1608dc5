"""Users, their API tokens, and logging in with a lockout after repeated wrong passwords."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from broadcaster.db import ROLES, ApiToken, Area, AuditEntry, User, UserArea, UserRole, token_hash, utcnow
from broadcaster.domain.access import audit, client_address, require, scope_of
from broadcaster.domain.errors import Refusal
from edge_agent.protocol.fields import format_time

logger = logging.getLogger(__name__)

MAX_FAILED_LOGINS = 5
"""Wrong passwords in a row before the account is locked for LOCKOUT."""
LOCKOUT = timedelta(minutes=15)
MAX_FAILED_PER_ADDRESS = 20
"""Failed logins from one address within LOCKOUT before it may not try again (any user name)."""
MIN_PASSWORD = 10
_DUMMY_HASH = generate_password_hash("not a password of anyone")


def login(session: Session, username: str, password: str) -> User:
    """The user if the password is right and the account is not locked; Refusal otherwise (the same
    message for an unknown user and a wrong password, so the page does not say which names exist)."""
    now = utcnow()
    _throttle(session, now)
    user = session.query(User).filter_by(username=username).one_or_none()
    if user is None:
        check_password_hash(_DUMMY_HASH, password)  # as slow as a real check: no timing hint either
        audit(session, None, "login.failed", username[:80], "unknown user")
        logger.warning("failed login for unknown user %r from %s", username[:80], client_address.get())
        raise Refusal("bad_login", "wrong user name or password", status=401)
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, round((user.locked_until - now).total_seconds() / 60))
        audit(session, user, "login.locked", user.username)
        raise Refusal("locked", f"too many wrong passwords: try again in {minutes} minute(s) or ask an admin",
                      status=429)
    if not check_password_hash(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until, user.failed_logins = now + LOCKOUT, 0
            audit(session, user, "login.lockout", user.username, f"locked for {LOCKOUT}")
        else:
            audit(session, user, "login.failed", user.username)
        logger.warning("failed login for %r from %s (%d in a row)", user.username, client_address.get(),
                       user.failed_logins or MAX_FAILED_LOGINS)
        raise Refusal("bad_login", "wrong user name or password", status=401)
    user.failed_logins, user.locked_until = 0, None
    if user.role_names == {"integration"}:  # another system: it reads with a token, never through the pages
        audit(session, user, "login.failed", user.username, "integration account")
        raise Refusal("integration_account", "an integration account reads the API with a token; it has no pages",
                      status=403)
    audit(session, user, "login", user.username)
    logger.info("login: %s from %s", user.username, client_address.get())
    return user


def _throttle(session: Session, now: datetime) -> None:
    """Refuse logins from an address with MAX_FAILED_PER_ADDRESS failures in the last LOCKOUT, whatever the
    user name: the per-account lockout alone lets one password be tried against every account. Counted from
    the audit log, so every web process sees the same count."""
    address = client_address.get()
    if address is None:
        return
    failures = session.query(func.count(AuditEntry.id)).filter(
        AuditEntry.action.in_(("login.failed", "login.lockout")), AuditEntry.address == address,
        AuditEntry.at >= now - LOCKOUT).scalar() or 0
    if failures >= MAX_FAILED_PER_ADDRESS:
        logger.warning("login refused: %d failed logins from %s in %s", failures, address, LOCKOUT)
        raise Refusal("throttled", f"too many failed logins from {address}: try again in "
                                   f"{int(LOCKOUT.total_seconds() // 60)} minutes", status=429)


def create_token(session: Session, user: User, name: Any) -> tuple[ApiToken, str]:
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise Refusal("missing_field", "'name' (up to 100 characters) says what the token is for", field="name")
    token = secrets.token_urlsafe(32)
    record = ApiToken(user_id=user.id, name=name.strip(), token_hash=token_hash(token))
    session.add(record)
    session.flush()
    audit(session, user, "token.create", f"token {record.id}", record.name)
    return record, token


def delete_token(session: Session, user: User, token_id: int) -> None:
    """Revoke one's own token, or, as an admin, one of a user one manages."""
    record = session.get(ApiToken, token_id)
    owner = session.get(User, record.user_id) if record is not None else None
    mine = owner is not None and owner.id == user.id
    managed = owner is not None and user.is_admin and manages(session, user, owner)
    if record is None or not (mine or managed):
        raise Refusal("not_found", f"token {token_id} does not exist", status=404)
    audit(session, user, "token.delete", f"token {record.id}", record.name)
    session.delete(record)


def token_json(record: ApiToken) -> dict[str, Any]:
    return {"id": record.id, "name": record.name, "created_at": format_time(record.created_at),
            "last_used_at": format_time(record.last_used_at)}


def user_json(session: Session, user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "roles": sorted(user.role_names),
            "areas": sorted(a.area_id for a in user.areas),
            "locked": user.locked_until is not None and user.locked_until > utcnow(),
            "created_at": format_time(user.created_at)}


def manages(session: Session, admin: User, user: User) -> bool:
    """An admin manages the users who work only inside the admin's areas (an admin without areas: everyone).
    So the admin of one commune can neither see nor change, nor take over, an officer of another."""
    scope = scope_of(session, admin)
    if scope.everywhere or user.id == admin.id:
        return True
    return bool(user.areas) and all(scope.has_area(a.area_id) for a in user.areas)


def list_users(session: Session, admin: User) -> list[User]:
    require(admin, "admin")
    return [u for u in session.query(User).order_by(User.username) if manages(session, admin, u)]


def _roles(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(r in ROLES for r in value):
        raise Refusal("invalid_roles", f"'roles' must be a non-empty list of {', '.join(ROLES)}", field="roles")
    return sorted(set(value))


def _areas(session: Session, admin: User, value: Any) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(a, int) and not isinstance(a, bool) for a in value):
        raise Refusal("invalid_areas", "'areas' must be a list of area ids", field="areas")
    scope = scope_of(session, admin)
    for area_id in value:
        if session.get(Area, area_id) is None:
            raise Refusal("unknown_area", f"area {area_id} does not exist", field="areas")
        if not scope.has_area(area_id):
            raise Refusal("out_of_scope", f"area {area_id} is outside your areas", status=403, field="areas")
    return sorted(set(value))


def _password(value: Any) -> str:
    if not isinstance(value, str) or len(value) < MIN_PASSWORD or len(value) > 200:
        raise Refusal("weak_password", f"'password' must be {MIN_PASSWORD} to 200 characters", field="password")
    return value


def create_user(session: Session, admin: User, data: dict[str, Any]) -> User:
    require(admin, "admin")
    username = data.get("username")
    if not isinstance(username, str) or not 2 <= len(username.strip()) <= 80:
        raise Refusal("missing_field", "'username' must be 2 to 80 characters", field="username")
    username = username.strip()
    if session.query(User).filter_by(username=username).one_or_none() is not None:
        raise Refusal("duplicate_user", f"user {username!r} already exists", status=409, field="username")
    roles, password = _roles(data.get("roles")), _password(data.get("password"))
    areas = _areas(session, admin, data.get("areas", []))
    if not areas and "admin" not in roles:
        raise Refusal("invalid_areas", "every user but an admin works in at least one area", field="areas")
    user = User(username=username, password_hash=generate_password_hash(password), failed_logins=0)
    session.add(user)
    session.flush()
    user.roles = [UserRole(user_id=user.id, role=r) for r in roles]
    user.areas = [UserArea(user_id=user.id, area_id=a) for a in areas]
    session.flush()
    audit(session, admin, "user.create", username, f"roles {', '.join(roles)}; areas {areas}")
    return user


def update_user(session: Session, admin: User, user_id: int, data: dict[str, Any]) -> User:
    require(admin, "admin")
    user = session.get(User, user_id)
    if user is None or not manages(session, admin, user):
        raise Refusal("not_found", f"user {user_id} does not exist", status=404)
    changes = []
    if "roles" in data:
        roles = _roles(data["roles"])
        if user.id == admin.id and "admin" not in roles:
            raise Refusal("own_admin", "you cannot take your own admin role away", status=409, field="roles")
        user.roles = [UserRole(user_id=user.id, role=r) for r in roles]
        changes.append(f"roles {', '.join(roles)}")
    if "areas" in data:
        areas = _areas(session, admin, data["areas"])
        user.areas = [UserArea(user_id=user.id, area_id=a) for a in areas]
        changes.append(f"areas {areas}")
    if "password" in data:
        user.password_hash = generate_password_hash(_password(data["password"]))
        changes.append("password")
    if data.get("unlock") is True:
        user.locked_until, user.failed_logins = None, 0
        changes.append("unlocked")
    if not changes:
        raise Refusal("missing_field", "send 'roles', 'areas', 'password' or 'unlock'")
    session.flush()
    audit(session, admin, "user.update", user.username, "; ".join(changes))
    return user
