"""Domain operations used by both the JSON API and the web pages, with their validation rules."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, insert
from sqlalchemy.orm import Session, joinedload, selectinload

from broadcaster import airtime
from broadcaster.access import Scope, audit, below, home_area, require, scope_of
from broadcaster.assets import AssetStore
from broadcaster.db import (
    BULLETIN_STATES,
    AirtimeRule,
    Area,
    Broadcast,
    Bulletin,
    Delivery,
    Device,
    DeviceGroup,
    DeviceGroupMember,
    DeviceHealth,
    DeviceSetting,
    LexiconEntry,
    Programme,
    Recording,
    Recurrence,
    Relay,
    User,
    parse_id,
    utcnow,
)
from broadcaster.speech.audio import AudioError, load_recording
from edge_agent.protocol import PRIORITIES, ProtocolError, Repeat
from edge_agent.protocol.messages import DEFAULT_TZ

MAX_TITLE = 200
MAX_TEXT = 20_000
PAST_TOLERANCE = timedelta(seconds=60)
MAX_PLAYS_SHOWN = 500
"""Occurrences of a recurring broadcast listed with it (newest first); reports cover the rest."""


class Refusal(Exception):
    """A request the system will not carry out: a stable code, a message for people, an HTTP status, and
    optionally structured ``details`` (e.g. each air-time rule broken, for the page to show)."""

    def __init__(self, code: str, message: str, status: int = 422, field: str | None = None,
                 details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.field = code, message, status, field
        self.details = details


def text_field(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Refusal("missing_field", f"'{name}' is required and must be non-empty text", field=name)
    value = value.strip()
    if len(value) > limit:
        raise Refusal("too_long", f"'{name}' is longer than {limit} characters", field=name)
    if "\x00" in value:
        raise Refusal("invalid_text", f"'{name}' contains a NUL character", field=name)
    return value


def _spoken_text(data: dict[str, Any]) -> str:
    text = text_field(data, "text", MAX_TEXT)
    if not any(ch.isalnum() for ch in text):
        raise Refusal("nothing_to_say", "'text' has no letters or digits to read aloud", field="text")
    return text


def _owned_area(session: Session, user: User, value: Any) -> int | None:
    """The area a new bulletin or group belongs to: the one asked for (in the user's scope) or the user's own."""
    if value is None:
        return home_area(user)
    if not isinstance(value, int) or isinstance(value, bool) or session.get(Area, value) is None:
        raise Refusal("unknown_area", "'area_id' must be the id of an area", field="area_id")
    if not scope_of(session, user).has_area(value):
        raise Refusal("out_of_scope", f"area {value} is outside your areas", status=403, field="area_id")
    return value


def create_bulletin(session: Session, user: User, data: dict[str, Any]) -> Bulletin:
    """A draft (or, with ``"submit": true``, submitted for approval at once)."""
    require(user, "write")
    title = text_field(data, "title", MAX_TITLE)
    text = _spoken_text(data)
    now = utcnow()
    bulletin = Bulletin(title=title, text=text, state="draft", created_by=user.id, created_at=now,
                        area_id=_owned_area(session, user, data.get("area_id")))
    if data.get("submit") is True:
        bulletin.state, bulletin.submitted_at = "submitted", now
    session.add(bulletin)
    session.flush()
    audit(session, user, "bulletin.create", f"bulletin {bulletin.id}", title)
    return bulletin


def visible_bulletin(session: Session, user: User, bulletin_id: int) -> Bulletin:
    """The bulletin if it exists in the user's scope; 404 otherwise (never say what exists elsewhere)."""
    require(user, "view")
    bulletin = session.get(Bulletin, bulletin_id)
    scope = scope_of(session, user)
    if bulletin is None or not (scope.everywhere or scope.has_area(bulletin.area_id)):
        raise Refusal("not_found", f"bulletin {bulletin_id} does not exist", status=404)
    return bulletin


def list_bulletins(session: Session, user: User, state: str | None = None, limit: int = 100) -> list[Bulletin]:
    require(user, "view")
    scope = scope_of(session, user)
    query = session.query(Bulletin).order_by(Bulletin.id.desc())
    if state is not None:
        if state not in BULLETIN_STATES:
            raise Refusal("invalid_state", f"'state' must be one of {', '.join(BULLETIN_STATES)}", field="state")
        query = query.filter(Bulletin.state == state)
    if not scope.everywhere:
        query = query.filter(Bulletin.area_id.in_(scope.areas))
    return query.limit(limit).all()


def update_bulletin(session: Session, user: User, bulletin_id: int, data: dict[str, Any]) -> Bulletin:
    """Change the title or text. Approved content that changes goes back for approval: only what an
    approver read airs."""
    require(user, "write")
    bulletin = visible_bulletin(session, user, bulletin_id)
    changed = []
    if "title" in data:
        bulletin.title = text_field(data, "title", MAX_TITLE)
        changed.append("title")
    if "text" in data:
        if bulletin.recording is not None:
            raise Refusal("not_text", "a recording's audio cannot be edited as text; upload a new one",
                          field="text")
        bulletin.text = _spoken_text(data)
        changed.append("text")
    if not changed:
        raise Refusal("missing_field", "send 'title' or 'text' to change")
    bulletin.updated_at = utcnow()
    if bulletin.state == "approved":
        bulletin.state, bulletin.submitted_at = "submitted", bulletin.updated_at
        bulletin.approved_by, bulletin.approved_at = None, None
    audit(session, user, "bulletin.edit", f"bulletin {bulletin.id}", ", ".join(changed))
    return bulletin


def submit_bulletin(session: Session, user: User, bulletin_id: int) -> Bulletin:
    require(user, "write")
    bulletin = visible_bulletin(session, user, bulletin_id)
    if bulletin.state not in ("draft", "rejected"):
        raise Refusal("bad_state", f"bulletin {bulletin_id} is {bulletin.state}; only a draft or a rejected "
                                   "bulletin can be submitted", status=409)
    bulletin.state, bulletin.submitted_at = "submitted", utcnow()
    audit(session, user, "bulletin.submit", f"bulletin {bulletin.id}")
    return bulletin


def reject_bulletin(session: Session, user: User, bulletin_id: int, comment: Any) -> Bulletin:
    """Send it back to its writer with a comment saying what to change."""
    require(user, "approve")
    bulletin = visible_bulletin(session, user, bulletin_id)
    reason = text_field({"comment": comment}, "comment", 2000)
    if bulletin.state not in ("draft", "submitted"):
        raise Refusal("bad_state", f"bulletin {bulletin_id} is {bulletin.state}; only one awaiting approval can "
                                   "be rejected", status=409)
    bulletin.state, bulletin.review_comment = "rejected", reason
    audit(session, user, "bulletin.reject", f"bulletin {bulletin.id}", reason)
    return bulletin


LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def create_recording_bulletin(session: Session, user: User, title: Any, language: Any, filename: str,
                              data: bytes, uploads: AssetStore, max_seconds: float) -> Bulletin:
    """A bulletin that airs an uploaded recording, in any language (e.g. Hmông, Tày, Khmer)."""
    require(user, "write")
    title = text_field({"title": title}, "title", MAX_TITLE)
    if not isinstance(language, str) or not LANGUAGE_RE.match(language):
        raise Refusal("invalid_language", "'language' must be a language code such as vi, hmn, tay or km",
                      field="language")
    try:
        segment = load_recording(data, max_seconds)
    except AudioError as exc:
        raise Refusal(exc.code, str(exc), field="audio") from None
    bulletin = Bulletin(title=title, text="", state="draft", created_by=user.id, area_id=home_area(user))
    session.add(bulletin)
    session.flush()
    audit(session, user, "bulletin.create", f"bulletin {bulletin.id}", f"recording in {language}: {title}")
    session.add(Recording(bulletin_id=bulletin.id, language=language, source_sha256=uploads.put(data),
                          filename=filename[:200], duration_s=round(len(segment) / 1000, 2)))
    session.flush()
    session.refresh(bulletin)
    return bulletin


def lexicon(session: Session) -> dict[str, str]:
    """The commune's words, as the normalizer takes them."""
    return {e.word: e.reading for e in session.query(LexiconEntry)}


def add_lexicon_entry(session: Session, user: User, data: dict[str, Any]) -> LexiconEntry:
    require(user, "write")
    word = text_field(data, "word", 80)
    reading = text_field(data, "reading", 300)
    if re.search(r"\d", reading) or not re.search(r"\w", reading):
        raise Refusal("invalid_reading", "'reading' must be words as they are spoken, without digits",
                      field="reading")
    if session.query(LexiconEntry).filter_by(word=word).one_or_none() is not None:
        raise Refusal("duplicate_word", f"'{word}' is already in the dictionary", status=409, field="word")
    entry = LexiconEntry(word=word, reading=reading, created_by=user.id)
    session.add(entry)
    session.flush()
    audit(session, user, "lexicon.add", word, reading)
    return entry


def delete_lexicon_entry(session: Session, user: User, entry_id: int) -> None:
    require(user, "write")
    entry = session.get(LexiconEntry, entry_id)
    if entry is None:
        raise Refusal("not_found", f"dictionary entry {entry_id} does not exist", status=404)
    audit(session, user, "lexicon.delete", entry.word, entry.reading)
    session.delete(entry)


def approve_bulletin(session: Session, user: User, bulletin_id: int, comment: Any = None) -> Bulletin:
    """An approver (not its writer, unless an admin) lets it air."""
    require(user, "approve")
    bulletin = visible_bulletin(session, user, bulletin_id)
    if bulletin.state == "approved":
        return bulletin
    if bulletin.state not in ("draft", "submitted"):
        raise Refusal("bad_state", f"bulletin {bulletin_id} is {bulletin.state}; it must be submitted again",
                      status=409)
    if bulletin.created_by == user.id and not user.is_admin:
        raise Refusal("own_bulletin", "another approver must approve what you wrote yourself", status=403)
    bulletin.state, bulletin.approved_by, bulletin.approved_at = "approved", user.id, utcnow()
    bulletin.review_comment = comment.strip()[:2000] if isinstance(comment, str) and comment.strip() else None
    audit(session, user, "bulletin.approve", f"bulletin {bulletin.id}", bulletin.title)
    return bulletin


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
                   length_s: float | None = None, overlaps: bool = True) -> BroadcastPlan:
    """Everything ``create_broadcast`` checks, including the air-time rules and (unless not wanted) the
    overlaps, without saving. ``length_s``: check the rules for this air time instead of the bulletin's own
    (a whole programme)."""
    priority = data.get("priority", "normal")
    if priority not in PRIORITIES:
        raise Refusal("invalid_priority", f"'priority' must be one of {', '.join(PRIORITIES)}", field="priority")
    require(user, "emergency" if priority == "emergency" else "schedule")
    bulletin_id = data.get("bulletin_id")
    if not isinstance(bulletin_id, int) or isinstance(bulletin_id, bool):
        raise Refusal("missing_field", "'bulletin_id' must be a bulletin id (integer)", field="bulletin_id")
    try:
        bulletin = visible_bulletin(session, user, bulletin_id)
    except Refusal:
        raise Refusal("not_found", f"bulletin {bulletin_id} does not exist", field="bulletin_id") from None
    if bulletin.state != "approved":
        raise Refusal("not_approved", "only approved bulletins can be broadcast", status=409, field="bulletin_id")
    now = utcnow()
    play_at = parse_play_at(data.get("play_at"), now)
    devices = resolve_targets(session, data.get("targets"), scope_of(session, user))
    relay = parse_relay(data.get("relay"))
    repeat = parse_repeat(data.get("repeat"), now, timezone)
    if repeat is not None and play_at is not None:
        raise Refusal("invalid_repeat", "a recurring broadcast has 'repeat' and no 'play_at'", field="play_at")
    length = length_s if length_s is not None else (relay[1] if relay else airtime.estimate_s(bulletin))
    rows = session.query(Device).filter(Device.id.in_(devices)).order_by(Device.id).all()
    breaches, overlapping = airtime.check(session, rows, priority, play_at, repeat, length, now, ZoneInfo(timezone),
                                          overlaps)
    return BroadcastPlan(bulletin, priority, play_at, devices, relay, repeat, breaches, overlapping)


