"""The messages the server sends (schedules, alerts, manifests, commands), typed JSON.

Every message has ``v`` (protocol version) and ``type``.

``from_bytes`` never raises anything but :class:`ProtocolError`, whose text says what was wrong,
so a malformed payload is refused with a reason instead of crashing a callback.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge_agent.protocol.fields import (
    COMMAND_ACTIONS,
    DEFAULT_TZ,
    MAX_CHUNKS,
    MAX_ENTRIES,
    MAX_GROUPS,
    PRIORITIES,
    TIME_OF_DAY_RE,
    Message,
    ProtocolError,
    _asset,
    _choice,
    _date,
    _require,
    _text,
    _time,
    parse_time,
    utcnow,
)
from edge_agent.protocol.topics import ASSET_ID_RE, GROUP_RE


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
