"""Broadcasts and programmes: when and to whom a bulletin airs, inside the air-time rules, and stopping one."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, joinedload, selectinload

from broadcaster.db import (
    Broadcast,
    Bulletin,
    Delivery,
    Device,
    IdFloor,
    Programme,
    Recurrence,
    Relay,
    User,
    utcnow,
)
from broadcaster.delivery import wake
from broadcaster.domain import airtime
from broadcaster.domain.access import audit, require, scope_of
from broadcaster.domain.bulletins import MAX_TITLE, visible_bulletin
from broadcaster.domain.errors import Refusal, text_field
from broadcaster.domain.fleet import resolve_targets
from edge_agent.protocol import PRIORITIES, ProtocolError, Repeat
from edge_agent.protocol.fields import DEFAULT_TZ

PAST_TOLERANCE = timedelta(seconds=60)


"""Occurrences of a recurring broadcast listed with it (newest first); reports cover the rest."""


def parse_play_at(value: Any, now: datetime) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refusal("invalid_time", "'play_at' must be an ISO 8601 time with an offset, or null", field="play_at")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Refusal("invalid_time", f"'play_at' is not an ISO 8601 time: {value[:40]!r}", field="play_at") from None
    if when.tzinfo is None:
        raise Refusal("invalid_time", "'play_at' needs a UTC offset, e.g. 2025-06-01T06:00:00+07:00",
                      field="play_at")
    when = when.astimezone(UTC)
    if when < now - PAST_TOLERANCE:
        raise Refusal("play_at_in_past", "'play_at' is in the past", field="play_at")
    return when


@dataclass
class BroadcastPlan:
    """A broadcast request, checked field by field, before it is saved."""

    bulletin: Bulletin
    priority: str
    play_at: datetime | None
    devices: list[str]
    relay: tuple[str, int] | None
    repeat: Repeat | None
    breaches: list[dict[str, Any]]
    overlaps: list[dict[str, Any]]


def plan_broadcast(session: Session, user: User, data: dict[str, Any], timezone: str,
                   length_s: float | None = None, overlaps: bool = True, now: datetime | None = None,
                   permission: str | None = None) -> BroadcastPlan:
    """Everything ``create_broadcast`` checks, including the air-time rules and (unless not wanted) the
    overlaps, without saving. ``length_s``: check the rules for this air time instead of the bulletin's own
    (a whole programme). ``now``: the clock (a CAP alert is judged at the time it is imported).
    ``permission``: what allows it (default: emergency for an emergency, schedule otherwise; a CAP alert is
    aired by whoever may send emergencies, at the priority the mapping table gives it)."""
    priority = data.get("priority", "normal")
    if priority not in PRIORITIES:
        raise Refusal("invalid_priority", f"'priority' must be one of {', '.join(PRIORITIES)}", field="priority")
    require(user, permission or ("emergency" if priority == "emergency" else "schedule"))
    bulletin_id = data.get("bulletin_id")
    if not isinstance(bulletin_id, int) or isinstance(bulletin_id, bool):
        raise Refusal("missing_field", "'bulletin_id' must be a bulletin id (integer)", field="bulletin_id")
    try:
        bulletin = visible_bulletin(session, user, bulletin_id)
    except Refusal:
        raise Refusal("not_found", f"bulletin {bulletin_id} does not exist", field="bulletin_id") from None
    if bulletin.state != "approved":
        raise Refusal("not_approved", "only approved bulletins can be broadcast", status=409, field="bulletin_id")
    now = now or utcnow()
    play_at = parse_play_at(data.get("play_at"), now)
    devices = resolve_targets(session, data.get("targets"), scope_of(session, user))
    relay = parse_relay(data.get("relay"))
    repeat = parse_repeat(data.get("repeat"), now, timezone)
    if repeat is not None and play_at is not None:
        raise Refusal("invalid_repeat", "a recurring broadcast has 'repeat' and no 'play_at'", field="play_at")
    length = length_s if length_s is not None else (relay[1] if relay else airtime.estimate_s(bulletin))
    # An emergency breaches no rule: unless its overlaps are wanted, the rules have nothing to read.
    wanted = overlaps or priority != "emergency"
    rows = session.query(Device).filter(Device.id.in_(devices)).order_by(Device.id).all() if wanted else []
    breaches, overlapping = airtime.check(session, rows, priority, play_at, repeat, length, now, ZoneInfo(timezone),
                                          overlaps)
    return BroadcastPlan(bulletin, priority, play_at, devices, relay, repeat, breaches, overlapping)


def create_broadcast(session: Session, user: User, data: dict[str, Any], grace_s: int,
                     timezone: str = DEFAULT_TZ, now: datetime | None = None,
                     permission: str | None = None) -> Broadcast:
    """Schedule an approved bulletin; refused, with every breach listed, outside the air-time rules (an
    emergency overrides them)."""
    plan = plan_broadcast(session, user, data, timezone, overlaps=False, now=now,  # (shown before, by the plan)
                          permission=permission)
    _refuse_breaches(plan)
    return _save_broadcast(session, user, plan, grace_s, now=now)


def _refuse_breaches(plan: BroadcastPlan) -> None:
    if plan.breaches:
        raise Refusal("outside_airtime", "; ".join(airtime.describe(b) for b in plan.breaches[:10]),
                      field="play_at", details=plan.breaches)


def _floor_id(session: Session) -> int | None:
    """The id the first broadcast after a restore takes (``broadcaster restore`` leaves a floor on SQLite, past
    every id issued since the backup: receivers ignore a broadcast id they already know); None otherwise."""
    floor = session.get(IdFloor, "broadcasts")
    if floor is None:
        return None
    session.delete(floor)
    top = session.scalar(select(func.max(Broadcast.id))) or 0
    return int(floor.next_id) if floor.next_id > top else None


def _save_broadcast(session: Session, user: User, plan: BroadcastPlan, grace_s: int,
                    programme: Programme | None = None, now: datetime | None = None) -> Broadcast:
    bulletin, priority, play_at, devices, relay, repeat = (plan.bulletin, plan.priority, plan.play_at, plan.devices,
                                                           plan.relay, plan.repeat)
    now = now or utcnow()
    broadcast = Broadcast(bulletin_id=bulletin.id, priority=priority, play_at=play_at, grace_s=grace_s,
                          state="queued", created_by=user.id, created_at=now,
                          programme_id=programme.id if programme else None)
    if (floor := _floor_id(session)) is not None:
        broadcast.id = floor
    session.add(broadcast)
    session.flush()
    if relay is not None:
        session.add(Relay(broadcast_id=broadcast.id, url=relay[0], window_s=relay[1]))
    if repeat is not None:
        session.add(Recurrence(broadcast_id=broadcast.id, rule=json.dumps(repeat.to_dict())))
    # One statement for every device (a province's emergency is thousands), not an object each.
    session.execute(insert(Delivery), [{"broadcast_id": broadcast.id, "device_id": device_id, "state": "pending",
                                        "updated_at": now} for device_id in devices])
    session.flush()
    audit(session, user, "broadcast.create", f"broadcast {broadcast.id}",
          f"{priority} '{bulletin.title}' to {len(devices)} device(s)")
    wake.ask(session)  # the leader dispatches it as soon as this commits, not at its next polling tick
    return broadcast


MAX_PROGRAMME_ITEMS = 20


def create_programme(session: Session, user: User, data: dict[str, Any], grace_s: int,
                     timezone: str = DEFAULT_TZ) -> tuple[Programme, list[Broadcast]]:
    """A session of items played back to back: ``{"title", "items": [{"bulletin_id"}, {"bulletin_id",
    "relay": {...}}, ...], "targets", "priority", "play_at" or "repeat"}``. The air-time rules see it as one
    broadcast as long as all its items together; each item may start as late as the items before it last."""
    require(user, "schedule")  # before reading the request: who may not gets 403, whatever they sent
    title = text_field(data, "title", MAX_TITLE)
    items = data.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_PROGRAMME_ITEMS or not all(
            isinstance(i, dict) for i in items):
        raise Refusal("invalid_items", f"'items' must be a list of 1 to {MAX_PROGRAMME_ITEMS} objects with "
                                       "'bulletin_id' (and optionally 'relay')", field="items")
    common: dict[str, Any] = {name: data[name] for name in ("targets", "priority", "play_at", "repeat")
                              if name in data}
    plans = [plan_broadcast(session, user, {**common, "bulletin_id": item.get("bulletin_id"),
                                            "relay": item.get("relay")}, timezone) for item in items]
    lengths = [p.relay[1] if p.relay else airtime.estimate_s(p.bulletin) for p in plans]
    whole = plan_broadcast(session, user, {**common, "bulletin_id": items[0].get("bulletin_id")}, timezone,
                           length_s=sum(lengths))
    _refuse_breaches(whole)
    programme = Programme(title=title, created_by=user.id)
    session.add(programme)
    session.flush()
    broadcasts, before = [], 0.0
    for plan, length in zip(plans, lengths, strict=True):
        broadcasts.append(_save_broadcast(session, user, plan, grace_s + int(before) + 1, programme))
        before += length
    audit(session, user, "programme.create", f"programme {programme.id}",
          f"{title}: broadcasts {[b.id for b in broadcasts]}")
    return programme, broadcasts


def visible_broadcast(session: Session, user: User, broadcast_id: int) -> Broadcast:
    """The broadcast if any of its devices is in the user's scope; 404 otherwise."""
    require(user, "view")
    broadcast = session.get(Broadcast, broadcast_id)
    scope = scope_of(session, user)
    if broadcast is None or not (scope.everywhere or any(
            scope.has_area(d.device.village_id) for d in broadcast.deliveries)):
        raise Refusal("not_found", f"broadcast {broadcast_id} does not exist", status=404)
    return broadcast