def create_broadcast(session: Session, user: User, data: dict[str, Any], grace_s: int,
                     timezone: str = DEFAULT_TZ) -> Broadcast:
    """Schedule an approved bulletin; refused, with every breach listed, outside the air-time rules (an
    emergency overrides them)."""
    plan = plan_broadcast(session, user, data, timezone, overlaps=False)  # (shown before, by the plan)
    _refuse_breaches(plan)
    return _save_broadcast(session, user, plan, grace_s)


def _refuse_breaches(plan: BroadcastPlan) -> None:
    if plan.breaches:
        raise Refusal("outside_airtime", "; ".join(airtime.describe(b) for b in plan.breaches[:10]),
                      field="play_at", details=plan.breaches)


def _save_broadcast(session: Session, user: User, plan: BroadcastPlan, grace_s: int,
                    programme: Programme | None = None) -> Broadcast:
    bulletin, priority, play_at, devices, relay, repeat = (plan.bulletin, plan.priority, plan.play_at, plan.devices,
                                                           plan.relay, plan.repeat)
    now = utcnow()
    broadcast = Broadcast(bulletin_id=bulletin.id, priority=priority, play_at=play_at, grace_s=grace_s,
                          state="queued", created_by=user.id, created_at=now,
                          programme_id=programme.id if programme else None)
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


