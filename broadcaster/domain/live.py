"""Speaking live to the loudspeakers: who may (approvers and operators), to whom, at what priority (normal and
priority inside the air-time rules, emergency over them and over whatever plays), the one-time ticket that
lets the speaker's microphone in, and the end of a session: the recording kept as a bulletin that an approver
can let air again."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from broadcaster.db import Broadcast, Bulletin, Delivery, LiveSession, Recording, User, utcnow
from broadcaster.domain.access import audit, home_area, require
from broadcaster.domain.areas import areas_covering, groups_of
from broadcaster.domain.broadcasts import _refuse_breaches, _save_broadcast, plan_broadcast, visible_broadcast
from broadcaster.domain.bulletins import MAX_TITLE
from broadcaster.domain.errors import Refusal
from broadcaster.domain.lifecycle import NO_REPORT
from edge_agent.protocol.live import MAX_LIVE_S, session_id

TICKET_TTL = timedelta(minutes=2)
"""How long a started session waits for its microphone."""
DEFAULT_MINUTES = 15
OPTIONS = ("echo_cancellation", "noise_suppression", "auto_gain")
"""The microphone's processing a speaker may turn on (all off by default: they spoil a line-in and a good
microphone)."""


def ticket_hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


@dataclass
class Started:
    broadcast: Broadcast
    live: LiveSession
    ticket: str
    """Shown once: the microphone connects with it, once, within TICKET_TTL."""


def start_live(session: Session, user: User, data: dict[str, Any], grace_s: int, timezone: str) -> Started:
    """``{"targets": [...], "priority": "normal"|"priority"|"emergency", "title", "max_minutes", "options"}``:
    a live broadcast waiting for its microphone."""
    require(user, "live")
    minutes = data.get("max_minutes", DEFAULT_MINUTES)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_LIVE_S // 60:
        raise Refusal("invalid_length", f"'max_minutes' must be 1 to {MAX_LIVE_S // 60}", field="max_minutes")
    title = data.get("title") or "Phát trực tiếp"
    if not isinstance(title, str) or not title.strip() or "\x00" in title:
        raise Refusal("invalid_type", "'title' must be text (or left out)", field="title")
    options = data.get("options") or {}
    if not isinstance(options, dict) or set(options) - set(OPTIONS) or not all(
            isinstance(v, bool) for v in options.values()):
        raise Refusal("invalid_options", f"'options' may set {', '.join(OPTIONS)} to true or false",
                      field="options")
    now = utcnow()
    bulletin = Bulletin(title=title.strip()[:MAX_TITLE], text="", state="approved", created_by=user.id,
                        created_at=now, submitted_at=now, approved_by=user.id, approved_at=now,
                        area_id=home_area(user))
    session.add(bulletin)
    session.flush()
    request = {"bulletin_id": bulletin.id, "targets": data.get("targets", ["all"]),
               "priority": data.get("priority", "normal"), "play_at": None}
    plan = plan_broadcast(session, user, request, timezone, length_s=minutes * 60, overlaps=False,
                          permission="live")
    _refuse_breaches(plan)
    busy = (session.query(Broadcast.id).join(Delivery).join(LiveSession)
            .filter(Broadcast.state == "live", Delivery.device_id.in_(plan.devices)).first())
    if busy is not None:
        raise Refusal("already_live", f"live broadcast {busy[0]} is on air on some of these clusters; stop it first",
                      status=409)
    broadcast = _save_broadcast(session, user, plan, grace_s)
    broadcast.state = "live"
    ticket = secrets.token_urlsafe(24)
    live = LiveSession(broadcast_id=broadcast.id, session=session_id(broadcast.id, secrets.token_bytes(16)),
                       speaker_id=user.id, ticket_hash=ticket_hash(ticket), state="ready", max_s=minutes * 60,
                       groups=json.dumps(live_groups(session, plan.devices)), options=json.dumps(options),
                       created_at=now)
    session.add(live)
    session.flush()
    audit(session, user, "live.start", f"broadcast {broadcast.id}",
          f"{plan.priority}, up to {minutes} min, to {len(plan.devices)} cluster(s): "
          f"{', '.join(map(str, request['targets'])) if isinstance(request['targets'], list) else ''}"[:2000])
    return Started(broadcast, live, ticket)


def live_groups(session: Session, devices: list[str]) -> dict[str, list[str] | None]:
    """Where a session goes: the largest areas all of whose clusters it is for (every device of the group:
    ``None``), and for the other clusters their village's group with their ids."""
    groups: dict[str, list[str] | None] = dict.fromkeys(areas_covering(session, devices))
    covered = set().union(*areas_covering(session, devices).values()) if groups else set()
    rest = [d for d in devices if d not in covered]
    for device_id, chain in groups_of(session, rest).items():
        if chain:  # a cluster in no village hears no group (it is reported missed)
            listed = groups.setdefault(chain[0], [])
            assert listed is not None
            listed.append(device_id)
    return groups


