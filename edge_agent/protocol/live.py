"""Live broadcasting on the wire: a session's signed start and stop, and its audio in signed packets.

A session goes to every device of a group on the group's topics, which each device already holds a
subscription to (``grp/<group>/#``):

- ``grp/<group>/live``: a signed :class:`LiveStart` (retained, so a device that (re)connects during the session
  joins it), then a signed :class:`LiveStop` (retained too, so one that comes back afterwards knows it ended);
- ``grp/<group>/live/audio``: the audio, Opus frames grouped into :class:`LivePacket` s, each signed with the
  server's key (QoS 0, not retained: a late packet is worth nothing).

A packet is bound to its session, its place in the session (``seq``, which only grows) and its topic, so
nobody who can publish on the broker can inject audio, replay a packet or move one to another group.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from edge_agent.protocol.fields import (
    PRIORITIES,
    Message,
    ProtocolError,
    _choice,
    _require,
    _text,
    _time,
)
from edge_agent.protocol.topics import DEVICE_ID_RE, GROUP_RE

SESSION_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
FRAME_MS = (20, 40, 60)
MAX_LIVE_S = 4 * 3600
MAX_FRAMES = 50
"""Most frames one packet carries (a second of 20 ms frames)."""
MAX_FRAME_BYTES = 1275
"""The largest Opus frame (RFC 6716)."""
MAGIC = b"LXL1"
_HEAD = struct.Struct(">4s8sIIQB")
SIGNATURE_BYTES = 64


def kid_bytes(kid: str) -> bytes:
    """A key id (16 hex digits, as in ``sig.kid``) as the 8 bytes a packet carries."""
    return bytes.fromhex(kid)


@dataclass
class LiveStart(Message):
    """A live session begins for the devices of ``group`` (all of them, or those in ``devices``)."""

    TYPE: ClassVar[str] = "live_start"
    session: str
    broadcast_id: int
    group: str
    priority: str
    title: str
    started_at: datetime
    max_s: int
    """The longest it may last: a device whose session never stops ends it then."""
    frame_ms: int = 20
    devices: list[str] | None = None
    """Only these devices of the group play it (clusters chosen one by one); None: every device of the group."""
    codec: str = "opus"

    def for_device(self, device_id: str) -> bool:
        return self.devices is None or device_id in self.devices

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LiveStart:
        session, group = _session(data), _group(data)
        broadcast_id = _require(data, "broadcast_id", int)
        if broadcast_id <= 0:
            raise ProtocolError("broadcast_id: must be positive")
        max_s = _require(data, "max_s", int)
        if not 1 <= max_s <= MAX_LIVE_S:
            raise ProtocolError(f"max_s: must be between 1 s and {MAX_LIVE_S} s")
        frame_ms = _require(data, "frame_ms", int)
        if frame_ms not in FRAME_MS:
            raise ProtocolError(f"frame_ms: must be one of {', '.join(map(str, FRAME_MS))}")
        if _text(data, "codec", 16) != "opus":
            raise ProtocolError("codec: only opus is spoken")
        devices = _require(data, "devices", list, optional=True)
        if devices is not None and (len(devices) > 5000 or not all(
                isinstance(d, str) and DEVICE_ID_RE.match(d) for d in devices)):
            raise ProtocolError("devices: a list of device ids, or null")
        return cls(session=session, broadcast_id=broadcast_id, group=group,
                   priority=_choice(data, "priority", PRIORITIES), title=_text(data, "title", 500) or "",
                   started_at=_time(data, "started_at"), max_s=max_s, frame_ms=frame_ms, devices=devices)


@dataclass
class LiveStop(Message):
    """The live session ended (the speaker stopped, an operator stopped it, or it reached its limit)."""

    TYPE: ClassVar[str] = "live_stop"
    session: str
    broadcast_id: int
    group: str
    ended_at: datetime

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LiveStop:
        broadcast_id = _require(data, "broadcast_id", int)
        if broadcast_id <= 0:
            raise ProtocolError("broadcast_id: must be positive")
        return cls(session=_session(data), broadcast_id=broadcast_id, group=_group(data),
                   ended_at=_time(data, "ended_at"))


def _session(data: dict[str, Any]) -> str:
    session = _text(data, "session", 40) or ""
    if not SESSION_RE.match(session):
        raise ProtocolError("session: 1-40 characters a-z, 0-9 and -")
    return session


def _group(data: dict[str, Any]) -> str:
    group = _text(data, "group", 63) or ""
    if not GROUP_RE.match(group):
        raise ProtocolError("group: not a group name")
    return group


@dataclass
class LivePacket:
    """A run of consecutive Opus frames of one session, signed for one topic.

    Bytes, big-endian: ``LXL1``, the signing key's id (8 bytes), ``seq`` (u32, grows by one each packet of the
    session), ``first`` (u32, the number of the first frame since the session began), ``stamp_ms`` (u64, when
    the server had the first frame, ms since 1970, its clock), the frame count (u8), the session id (u8 length,
    ASCII), each frame's length (u16 each), the frames, then the Ed25519 signature (64 bytes) of the topic's
    UTF-8 bytes, a newline, and every byte before the signature."""

    session: str
    seq: int
    first: int
    stamp_ms: int
    frames: list[bytes] = field(default_factory=list)

    def body(self, kid: str) -> bytes:
        session = self.session.encode("ascii")
        return (_HEAD.pack(MAGIC, kid_bytes(kid), self.seq, self.first, self.stamp_ms, len(self.frames))
                + bytes([len(session)]) + session + b"".join(struct.pack(">H", len(f)) for f in self.frames)
                + b"".join(self.frames))

    @staticmethod
    def signed_bytes(topic: str, body: bytes) -> bytes:
        return topic.encode("utf-8") + b"\n" + body

    @classmethod
    def parse(cls, payload: bytes) -> tuple[LivePacket, str, bytes, bytes]:
        """(packet, key id, the bytes the signature covers but the topic, signature); ProtocolError (reason
        ``malformed``) for anything that is not a well-formed packet."""
        if len(payload) < _HEAD.size + 1 + SIGNATURE_BYTES or not payload.startswith(MAGIC):
            raise ProtocolError("not a live audio packet")
        _, kid, seq, first, stamp_ms, count = _HEAD.unpack_from(payload)
        offset = _HEAD.size
        size = payload[offset]
        session = payload[offset + 1:offset + 1 + size]
        offset += 1 + size
        if not 1 <= count <= MAX_FRAMES or len(payload) < offset + 2 * count + SIGNATURE_BYTES:
            raise ProtocolError("live packet: frame count out of range")
        lengths = struct.unpack_from(f">{count}H", payload, offset)
        offset += 2 * count
        body_end = len(payload) - SIGNATURE_BYTES
        if any(not 1 <= n <= MAX_FRAME_BYTES for n in lengths) or offset + sum(lengths) != body_end:
            raise ProtocolError("live packet: frame lengths do not add up")
        try:
            name = session.decode("ascii")
        except UnicodeDecodeError:
            name = ""
        if not SESSION_RE.match(name):
            raise ProtocolError("live packet: bad session id")
        frames = []
        for length in lengths:
            frames.append(payload[offset:offset + length])
            offset += length
        return cls(name, seq, first, stamp_ms, frames), kid.hex(), payload[:body_end], payload[body_end:]


def admit(packet: LivePacket, newest: int | None) -> None:
    """The receiver's check of a verified packet against what it holds: ``newest`` is the ``seq`` of the newest
    packet it took of that session on that topic (-1 for none yet), None when it never had the session's
    signed start. Raises ProtocolError with the refusal to report."""
    if newest is None:
        raise ProtocolError(f"live audio of session {packet.session!r}, which never began here", "unknown_session")
    if packet.seq <= newest:
        raise ProtocolError(f"live packet {packet.seq} of {packet.session!r} after {newest}", "replayed")


def session_id(broadcast_id: int, secret: bytes) -> str:
    """A session's name on the wire: the broadcast it belongs to and a part no one can guess beforehand."""
    return f"b{broadcast_id}-{hashlib.sha256(secret).hexdigest()[:12]}"