def broadcast_summaries(session: Session, broadcasts: list[Broadcast]) -> list[dict[str, Any]]:
    """Each broadcast as in :func:`broadcast_json`, but with how many clusters are in each state instead of
    every cluster's row: a list stays small whatever the size of the fleet (one query for all the counts)."""
    ids = [b.id for b in broadcasts]
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    if ids:
        rows = (session.query(Delivery.broadcast_id, Delivery.state, func.count())
                .filter(Delivery.broadcast_id.in_(ids)).group_by(Delivery.broadcast_id, Delivery.state))
        for broadcast_id, state, n in rows:
            counts[broadcast_id][state] = n
    return [{**broadcast_head(b), "targets": sum(counts[b.id].values()), "counts": counts[b.id]} for b in broadcasts]


def visible_devices(session: Session, user: User) -> list[Device]:
    require(user, "view")
    scope = scope_of(session, user)
    query = session.query(Device).options(joinedload(Device.village)).order_by(Device.id)
    if not scope.everywhere:
        query = query.filter(Device.village_id.in_(scope.areas))
    return query.all()


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
    except ProtocolError as exc:
        raise Refusal("invalid_repeat", f"'repeat.{exc}", field="repeat") from None
    if repeat.ends_before(now):
        raise Refusal("invalid_repeat", "'repeat.until' is in the past: it would never play", field="repeat")
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
    else:
        raise Refusal("not_stoppable", f"broadcast {broadcast_id} is {broadcast.state}", status=409)
    broadcast.error = f"stopped by {user.username}"
    session.flush()
    audit(session, user, "broadcast.stop", f"broadcast {broadcast.id}")
    return broadcast


