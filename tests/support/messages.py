"""One example of every message on the wire (server to device and back), for round-trip and fuzz tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge_agent.protocol import (
    Alert,
    ChunkRequest,
    Command,
    Delivery,
    Heartbeat,
    Manifest,
    Playback,
    Refused,
    Schedule,
    ScheduleEntry,
    Status,
)

NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


ASSET = "ab" * 32


def entry(**changes: object) -> ScheduleEntry:
    values: dict[str, object] = {"broadcast_id": 7, "asset": ASSET, "title": "Thông báo tiêm phòng",
                                 "priority": "emergency", "play_at": NOW, "created_at": NOW, "grace_s": 120}
    values.update(changes)
    return ScheduleEntry(**values)  # type: ignore[arg-type]


MESSAGES = [
    Schedule("loa-01", NOW, [entry(), entry(broadcast_id=8, play_at=None, priority="normal")]),
    Manifest(ASSET, "opus", 70000, 65536, ["cd" * 32, "ef" * 32], 12.5),
    Status("online", NOW, "0.1.0"),
    Status("offline"),
    Heartbeat(NOW, 12.5, "0.1.0", 80, 7, 1234, 2),
    Delivery(7, ASSET, "delivered", NOW),
    Delivery(7, ASSET, "failed", NOW, "disk full"),
    Playback(7, "played", NOW, NOW, NOW + timedelta(seconds=12)),
    Playback(7, "missed", NOW, error="too late to play"),
    ChunkRequest(ASSET, [3, 1]),
    ChunkRequest(ASSET, []),
    Schedule("loa-01", NOW, [], cancelled=[5, 6]),
    Playback(7, "interrupted", NOW, NOW, NOW + timedelta(seconds=3), "interrupted by emergency broadcast 9"),
    Playback(7, "cancelled", NOW, error="stopped by the operator before it played"),
    Command("volume", NOW, volume=35),
    Refused(NOW, "loaxa/dev/loa-01/schedule", "bad_signature", "the signature does not match"),
    Schedule("loa-01", NOW, [entry()], groups=["a4", "a1"]),
    Alert("a1", entry(broadcast_id=9, priority="emergency", play_at=None),
          Manifest(ASSET, "opus", 70000, 65536, ["cd" * 32, "ef" * 32], 12.5)),
]
