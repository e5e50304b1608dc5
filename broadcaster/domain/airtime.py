"""Air-time rules: loudspeakers sound only in allowed hours, for a limited time per broadcast and a limited
number of broadcasts a day. A normal or priority broadcast that breaks a rule is refused with every breach
listed; an emergency overrides them all. Overlaps with what is already planned on the same loudspeaker are
listed too, so the officer sees them before saving.

Times of day are local (``timezone`` of the server, Asia/Ho_Chi_Minh by default): a village sleeps by its
own clock, not by UTC.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from broadcaster.db import AirtimeRule, Broadcast, Bulletin, Delivery, Device
from broadcaster.domain.areas import ancestry, parents
from broadcaster.domain.errors import Refusal
from broadcaster.domain.lifecycle import NOT_AIRED, ON_AIR
from edge_agent.protocol import Repeat
from edge_agent.protocol.fields import format_time

DEFAULT_FROM, DEFAULT_TO = "05:30", "21:30"
WORDS_PER_MINUTE = 140
"""The speaking rate of our voices (docs/speech.md): a text's air time is estimated from it before render."""
CHIME_S = 4.0
HORIZON = timedelta(days=7)
"""How far ahead recurring broadcasts are checked and counted."""


@dataclass(frozen=True)
class Rule:
    allowed_from: time
    allowed_to: time
    max_session_min: int | None = None
    max_sessions_per_day: int | None = None
    area_id: int | None = None
    """The area whose rule this is (None: the default)."""

    def hours(self) -> str:
        return f"{clock_text(self.allowed_from)}-{clock_text(self.allowed_to)}"


def clock_text(value: time) -> str:
    return "24:00" if value == time.max else f"{value:%H:%M}"


def parse_clock(value: Any, name: str) -> time:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise Refusal("invalid_rule", f"'{name}' must be a time of day HH:MM", field=name)
    if value == "24:00":
        return time.max  # the end of the day
    try:
        return time(int(value[:2]), int(value[3:]))
    except ValueError:
        raise Refusal("invalid_rule", f"'{name}' must be a time of day HH:MM", field=name) from None


def rule_of(row: AirtimeRule | None) -> Rule:
    if row is None:
        return Rule(parse_clock(DEFAULT_FROM, "from"), parse_clock(DEFAULT_TO, "to"))
    return Rule(parse_clock(row.allowed_from, "allowed_from"), parse_clock(row.allowed_to, "allowed_to"),
                row.max_session_min, row.max_sessions_per_day, row.area_id)


def rules_for(session: Session, devices: list[Device]) -> dict[str, Rule]:
    """Each device's governing rule: the nearest area up from its village that has one."""
    by_area = area_rules(session)
    return {device.id: by_area(device.village_id) for device in devices}


def area_rules(session: Session) -> Callable[[int | None], Rule]:
    """The governing rule of any area (its own, or the nearest one up the tree, or the default), from two
    queries however many areas are asked about."""
    parent_of = parents(session)
    rows = {r.area_id: r for r in session.query(AirtimeRule)}

    def governing(area: int | None) -> Rule:
        ruled = next((a for a in ancestry(area, parent_of, limit=len(parent_of) + 1) if a in rows), None)
        return rule_of(rows[ruled] if ruled is not None else None)

    return governing


def estimate_s(bulletin: Bulletin) -> float:
    """Air time of a bulletin: a recording's length, or the text at our voices' speaking rate, plus chime."""
    if bulletin.recording is not None:
        return bulletin.recording.duration_s + CHIME_S
    return spoken_s(bulletin.text, bulletin.speed) + CHIME_S


def spoken_s(text: str, speed: float | None = None) -> float:
    """How long a text takes to read aloud at our voices' rate (times ``speed``), chime not included."""
    return len(text.split()) / WORDS_PER_MINUTE * 60 / (speed or 1.0)