def operated_device(session: Session, user: User, device_id: str) -> Device:
    """A device the user may operate: in their areas (404 otherwise, as if it did not exist)."""
    require(user, "operate")
    device = session.get(Device, device_id)
    if device is None or not scope_of(session, user).has_device(device):
        raise Refusal("not_found", f"device {device_id} does not exist", status=404)
    return device


def set_volume(session: Session, user: User, device_id: str, volume: Any) -> DeviceSetting:
    if not isinstance(volume, int) or isinstance(volume, bool) or not 0 <= volume <= 100:
        operated_device(session, user, device_id)
        raise Refusal("invalid_volume", "'volume' must be a whole number from 0 to 100", field="volume")
    setting = _setting(session, user, device_id)
    setting.volume = volume
    audit(session, user, "device.volume", device_id, f"{volume}%")
    return setting


def set_power(session: Session, user: User, device_id: str, on: Any) -> DeviceSetting:
    """Switch a cluster off (silent for everything but emergencies) or back on."""
    if not isinstance(on, bool):
        operated_device(session, user, device_id)
        raise Refusal("invalid_power", "'on' must be true or false", field="on")
    setting = _setting(session, user, device_id)
    setting.enabled = on
    audit(session, user, "device.power", device_id, "on" if on else "off")
    return setting


