"""First-run setup: an admin with a random password and API token, a commune, its villages and devices."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from broadcaster.db import AirtimeRule, ApiToken, Area, Device, User, UserArea, UserRole, token_hash


def new_password() -> str:
    return secrets.token_urlsafe(12)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def ensure_user(session: Session, username: str, password: str, token: str | None = None,
                roles: tuple[str, ...] = ("admin",), areas: tuple[Area, ...] = ()) -> User:
    """Create the user, or reset its password, roles, areas and (when given) its first API token."""
    user = session.query(User).filter_by(username=username).one_or_none()
    if user is None:
        user = User(username=username, password_hash="", failed_logins=0)
        session.add(user)
        session.flush()
    user.password_hash = generate_password_hash(password)
    user.roles = [UserRole(user_id=user.id, role=role) for role in roles]
    user.areas = [UserArea(user_id=user.id, area_id=area.id) for area in areas]
    user.failed_logins, user.locked_until = 0, None
    if token is not None:
        digest = token_hash(token)
        if session.query(ApiToken).filter_by(token_hash=digest).one_or_none() is None:
            session.add(ApiToken(user_id=user.id, name="first token", token_hash=digest))
    session.flush()
    return user


def ensure_area(session: Session, name: str, kind: str, parent: Area | None = None) -> Area:
    parent_id = parent.id if parent else None
    area = session.query(Area).filter_by(name=name, kind=kind, parent_id=parent_id).one_or_none()
    if area is None:
        area = Area(name=name, kind=kind, parent_id=parent_id)
        session.add(area)
        session.flush()
    return area


def ensure_device(session: Session, device_id: str, name: str, village: Area | None) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        device = Device(id=device_id, name=name, village_id=village.id if village else None)
        session.add(device)
        session.flush()
    return device


def ensure_airtime(session: Session, area: Area, allowed_from: str, allowed_to: str) -> AirtimeRule:
    """Set an area's allowed hours (the demo and the tests use 00:00-24:00 so they work at any hour)."""
    rule = session.get(AirtimeRule, area.id) or AirtimeRule(area_id=area.id)
    rule.allowed_from, rule.allowed_to = allowed_from, allowed_to
    session.add(rule)
    session.flush()
    return rule
