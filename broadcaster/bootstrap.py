"""First-run setup: an admin with a random password and API token, a commune, its villages and devices."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from broadcaster.db import Area, Device, User, token_hash


def new_password() -> str:
    return secrets.token_urlsafe(12)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def ensure_user(session: Session, username: str, password: str, token: str, admin: bool = True) -> User:
    """Create the user, or reset its password and token to the given ones."""
    user = session.query(User).filter_by(username=username).one_or_none()
    if user is None:
        user = User(username=username, is_admin=admin, password_hash="")
        session.add(user)
    user.password_hash = generate_password_hash(password)
    user.token_hash = token_hash(token)
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