def _setting(session: Session, user: User, device_id: str) -> DeviceSetting:
    """The device's settings row, marked unsent so the worker sends the new whole state."""
    operated_device(session, user, device_id)
    setting = session.get(DeviceSetting, device_id)
    if setting is None:
        setting = DeviceSetting(device_id=device_id, enabled=True, set_by=user.id)
        session.add(setting)
    setting.set_by, setting.set_at, setting.sent_at = user.id, utcnow(), None
    session.flush()
    return setting


def resolve_targets(session: Session, targets: Any, scope: Scope) -> list[str]:
    """Device ids for ``targets``: ``"all"`` (every device in the user's areas), device ids,
    ``"area:<id>"`` (every device in that area and below it) and ``"group:<id>"`` (its members). Anything
    outside the user's areas is refused."""
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise Refusal("invalid_targets", "'targets' must be a non-empty list of device ids, \"area:<id>\", "
                      "\"group:<id>\" or [\"all\"]", field="targets")
    devices = {d.id: d for d in session.query(Device)}
    chosen: set[str] = set()
    for target in targets:
        if target == "all":
            chosen |= {d.id for d in devices.values() if scope.has_device(d)}
        elif target.startswith("group:"):
            group_id = parse_id(target[6:])
            group = session.get(DeviceGroup, group_id) if group_id is not None else None
            if group is None or not visible_group(scope, group, devices):
                raise Refusal("unknown_target", f"unknown group {target[6:]!r}", field="targets")
            members = {m.device_id for m in group.members}
            if not all(scope.has_device(devices[d]) for d in members):
                raise Refusal("out_of_scope", f"group {group.name!r} has clusters outside your areas", status=403,
                              field="targets")
            chosen |= members
        elif target.startswith("area:"):
            area_id = parse_id(target[5:])
            if area_id is None or session.get(Area, area_id) is None:
                raise Refusal("unknown_target", f"unknown area {target[5:]!r}", field="targets")
            if not scope.has_area(area_id):
                raise Refusal("out_of_scope", f"area {area_id} is outside your areas", status=403, field="targets")
            under = below(session, [area_id])
            chosen |= {d.id for d in devices.values() if d.village_id in under}
        elif target not in devices:
            raise Refusal("unknown_target", f"unknown device {target[:63]!r}", field="targets")
        elif not scope.has_device(devices[target]):
            raise Refusal("out_of_scope", f"device {target} is outside your areas", status=403, field="targets")
        else:
            chosen.add(target)
    if not chosen:
        raise Refusal("no_devices", "there are no devices to broadcast to there", field="targets")
    return sorted(chosen)


def device_json(device: Device, health: DeviceHealth | None = None) -> dict[str, Any]:
    return {
        "health": json.loads(health.reported) if health else None,
        "clock_skew_s": health.clock_skew_s if health else None,
        "id": device.id,
        "name": device.name,
        "village": device.village.name if device.village else None,
        "online": device.online,
        "last_seen": iso(device.last_seen),
        "volume": device.volume,
        "now_playing": device.now_playing,
        "version": device.version,
    }


def broadcast_head(broadcast: Broadcast) -> dict[str, Any]:
    """What a broadcast is, without any cluster's state."""
    return {
        "id": broadcast.id,
        "bulletin_id": broadcast.bulletin_id,
        "title": broadcast.bulletin.title,
        "priority": broadcast.priority,
        "play_at": iso(broadcast.play_at),
        "state": broadcast.state,
        "error": broadcast.error,
        "asset": broadcast.asset_id,
        "relay": {"url": broadcast.relay.url, "window_s": broadcast.relay.window_s} if broadcast.relay else None,
        "repeat": _repeat_json(broadcast.repeat()),
        "created_at": iso(broadcast.created_at),
        "sent_at": iso(broadcast.sent_at),
        "programme_id": broadcast.programme_id,
    }