def starts(play_at: datetime | None, repeat: Repeat | None, now: datetime) -> list[datetime]:
    """When a broadcast plays within the horizon (UTC)."""
    if repeat is not None:
        return repeat.occurrences(now, now + HORIZON)
    return [play_at or now]


@dataclass(frozen=True)
class Planned:
    broadcast_id: int
    title: str
    priority: str
    start: datetime
    end: datetime
    programme_id: int | None = None




def planned(session: Session, device_ids: list[str], now: datetime, since: datetime | None = None
            ) -> dict[str, list[Planned]]:
    """What is planned on these devices from ``since`` (default now) to the horizon: what is still to play,
    and what already played since then (it counts towards the day's sessions)."""
    since = since or now
    rows = (session.query(Delivery.device_id, Broadcast).join(Broadcast, Delivery.broadcast_id == Broadcast.id)
            .filter(Delivery.device_id.in_(device_ids), Delivery.state.not_in(NOT_AIRED),
                    Broadcast.state.in_(ON_AIR)))
    result: dict[str, list[Planned]] = defaultdict(list)
    plays: dict[int, list[Planned]] = {}
    """Each broadcast's plays in the period, worked out once however many devices it has."""
    for device_id, broadcast in rows:
        if broadcast.id not in plays:
            plays[broadcast.id] = _plays(broadcast, since, now)
        result[device_id] += plays[broadcast.id]
    return {device: _sessions(items) for device, items in result.items()}


def length_of(broadcast: Broadcast) -> timedelta:
    """How long one play of a broadcast takes: its audio's length once rendered (else the estimate from its
    text), a relay's window, a live session's maximum until it has ended and then as long as it lasted."""
    asset_s = broadcast.asset.duration_s if broadcast.asset is not None else None
    length = timedelta(seconds=asset_s or estimate_s(broadcast.bulletin))
    if broadcast.relay is not None:
        length = timedelta(seconds=broadcast.relay.window_s)
    live = broadcast.live
    if live is not None:  # spoken live: as long as it may last, then as long as it lasted
        lasted = live.ended_at - live.started_at if live.ended_at and live.started_at else None
        length = lasted if lasted is not None else timedelta(seconds=live.max_s)
    return length


def _plays(broadcast: Broadcast, since: datetime, now: datetime) -> list[Planned]:
    length = length_of(broadcast)
    rule = broadcast.repeat()
    times = rule.occurrences(since, now + HORIZON) if rule else [broadcast.play_at or broadcast.created_at]
    return [Planned(broadcast.id, broadcast.bulletin.title, broadcast.priority, start, start + length,
                    broadcast.programme_id) for start in times if start + length >= since]


def _sessions(items: list[Planned]) -> list[Planned]:
    """The items of one programme at one start are one session, as long as they are together."""
    merged: dict[tuple[int, datetime], Planned] = {}
    alone = []
    for item in sorted(items, key=lambda p: p.broadcast_id):
        if item.programme_id is None:
            alone.append(item)
            continue
        key = (item.programme_id, item.start)
        first = merged.get(key)
        merged[key] = item if first is None else Planned(
            first.broadcast_id, first.title, first.priority, first.start,
            first.end + (item.end - item.start), first.programme_id)
    return alone + list(merged.values())


