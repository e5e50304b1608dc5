"""What a writer asks for with a bulletin (priority, time, targets, repeat), kept with it for the leader, and
the broadcast it becomes when the leader approves (as asked, or as the leader changes it).

A writer who is not an admin cannot schedule what nobody approved; before, the write form's priority, time
and clusters were thrown away on submit. Now they are checked when written (a time in the past, a cluster
outside the writer's areas, a broken weekly rule are refused there, with the text kept) and stored as JSON in
``bulletins.request``.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from broadcaster.db import Broadcast, Bulletin, User, utcnow
from broadcaster.domain.access import scope_of
from broadcaster.domain.broadcasts import create_broadcast, parse_play_at, parse_repeat
from broadcaster.domain.bulletins import approve_bulletin, create_bulletin
from broadcaster.domain.errors import Refusal
from broadcaster.domain.fleet import resolve_targets

REQUEST_FIELDS = frozenset({"priority", "play_at", "targets", "repeat"})
REQUESTABLE = ("normal", "priority")
"""An emergency is not asked for: whoever may send one sends it from the emergency page at once."""


def check_request(session: Session, user: User, value: Any, timezone: str,
                  now: datetime | None = None) -> dict[str, Any] | None:
    """The request as it is stored, every field checked as a broadcast's would be; None when nothing is asked
    (send now, to all of the approver's clusters)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Refusal("invalid_request", "'request' must be an object with priority, play_at, targets, repeat",
                      field="request")
    unknown = sorted(set(value) - REQUEST_FIELDS)
    if unknown:
        raise Refusal("invalid_request", f"'request' has unknown fields: {', '.join(unknown)}", field="request")
    now = now or utcnow()
    priority = value.get("priority", "normal")
    if priority not in REQUESTABLE:
        raise Refusal("invalid_priority", f"'request.priority' must be one of {', '.join(REQUESTABLE)}",
                      field="priority")
    play_at = parse_play_at(value.get("play_at"), now)
    targets = value.get("targets") or ["all"]
    resolve_targets(session, targets, scope_of(session, user))
    repeat = parse_repeat(value.get("repeat"), now, timezone)
    if repeat is not None and play_at is not None:
        raise Refusal("invalid_repeat", "a recurring broadcast has 'repeat' and no 'play_at'", field="play_at")
    return {"priority": priority, "play_at": play_at.isoformat() if play_at else None, "targets": targets,
            "repeat": repeat.to_dict() if repeat else None}


def requested(bulletin: Bulletin) -> dict[str, Any] | None:
    """What its writer asked for (None: nothing)."""
    if not bulletin.request:
        return None
    value = json.loads(bulletin.request)
    return value if isinstance(value, dict) else None


def write_bulletin(session: Session, user: User, data: dict[str, Any], voices: Collection[str], timezone: str,
                   max_spoken_s: float | None = None) -> Bulletin:
    """``create_bulletin`` with the writer's ``request`` checked and kept."""
    asked = check_request(session, user, data.get("request"), timezone)
    bulletin = create_bulletin(session, user, data, voices, max_spoken_s)
    bulletin.request = json.dumps(asked, ensure_ascii=False) if asked else None
    return bulletin


def approve_and_schedule(session: Session, user: User, bulletin_id: int, comment: Any,
                         schedule: dict[str, Any] | None, grace_s: int,
                         timezone: str) -> tuple[Bulletin, Broadcast | None]:
    """Approve, then broadcast it as ``schedule`` says, or else as its writer asked; nothing is broadcast when
    neither says anything. A schedule that cannot be kept (its time has passed meanwhile, a cluster is outside
    the air-time rules) refuses the whole step, so the leader changes it and approves again."""
    bulletin = approve_bulletin(session, user, bulletin_id, comment)
    plan = schedule if schedule is not None else requested(bulletin)
    if plan is None:
        return bulletin, None
    fields = {k: v for k, v in plan.items() if k in REQUEST_FIELDS | {"relay"} and v is not None}
    broadcast = create_broadcast(session, user, {**fields, "bulletin_id": bulletin.id}, grace_s, timezone)
    return bulletin, broadcast