def list_broadcasts(session: Session, user: User, limit: int = 100, before: int | None = None) -> list[Broadcast]:
    """The newest ``limit`` broadcasts in the user's areas, older than broadcast ``before`` when given."""
    require(user, "view")
    scope = scope_of(session, user)
    query = (session.query(Broadcast)
             .options(joinedload(Broadcast.bulletin), selectinload(Broadcast.relay), selectinload(Broadcast.recurrence))
             .order_by(Broadcast.id.desc()))
    if before is not None:
        query = query.filter(Broadcast.id < before)
    if not scope.everywhere:
        in_scope = (session.query(Delivery.broadcast_id).join(Device, Device.id == Delivery.device_id)
                    .filter(Device.village_id.in_(scope.areas)))
        query = query.filter(Broadcast.id.in_(in_scope))
    return query.limit(limit).all()


def progress(session: Session, broadcasts: list[Broadcast]) -> dict[int, str]:
    """Each broadcast's ``progress()`` with its deliveries' states read in one query, not one query (of every
    delivery) per broadcast: a province's front page lists broadcasts to thousands of clusters."""
    states: dict[int, set[str]] = {b.id: set() for b in broadcasts}
    for broadcast_id, state in (session.query(Delivery.broadcast_id, Delivery.state)
                                .filter(Delivery.broadcast_id.in_(list(states))).distinct()):
        states[broadcast_id].add(state)
    return {b.id: b.progress(states=states[b.id]) for b in broadcasts}


