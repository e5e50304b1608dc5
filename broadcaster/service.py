"""Domain operations used by both the JSON API and the web pages, with their validation rules."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from broadcaster.assets import AssetStore
from broadcaster.audio import AudioError, load_recording
from broadcaster.db import (
    Broadcast,
    Bulletin,
    Delivery,
    Device,
    DeviceHealth,
    LexiconEntry,
    Recording,
    Recurrence,
    Relay,
    User,
    VolumeSetting,
    utcnow,
)
from edge_agent.protocol import PRIORITIES, ProtocolError, Repeat
from edge_agent.protocol.messages import DEFAULT_TZ

MAX_TITLE = 200
MAX_TEXT = 20_000
PAST_TOLERANCE = timedelta(seconds=60)
MAX_PLAYS_SHOWN = 500
"""Occurrences of a recurring broadcast listed with it (newest first); reports cover the rest."""


class Refusal(Exception):
    """A request the system will not carry out: a stable code, a message for people, an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 422, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.field = code, message, status, field


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


def create_bulletin(session: Session, user: User, data: dict[str, Any]) -> Bulletin:
    title = text_field(data, "title", MAX_TITLE)
    text = text_field(data, "text", MAX_TEXT)
    if not any(ch.isalnum() for ch in text):
        raise Refusal("nothing_to_say", "'text' has no letters or digits to read aloud", field="text")
    bulletin = Bulletin(title=title, text=text, state="draft", created_by=user.id)
    session.add(bulletin)
    session.flush()
    return bulletin


LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def create_recording_bulletin(session: Session, user: User, title: Any, language: Any, filename: str,
                              data: bytes, uploads: AssetStore, max_seconds: float) -> Bulletin:
    """A bulletin that airs an uploaded recording, in any language (e.g. Hmông, Tày, Khmer)."""
    title = text_field({"title": title}, "title", MAX_TITLE)
    if not isinstance(language, str) or not LANGUAGE_RE.match(language):
        raise Refusal("invalid_language", "'language' must be a language code such as vi, hmn, tay or km",
                      field="language")
    try:
        segment = load_recording(data, max_seconds)
    except AudioError as exc:
        raise Refusal(exc.code, str(exc), field="audio") from None
    bulletin = Bulletin(title=title, text="", state="draft", created_by=user.id)
    session.add(bulletin)
    session.flush()
    session.add(Recording(bulletin_id=bulletin.id, language=language, source_sha256=uploads.put(data),
                          filename=filename[:200], duration_s=round(len(segment) / 1000, 2)))
    session.flush()
    session.refresh(bulletin)
    return bulletin


def lexicon(session: Session) -> dict[str, str]:
    """The commune's words, as the normalizer takes them."""
    return {e.word: e.reading for e in session.query(LexiconEntry)}


def add_lexicon_entry(session: Session, user: User, data: dict[str, Any]) -> LexiconEntry:
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
    return entry


def approve_bulletin(session: Session, user: User, bulletin_id: int) -> Bulletin:
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise Refusal("not_found", f"bulletin {bulletin_id} does not exist", status=404)
    if bulletin.state != "approved":
        bulletin.state, bulletin.approved_by, bulletin.approved_at = "approved", user.id, utcnow()
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


def create_broadcast(session: Session, user: User, data: dict[str, Any], grace_s: int) -> Broadcast:
    bulletin_id = data.get("bulletin_id")
    if not isinstance(bulletin_id, int) or isinstance(bulletin_id, bool):
        raise Refusal("missing_field", "'bulletin_id' must be a bulletin id (integer)", field="bulletin_id")
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise Refusal("not_found", f"bulletin {bulletin_id} does not exist", field="bulletin_id")
    if bulletin.state != "approved":
        raise Refusal("not_approved", "only approved bulletins can be broadcast", status=409, field="bulletin_id")
    priority = data.get("priority", "normal")
    if priority not in PRIORITIES:
        raise Refusal("invalid_priority", f"'priority' must be one of {', '.join(PRIORITIES)}", field="priority")
    now = utcnow()
    play_at = parse_play_at(data.get("play_at"), now)
    devices = resolve_targets(session, data.get("targets"))
    relay = parse_relay(data.get("relay"))
    repeat = parse_repeat(data.get("repeat"), now)
    if repeat is not None and play_at is not None:
        raise Refusal("invalid_repeat", "a recurring broadcast has 'repeat' and no 'play_at'", field="play_at")
    broadcast = Broadcast(bulletin_id=bulletin.id, priority=priority, play_at=play_at, grace_s=grace_s,
                          state="queued", created_by=user.id, created_at=now)
    session.add(broadcast)
    session.flush()
    if relay is not None:
        session.add(Relay(broadcast_id=broadcast.id, url=relay[0], window_s=relay[1]))
    if repeat is not None:
        session.add(Recurrence(broadcast_id=broadcast.id, rule=json.dumps(repeat.to_dict())))
    for device_id in devices:
        session.add(Delivery(broadcast_id=broadcast.id, device_id=device_id, state="pending", updated_at=now))
    session.flush()
    return broadcast


def parse_repeat(value: Any, now: datetime) -> Repeat | None:
    """``{"weekdays": [1, 3, 5], "times": ["06:30", "17:00"], "start": "2026-12-01", "until": "2026-12-31",
    "skip": ["2026-12-24"], "tz": "Asia/Ho_Chi_Minh"}``: every Monday, Wednesday and Friday at 06:30 and
    17:00 local time. ``start`` defaults to today, ``tz`` to Asia/Ho_Chi_Minh; ``until`` and ``skip`` are
    optional."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Refusal("invalid_repeat", "'repeat' must be an object with 'weekdays' and 'times'", field="repeat")
    data = dict(value)
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
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise Refusal("not_found", f"broadcast {broadcast_id} does not exist", status=404)
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
    return broadcast


def set_volume(session: Session, user: User, device_id: str, volume: Any) -> VolumeSetting:
    if session.get(Device, device_id) is None:
        raise Refusal("not_found", f"device {device_id} does not exist", status=404)
    if not isinstance(volume, int) or isinstance(volume, bool) or not 0 <= volume <= 100:
        raise Refusal("invalid_volume", "'volume' must be a whole number from 0 to 100", field="volume")
    setting = session.get(VolumeSetting, device_id)
    if setting is None:
        setting = VolumeSetting(device_id=device_id, volume=volume, set_by=user.id)
        session.add(setting)
    setting.volume, setting.set_by, setting.set_at, setting.sent_at = volume, user.id, utcnow(), None
    session.flush()
    return setting


def resolve_targets(session: Session, targets: Any) -> list[str]:
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise Refusal("invalid_targets", "'targets' must be a non-empty list of device ids, or [\"all\"]",
                      field="targets")
    known = {d for (d,) in session.query(Device.id)}
    if targets == ["all"]:
        if not known:
            raise Refusal("no_devices", "there are no devices to broadcast to", field="targets")
        return sorted(known)
    unknown = sorted(set(targets) - known)
    if unknown:
        raise Refusal("unknown_target", f"unknown device(s): {', '.join(unknown[:10])}", field="targets")
    return sorted(set(targets))


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


def broadcast_json(broadcast: Broadcast) -> dict[str, Any]:
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
        "created_at": iso(bulletin.created_at),
        "approved_at": iso(bulletin.approved_at),
    }


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z") if value else None
