"""The MQTT wire contract shared by the broadcaster and the edge agent.

Standard library plus ``cryptography`` (Ed25519 signatures), so a receiver installs it without any server
dependency.
See docs/protocol.md for the prose version of this module.
"""

from edge_agent.protocol.decoding import decode
from edge_agent.protocol.fields import PRIORITIES, PROTOCOL_VERSION, Message, ProtocolError
from edge_agent.protocol.messages import Alert, Command, Manifest, Repeat, Schedule, ScheduleEntry
from edge_agent.protocol.reports import ChunkRequest, Delivery, Heartbeat, Playback, Refused, Status
from edge_agent.protocol.topics import Topics

__all__ = [
    "PRIORITIES",
    "PROTOCOL_VERSION",
    "Alert",
    "ChunkRequest",
    "Command",
    "Delivery",
    "Heartbeat",
    "Manifest",
    "Message",
    "Playback",
    "ProtocolError",
    "Refused",
    "Repeat",
    "Schedule",
    "ScheduleEntry",
    "Status",
    "Topics",
    "decode",
]
