"""Typed JSON messages. Every message has ``v`` (protocol version) and ``type``.

``from_bytes`` never raises anything but :class:`ProtocolError`, whose text says what was wrong,
so a malformed payload is refused with a reason instead of crashing a callback.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge_agent.protocol.topics import ASSET_ID_RE, GROUP_RE

PROTOCOL_VERSION = 1
PRIORITIES = ("normal", "priority", "emergency")
PRIORITY_RANK = {name: rank for rank, name in enumerate(PRIORITIES)}
PLAYBACK_STATES = ("playing", "played", "missed", "failed", "interrupted", "cancelled")
"""``interrupted``: cut off while playing (by an emergency or a stop command); ``cancelled``: stopped before
it started. Both are final: a broadcast never plays twice."""
COMMAND_ACTIONS = ("volume", "settings")
"""``settings``: the device's whole operator-set state (volume, on/off); ``volume``: the volume alone."""
DELIVERY_STATES = ("delivered", "failed")
MAX_CHUNKS = 4096
MAX_ENTRIES = 1000
MAX_GROUPS = 16
DEFAULT_TZ = "Asia/Ho_Chi_Minh"
TIME_OF_DAY_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class ProtocolError(ValueError):
    """A payload that does not follow the protocol; ``reason`` is the refusal a receiver reports."""

    def __init__(self, message: str, reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime on the wire")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError(f"{name}: expected an ISO 8601 time, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ProtocolError(f"{name}: not an ISO 8601 time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise ProtocolError(f"{name}: time without an offset: {value[:40]!r}", "time_without_offset")
    return parsed.astimezone(UTC)


def _time(data: dict[str, Any], name: str) -> datetime:
    """A required time field."""
    value = parse_time(_require(data, name, str), name)
    assert value is not None  # _require refused a missing value
    return value


def _require(data: dict[str, Any], name: str, kind: type | tuple[type, ...], optional: bool = False) -> Any:
    if name not in data or data[name] is None:
        if optional:
            return None
        raise ProtocolError(f"missing field {name!r}")
    value = data[name]
    # bool is an int in Python; never accept it where a number is meant.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ProtocolError(f"{name}: expected {getattr(kind, '__name__', kind)}, got bool")
    if not isinstance(value, kind):
        raise ProtocolError(f"{name}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ProtocolError(f"{name}: not a finite number")
    return value


def _asset(data: dict[str, Any], name: str = "asset") -> str:
    value = _require(data, name, str)
    if not ASSET_ID_RE.match(value):
        raise ProtocolError(f"{name}: expected 64 lowercase hex characters (SHA-256)")
    return str(value)


def _choice(data: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = _require(data, name, str)
    if value not in allowed:
        raise ProtocolError(f"{name}: {value[:40]!r} is not one of {', '.join(allowed)}")
    return str(value)


def _historical(data: dict[str, Any]) -> bool:
    return bool(_require(data, "historical", bool, optional=True))


def _text(data: dict[str, Any], name: str, limit: int, optional: bool = False) -> str | None:
    value = _require(data, name, str, optional=optional)
    if value is not None and len(value) > limit:
        raise ProtocolError(f"{name}: longer than {limit} characters")
    return value


@dataclass
class Message:
    """Base class: JSON encoding with the version and type envelope."""

    TYPE: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"v": PROTOCOL_VERSION, "type": self.TYPE}
        for f in fields(self):
            body[f.name] = _wire(getattr(self, f.name))
        return body

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        raise NotImplementedError

    @classmethod
    def from_bytes(cls, payload: bytes) -> Self:
        data = load_object(payload)
        if data.get("type") != cls.TYPE:
            raise ProtocolError(f"expected a {cls.TYPE!r} message, got {str(data.get('type'))[:40]!r}")
        return cls.from_dict(data)


def _wire(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Message):
        return value.to_dict()
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return value


def load_object(payload: bytes) -> dict[str, Any]:
    """A payload as a JSON object of this protocol version; ProtocolError otherwise."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(f"not UTF-8 JSON: {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise ProtocolError("payload is not a JSON object")
    version = data.get("v")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {str(version)[:20]!r} (this side speaks 1)",
                            "unsupported_version")
    return data


def _date(value: Any, name: str) -> date:
    if not isinstance(value, str):
        raise ProtocolError(f"{name}: expected a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ProtocolError(f"{name}: not a date YYYY-MM-DD: {value[:20]!r}") from None


@dataclass
class Repeat(Message):
    """When a recurring entry plays: at each of ``times`` (local time in ``tz``) on each of ``weekdays``
    (1 = Monday ... 7 = Sunday), from ``start`` to ``until`` (both included; no end when null), except on
    the ``skip`` dates. The receiver expands it into occurrences itself, so it keeps playing them while
    offline."""

    TYPE: ClassVar[str] = "repeat"
    weekdays: list[int]
    times: list[str]
    start: date
    until: date | None = None
    skip: list[date] = field(default_factory=list)
    tz: str = DEFAULT_TZ

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def occurrences(self, since: datetime, before: datetime) -> list[datetime]:
        """Every occurrence (UTC) in [since, before), in order."""
        zone = self.zone
        day = max(self.start, since.astimezone(zone).date())
        last = before.astimezone(zone).date()
        if self.until is not None:
            last = min(last, self.until)
        skip = set(self.skip)
        found = []
        while day <= last:
            if day.isoweekday() in self.weekdays and day not in skip:
                for clock in sorted(self.times):
                    hour, minute = map(int, clock.split(":"))
                    at = datetime.combine(day, time(hour, minute), zone).astimezone(UTC)
                    if since <= at < before:
                        found.append(at)
            day += timedelta(days=1)
        return found

    def ends_before(self, moment: datetime) -> bool:
        """True when the last occurrence is before ``moment`` (never, without an end date)."""
        if self.until is None:
            return False
        end = datetime.combine(self.until + timedelta(days=1), time(0), self.zone)
        return end <= moment

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Repeat:
        weekdays = _require(data, "weekdays", list)
        if not weekdays or len(weekdays) > 7 or not all(
                isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in weekdays):
            raise ProtocolError("weekdays: a list of 1 (Monday) to 7 (Sunday)")
        times = _require(data, "times", list)
        if not times or len(times) > 48 or not all(isinstance(t, str) and TIME_OF_DAY_RE.match(t) for t in times):
            raise ProtocolError("times: a list of up to 48 times of day HH:MM")
        tz = _text(data, "tz", 64, optional=True) or DEFAULT_TZ
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ProtocolError(f"tz: unknown time zone {tz[:64]!r}") from None
        start = _date(data.get("start"), "start")
        until = _date(data["until"], "until") if data.get("until") is not None else None
        if until is not None and until < start:
            raise ProtocolError("until: before start")
        skip = _require(data, "skip", list, optional=True) or []
        if len(skip) > 366:
            raise ProtocolError("skip: more than 366 dates")
        return cls(weekdays=sorted(set(weekdays)), times=sorted(set(times)), start=start, until=until,
                   skip=[_date(d, "skip") for d in skip], tz=tz)


@dataclass
class ScheduleEntry(Message):
    """One broadcast a device must play."""

    TYPE: ClassVar[str] = "entry"
    broadcast_id: int
    asset: str
    title: str
    priority: str = "normal"
    play_at: datetime | None = None
    """When to start; None: as soon as the audio is on the device."""
    created_at: datetime = field(default_factory=utcnow)
    grace_s: int = 300
    """How late (seconds after play_at, or after created_at when play_at is None) it may still start."""
    stream_url: str | None = None
    """A relay: play this live stream (HTTP, Icecast, HLS) for ``window_s``; ``asset`` is the fallback
    played instead when the stream cannot be opened."""
    window_s: int | None = None
    repeat: Repeat | None = None
    """A recurring entry: played at every occurrence of ``repeat`` (``play_at`` is then null)."""

    def deadline(self) -> datetime:
        return (self.play_at or self.created_at) + timedelta(seconds=self.grace_s)

    def occurrence(self, at: datetime) -> ScheduleEntry:
        """This recurring entry's single play at ``at``."""
        return replace(self, play_at=at, repeat=None)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScheduleEntry:
        broadcast_id = _require(data, "broadcast_id", int)
        if broadcast_id <= 0:
            raise ProtocolError("broadcast_id: must be positive")
        grace = _require(data, "grace_s", int)
        if not 0 <= grace <= 7 * 86400:
            raise ProtocolError("grace_s: must be between 0 and one week")
        return cls(
            broadcast_id=broadcast_id,
            asset=_asset(data),
            title=_text(data, "title", 500) or "",
            priority=_choice(data, "priority", PRIORITIES),
            play_at=parse_time(data.get("play_at"), "play_at"),
            created_at=_time(data, "created_at"),
            grace_s=grace,
            repeat=_repeat(data),
            **_relay(data),
        )


def _repeat(data: dict[str, Any]) -> Repeat | None:
    raw = data.get("repeat")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ProtocolError("repeat: not an object")
    try:
        return Repeat.from_dict(raw)
    except ProtocolError as exc:
        raise ProtocolError(f"repeat.{exc}", exc.reason) from None


def _relay(data: dict[str, Any]) -> dict[str, Any]:
    url = _text(data, "stream_url", 500, optional=True)
    if url is None:
        return {}
    if not url.startswith(("http://", "https://")):
        raise ProtocolError("stream_url: must be an http:// or https:// URL")
    window = _require(data, "window_s", int)
    if not 1 <= window <= 86400:
        raise ProtocolError("window_s: must be between 1 s and one day")
    return {"stream_url": url, "window_s": window}


@dataclass
class Schedule(Message):
    """A device's whole upcoming schedule, retained on its schedule topic."""

    TYPE: ClassVar[str] = "schedule"
    device: str
    issued_at: datetime
    entries: list[ScheduleEntry]
    cancelled: list[int] = field(default_factory=list)
    """Broadcasts an operator stopped: cut off if playing, never started if waiting."""
    groups: list[str] = field(default_factory=list)
    """The groups the device belongs to now (its village and every area above it): it keeps a standing
    subscription to each, where emergencies for a whole area come (:class:`Alert`)."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schedule:
        raw = _require(data, "entries", list)
        if len(raw) > MAX_ENTRIES:
            raise ProtocolError(f"entries: more than {MAX_ENTRIES}")
        entries = []
        for index, item in enumerate(raw):
            if not isinstance(item, dict):
                raise ProtocolError(f"entries[{index}]: not an object")
            try:
                entries.append(ScheduleEntry.from_dict(item))
            except ProtocolError as exc:
                raise ProtocolError(f"entries[{index}].{exc}", exc.reason) from None
        cancelled = _require(data, "cancelled", list, optional=True) or []
        if len(cancelled) > MAX_ENTRIES or not all(
                isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in cancelled):
            raise ProtocolError("cancelled: must be a list of broadcast ids")
        return cls(
            device=_text(data, "device", 64) or "",
            issued_at=_time(data, "issued_at"),
            entries=entries,
            cancelled=list(cancelled),
            groups=_groups(data),
        )


def _groups(data: dict[str, Any]) -> list[str]:
    groups = _require(data, "groups", list, optional=True) or []
    if len(groups) > MAX_GROUPS or not all(isinstance(g, str) and GROUP_RE.match(g) for g in groups):
        raise ProtocolError(f"groups: must be a list of at most {MAX_GROUPS} group names [a-z0-9-]")
    return list(groups)


@dataclass
class Alert(Message):
    """An emergency for every device of a group, on ``grp/<group>/alert``: the entry and the manifest of its
    audio, whose chunks follow at once on ``grp/<group>/blob/<asset>/<seq>``. One publish reaches the whole
    group over the subscription each device already holds, instead of a schedule per device and a
    subscription made after it. Each device's own schedule lists the entry too, moments later."""

    TYPE: ClassVar[str] = "alert"
    group: str
    entry: ScheduleEntry
    manifest: Manifest

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        group = _text(data, "group", 63) or ""
        if not GROUP_RE.match(group):
            raise ProtocolError("group: not a group name")
        parts = {}
        for name, kind in (("entry", ScheduleEntry), ("manifest", Manifest)):
            raw = _require(data, name, dict)
            try:
                parts[name] = kind.from_dict(raw)
            except ProtocolError as exc:
                raise ProtocolError(f"{name}.{exc}", exc.reason) from None
        entry, manifest = parts["entry"], parts["manifest"]
        assert isinstance(entry, ScheduleEntry) and isinstance(manifest, Manifest)
        if entry.asset != manifest.asset:
            raise ProtocolError("manifest: describes another asset than the entry's")
        if entry.priority != "emergency":
            raise ProtocolError("entry.priority: an alert carries emergencies only")
        return cls(group=group, entry=entry, manifest=manifest)


@dataclass
class Manifest(Message):
    """Describes an audio asset sent in chunks on ``blob/<asset>/<seq>``."""

    TYPE: ClassVar[str] = "manifest"
    asset: str
    codec: str
    size: int
    chunk_size: int
    chunks: list[str]
    """SHA-256 (hex) of each chunk, in order."""
    duration_s: float
    url: str | None = None
    """Where the whole file can also be fetched over HTTP(S) (the same hashes check it); chunks then come over
    MQTT only when asked for."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        size = _require(data, "size", int)
        chunk_size = _require(data, "chunk_size", int)
        chunks = _require(data, "chunks", list)
        if not 1024 <= chunk_size <= 1024 * 1024:
            raise ProtocolError("chunk_size: must be between 1 KiB and 1 MiB")
        if not 0 < size <= chunk_size * MAX_CHUNKS:
            raise ProtocolError("size: out of range")
        if len(chunks) != -(-size // chunk_size):
            raise ProtocolError("chunks: count does not match size / chunk_size")
        for index, digest in enumerate(chunks):
            if not isinstance(digest, str) or not ASSET_ID_RE.match(digest):
                raise ProtocolError(f"chunks[{index}]: not a SHA-256 hex digest")
        duration = _require(data, "duration_s", (int, float))
        if not 0 <= duration <= 24 * 3600:
            raise ProtocolError("duration_s: out of range")
        return cls(
            asset=_asset(data),
            codec=_text(data, "codec", 32) or "",
            size=size,
            chunk_size=chunk_size,
            chunks=list(chunks),
            duration_s=float(duration),
            url=_url(data),
        )


def _url(data: dict[str, Any]) -> str | None:
    url = _text(data, "url", 2000, optional=True)
    if url is not None and not url.startswith(("http://", "https://")):
        raise ProtocolError("url: must be http:// or https://")
    return url


@dataclass
class Status(Message):
    """Retained availability of a device; the broker publishes ``offline`` as its Last Will."""

    TYPE: ClassVar[str] = "status"
    state: str
    ts: datetime | None = None
    version: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Status:
        return cls(
            state=_choice(data, "state", ("online", "offline")),
            ts=parse_time(data.get("ts"), "ts"),
            version=_text(data, "version", 40, optional=True),
        )


@dataclass
class Heartbeat(Message):
    """Periodic health report of a device."""

    TYPE: ClassVar[str] = "heartbeat"
    ts: datetime
    uptime_s: float
    version: str
    volume: int
    now_playing: int | None = None
    cache_bytes: int = 0
    pending: int = 0
    # Health, each null where the platform does not tell (all optional on the wire).
    load_1m: float | None = None
    cpu_temp_c: float | None = None
    mem_available_mb: int | None = None
    disk_free_mb: int | None = None
    ntp_synced: bool | None = None
    clock_offset_ms: float | None = None
    """The offset the device's NTP discipline is still correcting (kernel adjtimex), milliseconds."""
    clock_error_ms: float | None = None
    """The device kernel's estimate of its clock error, milliseconds."""
    link_quality: int | None = None
    amplifier: str | None = None
    """``on`` or ``off``: the state of the amplifier relay."""
    outbox: int = 0
    """Reports waiting on the device's disk for the link to come back."""
    enabled: bool = True
    """False while an operator has switched the cluster off."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Heartbeat:
        volume = _require(data, "volume", int)
        if not 0 <= volume <= 100:
            raise ProtocolError("volume: must be 0-100")
        link = _require(data, "link_quality", int, optional=True)
        if link is not None and not 0 <= link <= 100:
            raise ProtocolError("link_quality: must be 0-100")
        load = _require(data, "load_1m", (int, float), optional=True)
        temp = _require(data, "cpu_temp_c", (int, float), optional=True)
        offset = _require(data, "clock_offset_ms", (int, float), optional=True)
        error = _require(data, "clock_error_ms", (int, float), optional=True)
        amplifier = data.get("amplifier")
        if amplifier is not None and amplifier not in ("on", "off"):
            raise ProtocolError("amplifier: must be on, off or null")
        return cls(
            ts=_time(data, "ts"),
            uptime_s=float(_require(data, "uptime_s", (int, float))),
            version=_text(data, "version", 40) or "",
            volume=volume,
            now_playing=_require(data, "now_playing", int, optional=True),
            cache_bytes=_require(data, "cache_bytes", int),
            pending=_require(data, "pending", int),
            load_1m=float(load) if load is not None else None,
            cpu_temp_c=float(temp) if temp is not None else None,
            mem_available_mb=_require(data, "mem_available_mb", int, optional=True),
            disk_free_mb=_require(data, "disk_free_mb", int, optional=True),
            ntp_synced=_require(data, "ntp_synced", bool, optional=True),
            clock_offset_ms=float(offset) if offset is not None else None,
            clock_error_ms=float(error) if error is not None else None,
            link_quality=link,
            amplifier=amplifier,
            outbox=_require(data, "outbox", int, optional=True) or 0,
            enabled=_require(data, "enabled", bool, optional=True) is not False,
        )


@dataclass
class Command(Message):
    """A device setting, signed and retained on ``dev/<id>/cmd`` so a receiver that was offline gets the
    latest when it reconnects (applying it twice changes nothing)."""

    TYPE: ClassVar[str] = "command"
    action: str
    issued_at: datetime
    volume: int | None = None
    """The output volume, 0-100, kept across reboots (null in ``settings``: the receiver's own)."""
    enabled: bool | None = None
    """``settings``: false switches the cluster off (silent for all but emergencies), kept across reboots."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Command:
        action = _choice(data, "action", COMMAND_ACTIONS)
        volume = _require(data, "volume", int, optional=action == "settings")
        if volume is not None and not 0 <= volume <= 100:
            raise ProtocolError("volume: must be 0-100")
        enabled = _require(data, "enabled", bool, optional=True)
        return cls(action=action, issued_at=_time(data, "issued_at"), volume=volume, enabled=enabled)


@dataclass
class Refused(Message):
    """A device refused a message from the server (bad signature, replay, malformed...), and says why."""

    TYPE: ClassVar[str] = "refused"
    ts: datetime
    topic: str
    reason: str
    detail: str = ""
    historical: bool = False
    """Made while the device was offline and sent when the link came back."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Refused:
        return cls(
            ts=_time(data, "ts"),
            topic=_text(data, "topic", 300) or "",
            reason=_text(data, "reason", 40) or "",
            detail=_text(data, "detail", 500, optional=True) or "",
            historical=_historical(data),
        )


@dataclass
class Delivery(Message):
    """The audio of a broadcast is on the device (or could not be fetched)."""

    TYPE: ClassVar[str] = "delivery"
    broadcast_id: int
    asset: str
    state: str
    ts: datetime
    error: str | None = None
    historical: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Delivery:
        return cls(
            broadcast_id=_require(data, "broadcast_id", int),
            asset=_asset(data),
            state=_choice(data, "state", DELIVERY_STATES),
            ts=_time(data, "ts"),
            error=_text(data, "error", 500, optional=True),
            historical=_historical(data),
        )


@dataclass
class Playback(Message):
    """A broadcast started, finished, was missed or failed on the device; times are the device's."""

    TYPE: ClassVar[str] = "playback"
    broadcast_id: int
    state: str
    ts: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    historical: bool = False
    occurrence: datetime | None = None
    """For a recurring broadcast: which occurrence (its planned time) this report is about."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Playback:
        return cls(
            broadcast_id=_require(data, "broadcast_id", int),
            state=_choice(data, "state", PLAYBACK_STATES),
            ts=_time(data, "ts"),
            started_at=parse_time(data.get("started_at"), "started_at"),
            finished_at=parse_time(data.get("finished_at"), "finished_at"),
            error=_text(data, "error", 500, optional=True),
            historical=_historical(data),
            occurrence=parse_time(data.get("occurrence"), "occurrence"),
        )


@dataclass
class ChunkRequest(Message):
    """A device asks the server to publish these chunks of an asset again (none listed: everything)."""

    TYPE: ClassVar[str] = "chunk_request"
    asset: str
    seqs: list[int]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChunkRequest:
        seqs = _require(data, "seqs", list)
        if len(seqs) > MAX_CHUNKS:
            raise ProtocolError(f"seqs: more than {MAX_CHUNKS} items")
        if not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < MAX_CHUNKS for s in seqs):
            raise ProtocolError("seqs: chunk numbers must be integers in range")
        return cls(asset=_asset(data), seqs=sorted(set(seqs)))


_TYPES: dict[str, type[Message]] = {
    cls.TYPE: cls
    for cls in (Schedule, Manifest, Alert, Status, Heartbeat, Delivery, Playback, ChunkRequest, Refused, Command)
}


def decode(payload: bytes) -> Message:
    """Decode any message by its ``type``; raises ProtocolError with a reason."""
    data = load_object(payload)
    kind = data.get("type")
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ProtocolError(f"unknown message type {str(kind)[:40]!r}")
    return cls.from_dict(data)


