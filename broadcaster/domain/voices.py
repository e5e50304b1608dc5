"""Which voice reads a bulletin, and how fast: the bulletin's own choice, else its commune's (or the nearest area
above it that chose one), else the server's default."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy.orm import Session

from broadcaster.db import Area, Bulletin, User
from broadcaster.domain.access import audit, require, scope_of
from broadcaster.domain.areas import ancestry, parents
from broadcaster.domain.errors import Refusal

SLOWEST, FASTEST = 0.7, 1.5
"""Reading speeds a bulletin may ask for, times the voice's own."""


def voice_field(data: dict[str, Any], known: Collection[str]) -> str | None:
    """``data["voice"]``: a voice of this server, or None (absent, null or empty: the commune's default)."""
    voice = data.get("voice")
    if voice is None or voice == "":
        return None
    if not isinstance(voice, str) or voice not in known:
        raise Refusal("unknown_voice", f"'voice' must be one of {', '.join(sorted(known))} (or left out)",
                      field="voice")
    return voice


def speed_field(data: dict[str, Any]) -> float | None:
    """``data["speed"]``: how fast to read, 0.7 to 1.5 times the voice's own; None (absent or null): 1."""
    speed = data.get("speed")
    if speed is None:
        return None
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not SLOWEST <= speed <= FASTEST:
        raise Refusal("invalid_speed", f"'speed' must be a number from {SLOWEST} to {FASTEST} (1 is the voice's own)",
                      field="speed")
    return None if speed == 1 else round(float(speed), 2)


def reading_of(session: Session, bulletin: Bulletin) -> tuple[str | None, float]:
    """The voice (None: the server's default) and the speed that ``bulletin`` is read with."""
    return bulletin.voice or area_voice(session, bulletin.area_id), bulletin.speed or 1.0


def area_voice(session: Session, area_id: int | None) -> str | None:
    """The voice chosen for ``area_id`` or the nearest area above it; None: the server's default."""
    chain = ancestry(area_id, parents(session))
    chosen = dict(session.query(Area.id, Area.voice).filter(Area.id.in_(chain), Area.voice.is_not(None)).all())
    return next((chosen[a] for a in chain if a in chosen), None)


def set_area_voice(session: Session, user: User, area_id: int, data: dict[str, Any], known: Collection[str]) -> Area:
    """An admin sets the voice an area's bulletins are read with (null: the default of the area above)."""
    require(user, "admin")
    area = session.get(Area, area_id)
    if area is None or not scope_of(session, user).has_area(area_id):
        raise Refusal("not_found", f"area {area_id} does not exist", status=404)
    area.voice = voice_field(data, known)
    audit(session, user, "area.voice", f"area {area_id}", area.voice or "default")
    return area