def claim(session: Session, ticket: str) -> LiveSession | str:
    """The session a microphone's ticket opens, now live; or why it opens none (unknown, used, too old: a
    session whose ticket came too late is ended, and that is kept)."""
    live = session.query(LiveSession).filter_by(ticket_hash=ticket_hash(ticket)).one_or_none()
    now = utcnow()
    if live is None or live.state != "ready":
        return "this ticket opens no live session (unknown or already used)"
    live.ticket_hash = None
    if now - live.created_at > TICKET_TTL:
        _end(session, live, now, "the microphone did not connect in time")
        return "this ticket is too old; start the session again"
    live.state, live.started_at = "live", now
    return live


def stop_live(session: Session, user: User, broadcast_id: int) -> LiveSession:
    """The speaker, or anyone who may speak live or stop broadcasts there, ends the session."""
    broadcast = visible_broadcast(session, user, broadcast_id)
    live = broadcast.live
    if live is None:
        raise Refusal("not_live", f"broadcast {broadcast_id} is not a live broadcast", status=409)
    if live.speaker_id != user.id:
        require(user, "stop")
    if live.state == "ready":
        _end(session, live, utcnow(), f"stopped by {user.username} before the microphone connected")
    elif live.state == "live":
        live.state = "stopping"  # the worker ends it on every loudspeaker
    audit(session, user, "live.stop", f"broadcast {broadcast_id}")
    return live


def ended(session: Session, live: LiveSession, frames: int, error: str | None = None) -> None:
    """The worker ended the session (the speaker stopped, an operator, the microphone went away, its limit)."""
    live.frames = frames
    _end(session, live, utcnow(), error)


def _end(session: Session, live: LiveSession, now: datetime, error: str | None) -> None:
    live.state, live.ended_at, live.error = ("failed" if live.started_at is None else "ended"), now, error
    broadcast = session.get(Broadcast, live.broadcast_id)
    assert broadcast is not None
    broadcast.state, broadcast.sent_at = ("failed", None) if live.started_at is None else ("sent", live.started_at)
    broadcast.error = error
    if live.started_at is None:
        for delivery in broadcast.deliveries:
            delivery.state, delivery.error, delivery.updated_at = "cancelled", error, now
    else:
        # A cluster that has not said it played: missed unless its own report (on its way) says otherwise.
        grace = timedelta(seconds=broadcast.grace_s)
        for delivery in broadcast.deliveries:
            if delivery.state in ("pending", "delivered") and now - live.started_at > grace:
                delivery.state, delivery.error, delivery.updated_at = "missed", NO_REPORT, now


def keep_recording(session: Session, live: LiveSession, source_sha256: str, duration_s: float) -> Recording:
    """The session's recording (as the microphone sent it) becomes its bulletin's: an approver may let it air
    again. The caller renders it as it would air and names that asset on ``live``."""
    broadcast = session.get(Broadcast, live.broadcast_id)
    assert broadcast is not None
    bulletin = broadcast.bulletin
    recording = Recording(bulletin_id=bulletin.id, language="vi", source_sha256=source_sha256,
                          filename=f"{live.session}.ogg", duration_s=round(duration_s, 2))
    session.add(recording)
    bulletin.state, bulletin.approved_by, bulletin.approved_at = "submitted", None, None
    bulletin.review_comment = RECORDED
    session.flush()
    return recording


RECORDED = "Bản ghi buổi phát trực tiếp: cần duyệt trước khi phát lại."