def broadcast_json(broadcast: Broadcast) -> dict[str, Any]:
    return {
        **broadcast_head(broadcast),
        "devices": [
            {
                "device_id": d.device_id,
                "state": d.state,
                "started_at": iso(d.started_at),
                "finished_at": iso(d.finished_at),
                "error": d.error,
            }
            for d in broadcast.deliveries
        ],
        "plays": [
            {
                "device_id": p.device_id,
                "occurrence": iso(p.occurrence),
                "state": p.state,
                "started_at": iso(p.started_at),
                "finished_at": iso(p.finished_at),
                "error": p.error,
            }
            for p in broadcast.plays[:MAX_PLAYS_SHOWN]
        ],
    }


def _repeat_json(repeat: Repeat | None) -> dict[str, Any] | None:
    if repeat is None:
        return None
    data = repeat.to_dict()
    del data["v"], data["type"]
    return data


def bulletin_json(bulletin: Bulletin) -> dict[str, Any]:
    recording = bulletin.recording
    return {
        "id": bulletin.id,
        "kind": "recording" if recording else "text",
        "title": bulletin.title,
        "text": bulletin.text,
        "language": recording.language if recording else "vi",
        "duration_s": recording.duration_s if recording else None,
        "state": bulletin.state,
        "stage": bulletin.stage(),
        "area_id": bulletin.area_id,
        "review_comment": bulletin.review_comment,
        "created_by": bulletin.created_by,
        "created_at": iso(bulletin.created_at),
        "submitted_at": iso(bulletin.submitted_at),
        "approved_by": bulletin.approved_by,
        "approved_at": iso(bulletin.approved_at),
        "updated_at": iso(bulletin.updated_at),
    }


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z") if value else None


def areas_json(session: Session, user: User) -> list[dict[str, Any]]:
    require(user, "view")
    scope = scope_of(session, user)
    areas = [a for a in session.query(Area).order_by(Area.id) if scope.has_area(a.id)]
    governing = airtime.area_rules(session)
    result = []
    for area in areas:
        rule = governing(area.id)
        result.append({"id": area.id, "name": area.name, "kind": area.kind, "parent_id": area.parent_id,
                       "airtime": {"allowed_from": airtime.clock_text(rule.allowed_from),
                                   "allowed_to": airtime.clock_text(rule.allowed_to),
                                   "max_session_min": rule.max_session_min,
                                   "max_sessions_per_day": rule.max_sessions_per_day,
                                   "set_on_area": rule.area_id}})
    return result


def set_airtime_rule(session: Session, user: User, area_id: int, data: dict[str, Any]) -> AirtimeRule:
    require(user, "admin")
    area = session.get(Area, area_id)
    if area is None or not scope_of(session, user).has_area(area_id):
        raise Refusal("not_found", f"area {area_id} does not exist", status=404)
    start = airtime.parse_clock(data.get("allowed_from", airtime.DEFAULT_FROM), "allowed_from")
    end = airtime.parse_clock(data.get("allowed_to", airtime.DEFAULT_TO), "allowed_to")
    if end <= start:
        raise Refusal("invalid_rule", "'allowed_to' must be after 'allowed_from' (same day)", field="allowed_to")
    limits = {}
    for name, top in (("max_session_min", 24 * 60), ("max_sessions_per_day", 100)):
        value = data.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top):
            raise Refusal("invalid_rule", f"'{name}' must be 1 to {top}, or null for no limit", field=name)
        limits[name] = value
    rule = session.get(AirtimeRule, area_id) or AirtimeRule(area_id=area_id)
    rule.allowed_from, rule.allowed_to = airtime.clock_text(start), airtime.clock_text(end)
    rule.max_session_min, rule.max_sessions_per_day = limits["max_session_min"], limits["max_sessions_per_day"]
    rule.updated_by, rule.updated_at = user.id, utcnow()
    session.add(rule)
    session.flush()
    audit(session, user, "airtime.set", area.name,
          f"{rule.allowed_from}-{rule.allowed_to}, {rule.max_session_min} min, {rule.max_sessions_per_day}/day")
    return rule


