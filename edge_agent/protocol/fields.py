"""The protocol's ground: its version and limits, ``ProtocolError``, times on the wire, the readers that check
each field, and ``Message``, the JSON envelope every message shares."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Self

from edge_agent.protocol.topics import ASSET_ID_RE

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
