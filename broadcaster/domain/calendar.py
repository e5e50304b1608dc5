"""The calendar: what will air and what aired in a window of local days, on the clusters a user may see (an
area and below, or one cluster): one-off and recurring broadcasts (each occurrence, skip dates honoured),
relays, emergencies, programmes (their items back to back) and live sessions that went on air; each item's
start, end, state, clusters and the items it overlaps on a shared cluster; each day's allowed air time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.orm import Session, selectinload

from broadcaster.db import Area, Broadcast, Delivery, Device, OccurrencePlay, Recurrence, User, utcnow
from broadcaster.domain import airtime
from broadcaster.domain.access import require, scope_of
from broadcaster.domain.areas import below
from broadcaster.domain.errors import Refusal
from edge_agent.protocol.fields import format_time

MAX_DAYS = 31
LONGEST = timedelta(days=1)
"""The longest one item lasts (a relay's window is at most a day): a one-off that started this long before the
window may still be on air in it."""
STATES = ("scheduled", "playing", "played", "failed", "missed", "cancelled", "unreported")
"""An item's state in the calendar: still to air, on air now, aired (on at least one cluster), failed, missed
(every cluster reported it missed), cancelled (stopped before it aired), past its time with no report yet."""


@dataclass
class Overlap:
    broadcast_id: int
    title: str
    start: datetime
    end: datetime
    clusters: list[str]
    """The names of the clusters both items play on."""


@dataclass
class Item:
    broadcast_id: int
    title: str
    kind: str
    """one-off, weekly, relay, emergency, live."""
    priority: str
    start: datetime
    end: datetime
    state: str
    clusters: dict[str, str]
    """The clusters in view it plays on: device id -> name."""
    programme_id: int | None = None
    overlaps: list[Overlap] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"broadcast_id": self.broadcast_id, "title": self.title, "kind": self.kind, "priority": self.priority,
                "start": format_time(self.start), "end": format_time(self.end), "state": self.state,
                "programme_id": self.programme_id,
                "clusters": [{"device_id": d, "name": n} for d, n in sorted(self.clusters.items())],
                "overlaps": [{"broadcast_id": o.broadcast_id, "title": o.title, "start": format_time(o.start),
                              "end": format_time(o.end), "clusters": o.clusters} for o in self.overlaps]}


@dataclass
class Band:
    """The hours loudspeakers may sound on a day (local time), and the areas whose clusters this rule governs."""

    allowed_from: str
    allowed_to: str
    areas: list[str]


@dataclass
class Day:
    day: date
    items: list[Item]
    bands: list[Band]


@dataclass
class Calendar:
    first: date
    last: date
    days: list[Day]

    def as_json(self) -> dict[str, Any]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(),
                "days": [{"date": d.day.isoformat(), "items": [i.as_json() for i in d.items],
                          "airtime": [{"from": b.allowed_from, "to": b.allowed_to, "areas": b.areas}
                                      for b in d.bands]} for d in self.days]}


def parse_days(start: Any, end: Any, zone: ZoneInfo, now: datetime | None = None) -> tuple[date, date]:
    """``from``..``to`` (YYYY-MM-DD, both included); by default this week, Monday to Sunday."""
    today = (now or utcnow()).astimezone(zone).date()
    try:
        first = date.fromisoformat(start) if start else today - timedelta(days=today.weekday())
        last = date.fromisoformat(end) if end else first + timedelta(days=6)
    except (TypeError, ValueError):
        raise Refusal("invalid_period", "'from' and 'to' must be dates YYYY-MM-DD", field="from") from None
    if last < first or (last - first).days >= MAX_DAYS:
        raise Refusal("invalid_period", f"'to' must be on or after 'from', at most {MAX_DAYS} days", field="to")
    return first, last


def calendar(session: Session, user: User, first: date, last: date, zone: ZoneInfo, area_id: int | None = None,
             device_id: str | None = None, now: datetime | None = None) -> Calendar:
    """Every item on the user's clusters (narrowed to an area and below, or one cluster) from local day ``first``
    to ``last``, each day's items in order of start."""
    require(user, "view")
    now = now or utcnow()
    devices = _clusters(session, user, area_id, device_id)
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    items = _items(session, devices, start, end, now)
    _mark_overlaps(items)
    by_day: dict[date, list[Item]] = defaultdict(list)
    for item in items:
        by_day[item.start.astimezone(zone).date()].append(item)
    bands = _bands(session, devices)
    days = []
    day = first
    while day <= last:
        days.append(Day(day, sorted(by_day.get(day, []), key=lambda i: (i.start, i.broadcast_id)), bands))
        day += timedelta(days=1)
    return Calendar(first, last, days)


def _clusters(session: Session, user: User, area_id: int | None, device_id: str | None) -> dict[str, Device]:
    scope = scope_of(session, user)
    query = session.query(Device)
    if area_id is not None:
        if not scope.has_area(area_id) or session.get(Area, area_id) is None:
            raise Refusal("not_found", f"area {area_id} does not exist", status=404, field="area")
        query = query.filter(Device.village_id.in_(below(session, [area_id])))
    if device_id is not None:
        device = session.get(Device, device_id)
        if device is None or not scope.has_device(device):
            raise Refusal("not_found", f"device {device_id} does not exist", status=404, field="device")
        query = query.filter(Device.id == device_id)
    return {d.id: d for d in query if scope.has_device(d)}


def _items(session: Session, devices: dict[str, Device], start: datetime, end: datetime, now: datetime
           ) -> list[Item]:
    if not devices:
        return []
    targeted = session.query(Delivery.broadcast_id).filter(Delivery.device_id.in_(list(devices)))
    planned = func.coalesce(Broadcast.play_at, Broadcast.sent_at, Broadcast.created_at)
    one_off = (session.query(Broadcast).outerjoin(Recurrence, Recurrence.broadcast_id == Broadcast.id)
               .filter(Recurrence.broadcast_id.is_(None), Broadcast.id.in_(targeted),
                       planned >= start - LONGEST, planned < end))
    weekly = (session.query(Broadcast).join(Recurrence, Recurrence.broadcast_id == Broadcast.id)
              .filter(Broadcast.id.in_(targeted)))
    options = (selectinload(Broadcast.deliveries), selectinload(Broadcast.bulletin), selectinload(Broadcast.asset),
               selectinload(Broadcast.relay), selectinload(Broadcast.live), selectinload(Broadcast.recurrence))
    broadcasts = one_off.options(*options).all() + weekly.options(*options).all()
    items: list[Item] = []
    for broadcast in broadcasts:
        clusters = {d.device_id: devices[d.device_id].name for d in broadcast.deliveries if d.device_id in devices}
        if not clusters:
            continue
        length = airtime.length_of(broadcast)
        rule = broadcast.repeat()
        if rule is not None:
            plays = _occurrence_plays(session, broadcast.id, list(clusters), start, end)
            for at in rule.occurrences(start, end):
                state = _occurrence_state(broadcast, plays.get(at, []), at, at + length, now)
                if state is not None:
                    items.append(_item(broadcast, at, at + length, state, clusters))
            continue
        live = broadcast.live
        if live is not None and live.started_at is None:
            continue  # a live session that never went on air
        at = (live.started_at if live is not None else None) or broadcast.play_at or broadcast.sent_at \
            or broadcast.created_at
        deliveries = [d for d in broadcast.deliveries if d.device_id in clusters]
        items.append(_item(broadcast, at, at + length, _state(broadcast, deliveries, at, at + length, now), clusters))
    _programmes_back_to_back(items)
    return [i for i in items if i.start < end and i.end > start]


def _item(broadcast: Broadcast, start: datetime, end: datetime, state: str, clusters: dict[str, str]) -> Item:
    if broadcast.priority == "emergency":
        kind = "emergency"
    elif broadcast.live is not None:
        kind = "live"
    elif broadcast.relay is not None:
        kind = "relay"
    elif broadcast.recurrence is not None:
        kind = "weekly"
    else:
        kind = "one-off"
    return Item(broadcast.id, broadcast.bulletin.title, kind, broadcast.priority, start, end, state, dict(clusters),
                broadcast.programme_id)


def _programmes_back_to_back(items: list[Item]) -> None:
    """The items of a programme share a start and play one after another in id order: each starts when the ones
    before it have ended."""
    sessions: dict[tuple[int, datetime], list[Item]] = defaultdict(list)
    for item in items:
        if item.programme_id is not None:
            sessions[(item.programme_id, item.start)].append(item)
    for together in sessions.values():
        offset = timedelta(0)
        for item in sorted(together, key=lambda i: i.broadcast_id):
            length = item.end - item.start
            item.start, item.end = item.start + offset, item.end + offset
            offset += length


def _state(broadcast: Broadcast, deliveries: list[Delivery], start: datetime, end: datetime, now: datetime) -> str:
    states = {d.state for d in deliveries}
    if "playing" in states or broadcast.state == "live":
        return "playing"
    if states & {"played", "interrupted"}:
        return "played"
    if broadcast.state in ("stopping", "stopped") or (states and states <= {"cancelled", "ended"}):
        return "cancelled"
    if broadcast.state == "failed" or (states and states <= {"failed", "cancelled"}):
        return "failed"
    if states and states <= {"missed", "failed", "cancelled"}:
        return "missed"
    return "scheduled" if end > now else "unreported"


def _occurrence_plays(session: Session, broadcast_id: int, devices: list[str], start: datetime, end: datetime
                      ) -> dict[datetime, list[str]]:
    plays: dict[datetime, list[str]] = defaultdict(list)
    for occurrence, state in (session.query(OccurrencePlay.occurrence, OccurrencePlay.state)
                              .filter(OccurrencePlay.broadcast_id == broadcast_id,
                                      OccurrencePlay.device_id.in_(devices),
                                      OccurrencePlay.occurrence >= start, OccurrencePlay.occurrence < end)):
        plays[occurrence].append(state)
    return plays


def _occurrence_state(broadcast: Broadcast, states: list[str], start: datetime, end: datetime, now: datetime
                      ) -> str | None:
    """One occurrence's state from what the clusters reported of it; None when it will not air (its broadcast was
    stopped or failed before it)."""
    reported = set(states)
    if "playing" in reported:
        return "playing"
    if reported & {"played", "interrupted"}:
        return "played"
    if reported and reported <= {"cancelled", "ended"}:
        return "cancelled"
    if reported and reported <= {"failed", "cancelled"}:
        return "failed"
    if reported:
        return "missed"
    if broadcast.state not in ("queued", "sent"):
        return None
    return "scheduled" if end > now else "unreported"


def _mark_overlaps(items: list[Item]) -> None:
    """Each item lists, once, every other item on air at the same time on one of its clusters, with the names
    of the clusters they share. Cancelled, failed and missed items take no air time."""
    airing = sorted((i for i in items if i.state not in ("cancelled", "failed", "missed")), key=lambda i: i.start)
    for n, item in enumerate(airing):
        for other in airing[n + 1:]:
            if other.start >= item.end:
                break
            shared = sorted(item.clusters[d] for d in set(item.clusters) & set(other.clusters))
            if shared and other.broadcast_id != item.broadcast_id:
                item.overlaps.append(Overlap(other.broadcast_id, other.title, other.start, other.end, shared))
                other.overlaps.append(Overlap(item.broadcast_id, item.title, item.start, item.end, shared))


def _bands(session: Session, devices: dict[str, Device]) -> list[Band]:
    """The allowed hours governing these clusters, one band per distinct rule with the areas whose rule it is."""
    rules = airtime.rules_for(session, list(devices.values()))
    names = dict(session.query(Area.id, Area.name).all())
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rule in rules.values():
        key = (airtime.clock_text(rule.allowed_from), airtime.clock_text(rule.allowed_to))
        found[key].add(names.get(rule.area_id, "") if rule.area_id is not None else "")
    if not found:  # no cluster in view: the default hours
        found[(airtime.DEFAULT_FROM, airtime.DEFAULT_TO)].add("")
    return [Band(f, t, sorted(a for a in areas if a)) for (f, t), areas in sorted(found.items())]