def set_position(session: Session, user: User, device_id: str, data: dict[str, Any]) -> Device:
    device = operated_device(session, user, device_id)
    lat, lon = data.get("lat"), data.get("lon")
    if lat is None and lon is None:
        device.lat = device.lon = None
    else:
        for name, value, top in (("lat", lat, 90), ("lon", lon, 180)):
            if not isinstance(value, int | float) or isinstance(value, bool) or not -top <= value <= top:
                raise Refusal("invalid_position", f"'{name}' must be a number between -{top} and {top}", field=name)
        device.lat, device.lon = float(lat), float(lon)  # type: ignore[arg-type]
    audit(session, user, "device.position", device.id, f"{device.lat}, {device.lon}")
    return device


AREA_KINDS = ("province", "district", "commune", "village")


def create_area(session: Session, user: User, data: dict[str, Any]) -> Area:
    """A province, district, commune or village, under a parent in the admin's scope."""
    require(user, "admin")
    name = text_field(data, "name", 200)
    kind = data.get("kind")
    if kind not in AREA_KINDS:
        raise Refusal("invalid_kind", f"'kind' must be one of {', '.join(AREA_KINDS)}", field="kind")
    parent_id = data.get("parent_id")
    scope = scope_of(session, user)
    if parent_id is not None:
        parent = session.get(Area, parent_id) if isinstance(parent_id, int) and not isinstance(parent_id, bool) \
            else None
        if parent is None or not scope.has_area(parent.id):
            raise Refusal("unknown_area", "'parent_id' must be an area in your scope", field="parent_id")
        if AREA_KINDS.index(kind) <= AREA_KINDS.index(parent.kind):
            raise Refusal("invalid_kind", f"a {kind} cannot lie under a {parent.kind}", field="kind")
    elif not scope.everywhere:
        raise Refusal("out_of_scope", "only an admin without areas creates top-level areas", status=403)
    if session.query(Area).filter_by(name=name, parent_id=parent_id).one_or_none() is not None:
        raise Refusal("duplicate_area", f"{name!r} already exists there", status=409, field="name")
    area = Area(name=name, kind=kind, parent_id=parent_id)
    session.add(area)
    session.flush()
    audit(session, user, "area.create", name, kind)
    return area


def visible_group(scope: Scope, group: DeviceGroup, devices: dict[str, Device]) -> bool:
    """A group is seen by users of its area, or, without one, by those who cover every member."""
    if group.area_id is not None:
        return scope.has_area(group.area_id)
    return scope.everywhere or all(scope.has_device(devices[m.device_id]) for m in group.members)


def list_groups(session: Session, user: User) -> list[DeviceGroup]:
    require(user, "view")
    scope = scope_of(session, user)
    devices = {d.id: d for d in session.query(Device)}
    return [g for g in session.query(DeviceGroup).order_by(DeviceGroup.name) if visible_group(scope, g, devices)]


def save_group(session: Session, user: User, data: dict[str, Any], group_id: int | None = None) -> DeviceGroup:
    """Create a group or replace its name and members: ``{"name", "devices": [ids], "area_id"?}``."""
    require(user, "operate")
    scope = scope_of(session, user)
    name = text_field(data, "name", 200)
    members = data.get("devices")
    if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
        raise Refusal("invalid_devices", "'devices' must be a non-empty list of device ids", field="devices")
    for device_id in members:
        device = session.get(Device, device_id)
        if device is None or not scope.has_device(device):
            raise Refusal("unknown_target", f"unknown device {device_id[:63]!r}", field="devices")
    area_id = _owned_area(session, user, data.get("area_id"))
    if group_id is None:
        group = DeviceGroup(name=name, area_id=area_id)
        session.add(group)
        session.flush()
    else:
        found = session.get(DeviceGroup, group_id)
        if found is None or found not in list_groups(session, user):
            raise Refusal("not_found", f"group {group_id} does not exist", status=404)
        group = found
        group.name = name
    group.members = [DeviceGroupMember(group_id=group.id, device_id=d) for d in sorted(set(members))]
    session.flush()
    audit(session, user, "group.save", f"group {group.id}", f"{name}: {', '.join(sorted(set(members)))}")
    return group


def group_json(group: DeviceGroup) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "area_id": group.area_id,
            "devices": sorted(m.device_id for m in group.members)}