def check(session: Session, devices: list[Device], priority: str, play_at: datetime | None, repeat: Repeat | None,
          length_s: float, now: datetime, zone: ZoneInfo, overlaps_wanted: bool = True
          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(breaches of the air-time rules, overlaps with what is planned) for a broadcast about to be made.
    An emergency breaches nothing: without ``overlaps_wanted`` there is nothing to look up for it."""
    if priority == "emergency" and not overlaps_wanted:
        return [], []
    rules = rules_for(session, devices)
    times = starts(play_at, repeat, now)
    length = timedelta(seconds=length_s)
    today = datetime.combine(now.astimezone(zone).date(), time(0), zone)
    counted = overlaps_wanted or any(rules[d.id].max_sessions_per_day is not None for d in devices)
    existing = planned(session, [d.id for d in devices], now, since=today) if counted else {}
    breaches: list[dict[str, Any]] = []
    overlaps: list[dict[str, Any]] = []
    for device in devices:
        rule = rules[device.id]
        for start in times:
            for other in existing.get(device.id, []):
                if other.start < start + length and start < other.end:
                    overlaps.append({"device_id": device.id, "broadcast_id": other.broadcast_id,
                                     "title": other.title, "priority": other.priority,
                                     "start": _iso(other.start), "end": _iso(other.end)})
        if priority == "emergency":
            continue  # an emergency overrides every rule; overlaps are still shown
        base = {"device_id": device.id, "device": device.name, "area_id": rule.area_id}
        if rule.max_session_min is not None and length_s > rule.max_session_min * 60:
            breaches.append({**base, "rule": "session_length", "limit": rule.max_session_min,
                             "value": round(length_s / 60, 1)})
        for start in times:
            local_start, local_end = start.astimezone(zone), (start + length).astimezone(zone)
            if (local_start.time() < rule.allowed_from or local_end.time() > rule.allowed_to
                    or local_end.date() != local_start.date()):
                breaches.append({**base, "rule": "hours", "limit": rule.hours(),
                                 "value": f"{local_start:%H:%M}-{_minute_up(local_end):%H:%M} {local_start:%d/%m}"})
                break  # one line per device is enough to act on
        if rule.max_sessions_per_day is not None:
            per_day: dict[date, int] = defaultdict(int)
            for other in existing.get(device.id, []):
                if other.priority != "emergency":
                    per_day[other.start.astimezone(zone).date()] += 1
            for start in times:
                day = start.astimezone(zone).date()
                per_day[day] += 1
                if per_day[day] > rule.max_sessions_per_day:
                    breaches.append({**base, "rule": "sessions_per_day", "limit": rule.max_sessions_per_day,
                                     "value": per_day[day], "day": day.isoformat()})
                    break
    return breaches, overlaps


def next_allowed(session: Session, devices: list[Device], start: datetime, length_s: float, zone: ZoneInfo
                 ) -> datetime | None:
    """The earliest time from ``start`` at which the allowed hours of every one of ``devices`` hold a broadcast
    of ``length_s`` (a CAP alert that arrives at night waits for the morning); None when there is none within
    the horizon (rules whose hours never meet)."""
    rules = set(rules_for(session, devices).values())
    length = timedelta(seconds=length_s)
    candidate = start
    for _ in range(4 * len(rules) + 8):
        later = [_next_in(rule, candidate, length, zone) for rule in rules]
        if any(t is None for t in later):
            return None
        latest = max((t for t in later if t is not None), default=candidate)
        if latest <= candidate:
            return candidate
        candidate = latest
    return None


def _next_in(rule: Rule, start: datetime, length: timedelta, zone: ZoneInfo) -> datetime | None:
    local = start.astimezone(zone)
    for days in range(HORIZON.days + 1):
        day = local.date() + timedelta(days=days)
        opens = datetime.combine(day, rule.allowed_from, zone)
        closes = datetime.combine(day, rule.allowed_to, zone)
        begin = max(opens, local)
        if begin + length <= closes and (begin + length).date() == begin.date():
            return begin.astimezone(start.tzinfo)
    return None


def describe(breach: dict[str, Any]) -> str:
    """One breach in words, for the API's message."""
    where = f"{breach['device']} ({breach['device_id']})"
    if breach["rule"] == "hours":
        return f"{where} may sound {breach['limit']} only; this would play {breach['value']}"
    if breach["rule"] == "session_length":
        return f"{where} allows {breach['limit']} min per broadcast; this is about {breach['value']} min"
    return f"{where} allows {breach['limit']} broadcasts a day; {breach['day']} would have {breach['value']}"


def _minute_up(moment: datetime) -> datetime:
    """The minute a play has ended by: a 20 s reading at 03:00 is "03:00-03:01", not "03:00-03:00"."""
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(minutes=1)


def _iso(value: datetime) -> str:
    return format_time(value) or ""