def parse_repeat(value: Any, now: datetime, timezone: str = DEFAULT_TZ) -> Repeat | None:
    """``{"weekdays": [1, 3, 5], "times": ["06:30", "17:00"], "start": "2026-12-01", "until": "2026-12-31",
    "skip": ["2026-12-24"], "tz": "Asia/Ho_Chi_Minh"}``: every Monday, Wednesday and Friday at 06:30 and
    17:00 local time. ``start`` defaults to today, ``tz`` to Asia/Ho_Chi_Minh; ``until`` and ``skip`` are
    optional."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Refusal("invalid_repeat", "'repeat' must be an object with 'weekdays' and 'times'", field="repeat")
    data = dict(value)
    data.setdefault("tz", timezone)
    zone = str(data["tz"]) if isinstance(data.get("tz"), str) else DEFAULT_TZ
    with contextlib.suppress(ZoneInfoNotFoundError, ValueError):  # Repeat.from_dict names an unknown zone
        data.setdefault("start", now.astimezone(ZoneInfo(zone)).date().isoformat())
    try:
        repeat = Repeat.from_dict(data)
    except ProtocolError as exc:  # "times: ...": the field goes with it, so a page can say which part is wrong
        raise Refusal("invalid_repeat", f"'repeat.{exc}", field=f"repeat.{str(exc).split(':')[0]}") from None
    if repeat.ends_before(now):
        raise Refusal("invalid_repeat", "'repeat.until' is in the past: it would never play", field="repeat.until")
    if not repeat.occurrences(now, now + timedelta(days=366)):
        raise Refusal("invalid_repeat", "'repeat' gives no time to play in the coming year", field="repeat")
    return repeat


def parse_relay(value: Any) -> tuple[str, int] | None:
    """``{"url": "https://...", "window_s": 600}``: a live stream to relay; the bulletin is its fallback."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Refusal("invalid_relay", "'relay' must be an object with 'url' and 'window_s'", field="relay")
    url, window = value.get("url"), value.get("window_s")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 500 \
            or any(ch.isspace() for ch in url):
        raise Refusal("invalid_relay", "'relay.url' must be an http:// or https:// address (Icecast, HLS...)",
                      field="relay")
    if not isinstance(window, int) or isinstance(window, bool) or not 10 <= window <= 86400:
        raise Refusal("invalid_relay", "'relay.window_s' must be 10 s to one day", field="relay")
    return url, window


def stop_broadcast(session: Session, user: User, broadcast_id: int) -> Broadcast:
    """Stop a broadcast everywhere: cut off where it plays, never started where it waits.

    Not yet sent: it is cancelled here. Sent: the worker lists it as cancelled in each device's signed
    schedule (retained, so a receiver that is offline now learns it when it reconnects).
    """
    require(user, "stop")
    broadcast = visible_broadcast(session, user, broadcast_id)
    if not scope_of(session, user).has_devices(d.device for d in broadcast.deliveries):
        raise Refusal("out_of_scope", f"broadcast {broadcast_id} also plays outside your areas; ask someone who "
                                      "covers all of them", status=403)
    if broadcast.state in ("stopping", "stopped"):
        return broadcast
    if broadcast.state == "queued":
        broadcast.state = "stopped"
        for delivery in broadcast.deliveries:
            delivery.state, delivery.error, delivery.updated_at = "cancelled", "stopped before it was sent", utcnow()
    elif broadcast.state == "sent":
        broadcast.state = "stopping"
    elif broadcast.state == "live" and broadcast.live is not None:
        broadcast.live.state = "stopping"  # the worker ends it on every loudspeaker within a second
    else:
        raise Refusal("not_stoppable", f"broadcast {broadcast_id} is {broadcast.state}", status=409)
    broadcast.error = f"stopped by {user.username}"
    session.flush()
    wake.ask(session)
    audit(session, user, "broadcast.stop", f"broadcast {broadcast.id}")
    return broadcast
