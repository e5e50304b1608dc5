"""The reports a device sends (status, heartbeats, deliveries, playbacks, refusals, requests for chunks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from edge_agent.protocol.fields import (
    DELIVERY_STATES,
    MAX_CHUNKS,
    PLAYBACK_STATES,
    Message,
    ProtocolError,
    _asset,
    _choice,
    _historical,
    _require,
    _text,
    _time,
    parse_time,
)


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
