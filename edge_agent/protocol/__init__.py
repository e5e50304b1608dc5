"""The MQTT wire contract shared by the broadcaster and the edge agent.

Standard library only, so a receiver installs it without any server dependency.
See docs/protocol.md for the prose version of this module.
"""

from edge_agent.protocol.messages import (
    PRIORITIES,
    PROTOCOL_VERSION,
    ChunkRequest,
    Delivery,
    Heartbeat,
    Manifest,
    Message,
    Playback,
    ProtocolError,
    Schedule,
    ScheduleEntry,
    Status,
    decode,
)
from edge_agent.protocol.topics import Topics

__all__ = [
    "PRIORITIES",
    "PROTOCOL_VERSION",
    "ChunkRequest",
    "Delivery",
    "Heartbeat",
    "Manifest",
    "Message",
    "Playback",
    "ProtocolError",
    "Schedule",
    "ScheduleEntry",
    "Status",
    "Topics",
    "decode",
]
