"""Emergencies: one action that goes out at once at emergency priority, repeated as asked. CAP alerts from
warning centres (broadcaster.domain.cap) air through the same ``air``.

An emergency needs no separate approval: the leader or operator who sends it is accountable for it, and the
audit log says who. It overrides the air-time rules (a storm at 3 a.m. is announced at 3 a.m.).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy.orm import Session

from broadcaster.db import Broadcast, Bulletin, User, utcnow
from broadcaster.domain.access import audit, home_area, require
from broadcaster.domain.broadcasts import create_broadcast
from broadcaster.domain.bulletins import MAX_TEXT, MAX_TITLE
from broadcaster.domain.errors import Refusal, text_field

MAX_REPEATS = 10


@lru_cache(maxsize=1)
def templates() -> dict[str, dict[str, str]]:
    """Ready messages by name (storm, flood, fire, epidemic): ``{"label", "text"}``."""
    data = resources.files("broadcaster").joinpath("data/emergency_templates.json").read_text(encoding="utf-8")
    loaded: dict[str, dict[str, str]] = json.loads(data)
    return loaded


@dataclass
class Sent:
    bulletin: Bulletin
    broadcasts: list[Broadcast]


def send_emergency(session: Session, user: User, data: dict[str, Any], grace_s: int, timezone: str,
                   first_stored: Callable[[], None] | None = None) -> Sent:
    """``{"targets": ["all"], "text": "..."}`` or ``{"template": "storm"}``, optionally ``"title"``,
    ``"repeat_count"`` (1-10 plays in all) and ``"repeat_every_min"`` (1-120).

    ``first_stored`` (the web layer's commit) is called once the first play and its deliveries are stored and
    before the repeats are: committed, it wakes the leader, whose alert goes out while the repeats are stored.
    Every check is made before it; the repeats' own are the first play's, so only the database failing can
    leave an emergency stored without its repeats (and the officer is told: 503)."""
    require(user, "emergency")
    template = data.get("template")
    if template is not None:
        # A name, looked up: anything but text (an object, a list) is refused, not hashed into the lookup.
        if not isinstance(template, str) or template not in templates():
            raise Refusal("unknown_template", f"'template' must be one of {', '.join(templates())}",
                          field="template")
        text = _optional_text(data, "text") or templates()[template]["text"]
        title = _optional_text(data, "title") or f"Khẩn cấp: {templates()[template]['label']}"
    else:
        text = text_field(data, "text", MAX_TEXT)
        title = _optional_text(data, "title") or "Khẩn cấp"
    count, every = data.get("repeat_count", 1), data.get("repeat_every_min", 10)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_REPEATS:
        raise Refusal("invalid_repeat", f"'repeat_count' must be 1 to {MAX_REPEATS}", field="repeat_count")
    if not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= 120:
        raise Refusal("invalid_repeat", "'repeat_every_min' must be 1 to 120 minutes", field="repeat_every_min")
    bulletin = approved_bulletin(session, user, title, text, "emergency")
    return air(session, user, bulletin, data.get("targets", ["all"]), count, every, grace_s, timezone, "emergency",
               first_stored=first_stored)


def _optional_text(data: dict[str, Any], name: str) -> str | None:
    """A text field that may be left out (absent, null or empty: ``None``); anything but text is refused, never
    turned into text (an object would otherwise air as its Python spelling)."""
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Refusal("invalid_type", f"'{name}' must be text (or left out)", field=name)
    if "\x00" in value:
        raise Refusal("invalid_text", f"'{name}' contains a NUL character", field=name)
    return value.strip() or None


def approved_bulletin(session: Session, user: User, title: str, text: str, priority: str,
                      now: datetime | None = None) -> Bulletin:
    """The bulletin of an emergency (or of a CAP alert): approved by its sender, who is accountable for it."""
    now = now or utcnow()
    bulletin = Bulletin(title=title[:MAX_TITLE], text=text_field({"text": text}, "text", MAX_TEXT), state="approved",
                        created_by=user.id, created_at=now, approved_by=user.id, approved_at=now,
                        submitted_at=now, area_id=home_area(user),
                        review_comment=f"{priority}: sent without separate approval")
    session.add(bulletin)
    session.flush()
    return bulletin


def air(session: Session, user: User, bulletin: Bulletin, targets: Any, count: int, every: int, grace_s: int,
        timezone: str, priority: str, now: datetime | None = None, play_at: datetime | None = None,
        first_stored: Callable[[], None] | None = None) -> Sent:
    """``count`` plays of an approved bulletin, ``every`` minutes apart, the first at ``play_at`` (None: at once),
    by someone trusted with emergencies (a CAP alert also at the lower priority the mapping table gave it).
    ``first_stored``: called once the first play is stored, if it plays at once (see ``send_emergency``)."""
    now = now or utcnow()
    first = play_at or now
    broadcasts = []
    for n in range(count):
        when = None if n == 0 and play_at is None else (first + timedelta(minutes=every * n)).isoformat()
        broadcasts.append(create_broadcast(session, user, {"bulletin_id": bulletin.id, "targets": targets,
                                                           "priority": priority, "play_at": when},
                                           grace_s, timezone, now=now, permission="emergency"))
        if n == 0 and play_at is None and first_stored is not None:
            first_stored()  # the first play (with its own audit entry) out; the repeats and this audit after
    audit(session, user, "emergency.send" if priority == "emergency" else "alert.send", f"bulletin {bulletin.id}",
          f"{bulletin.title}; {count} play(s) every {every} min; broadcasts {[b.id for b in broadcasts]}")
    return Sent(bulletin, broadcasts)
