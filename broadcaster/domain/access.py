"""Who may do what, and where: roles grant permissions, areas bound them.

A user works in one or more areas (province > district > commune > village) and sees and acts on those areas
and everything below them; an admin without areas works everywhere. Every change is written to the audit
log with the user and the address it came from.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from broadcaster.db import ROLES, AuditEntry, Device, User
from broadcaster.domain.areas import below

PERMISSIONS: dict[str, frozenset[str]] = {
    "view": frozenset(ROLES),
    "write": frozenset({"admin", "editor", "approver"}),  # bulletins, recordings, the dictionary
    "approve": frozenset({"admin", "approver"}),  # approve or reject bulletins
    "schedule": frozenset({"admin", "editor", "approver"}),  # broadcast approved bulletins
    "stop": frozenset({"admin", "approver", "operator"}),
    "emergency": frozenset({"admin", "approver", "operator"}),
    "live": frozenset({"admin", "approver", "operator"}),  # speak live to the loudspeakers
    "operate": frozenset({"admin", "operator"}),  # volume, alarms
    "admin": frozenset({"admin"}),  # users, areas, air-time rules, the audit log
}

client_address: contextvars.ContextVar[str | None] = contextvars.ContextVar("client_address", default=None)
"""The address a request came from, set by the web app for the audit log."""


class Denied(Exception):
    """The user may not do this (403), or may not do it there (403 out_of_scope)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def can(user: User, permission: str) -> bool:
    return bool(user.role_names & PERMISSIONS[permission])


def read_only(user: User) -> bool:
    """An integration account (another system's token): it may read what its areas hold, and nothing more."""
    return user.role_names == {"integration"}


def require(user: User, permission: str) -> None:
    if not can(user, permission):
        roles = ", ".join(sorted(PERMISSIONS[permission]))
        raise Denied("forbidden", f"this needs one of the roles {roles}; {user.username} has "
                                  f"{', '.join(sorted(user.role_names)) or 'none'}")


@dataclass(frozen=True)
class Scope:
    """The areas a user may see and act on; ``everywhere`` for an admin without areas."""

    areas: frozenset[int]
    everywhere: bool = False

    def has_area(self, area_id: int | None) -> bool:
        return self.everywhere or (area_id is not None and area_id in self.areas)

    def has_device(self, device: Device) -> bool:
        return self.has_area(device.village_id)

    def has_devices(self, devices: Iterable[Device]) -> bool:
        return all(self.has_device(d) for d in devices)


def scope_of(session: Session, user: User) -> Scope:
    if user.is_admin and not user.areas:
        return Scope(frozenset(), everywhere=True)
    return Scope(below(session, [a.area_id for a in user.areas]))


def home_area(user: User) -> int | None:
    """The area new content of this user belongs to: their first area (None for a global admin)."""
    return min((a.area_id for a in user.areas), default=None)


def audit(session: Session, user: User | None, action: str, target: str | None = None,
          detail: str | None = None) -> None:
    session.add(AuditEntry(user_id=user.id if user else None, username=user.username if user else "(system)",
                           action=action, target=target, detail=(detail or None) and detail[:2000],
                           address=client_address.get()))
