"""Any message from its bytes, told apart by its ``type``."""

from __future__ import annotations

from edge_agent.protocol.fields import Message, ProtocolError, load_object
from edge_agent.protocol.live import LiveStart, LiveStop
from edge_agent.protocol.messages import Alert, Command, Manifest, Schedule
from edge_agent.protocol.reports import ChunkRequest, Delivery, Heartbeat, Playback, Refused, Status

_TYPES: dict[str, type[Message]] = {
    cls.TYPE: cls
    for cls in (Schedule, Manifest, Alert, Status, Heartbeat, Delivery, Playback, ChunkRequest, Refused, Command,
                LiveStart, LiveStop)
}


def decode(payload: bytes) -> Message:
    """Decode any message by its ``type``; raises ProtocolError with a reason."""
    data = load_object(payload)
    kind = data.get("type")
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ProtocolError(f"unknown message type {str(kind)[:40]!r}")
    return cls.from_dict(data)
