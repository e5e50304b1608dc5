"""The wire contract: every message round-trips, and every malformed payload is refused with a reason."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from edge_agent.protocol import (
    Alert,
    ChunkRequest,
    ProtocolError,
    Schedule,
    Status,
    Topics,
    decode,
)
from edge_agent.protocol.topics import covers
from tests.support.messages import ASSET, MESSAGES, NOW, entry


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: object) -> None:
    payload = message.to_bytes()  # type: ignore[attr-defined]
    decoded = decode(payload)
    if isinstance(message, ChunkRequest) and message.seqs:
        assert decoded == ChunkRequest(ASSET, [1, 3]), "chunk numbers come back sorted and unique"
    else:
        assert decoded == message
    assert json.loads(payload)["v"] == 1


def test_vietnamese_stays_readable_on_the_wire() -> None:
    payload = Schedule("loa-01", NOW, [entry()]).to_bytes()
    assert "Thông báo tiêm phòng".encode() in payload


def test_deadline_is_grace_after_play_at_or_creation() -> None:
    assert entry().deadline() == NOW + timedelta(seconds=120)
    assert entry(play_at=None, created_at=NOW).deadline() == NOW + timedelta(seconds=120)


def good_entry() -> dict[str, object]:
    return entry().to_dict()


def schedule_with(**entry_changes: object) -> bytes:
    item = good_entry()
    item.update(entry_changes)
    return json.dumps({"v": 1, "type": "schedule", "device": "loa-01", "issued_at": "2026-11-22T06:00:00Z",
                       "entries": [item]}).encode()


@pytest.mark.parametrize(("payload", "reason"), [
    (b"", "not UTF-8 JSON"),
    (b"\xff\xfe\x00", "not UTF-8 JSON"),
    (b"[]", "not a JSON object"),
    (b'{"type": "status", "state": "online"}', "unsupported protocol version"),
    (b'{"v": 2, "type": "status", "state": "online"}', "unsupported protocol version"),
    (b'{"v": 1, "type": "launch_missiles"}', "unknown message type"),
    (b'{"v": 1, "type": "status", "state": "maybe"}', "state"),
    (b'{"v": 1, "type": "status", "state": "online", "ts": "yesterday"}', "not an ISO 8601 time"),
    (b'{"v": 1, "type": "status", "state": "online", "ts": "2026-01-01T00:00:00"}', "without an offset"),
    (schedule_with(broadcast_id=True), "broadcast_id"),
    (schedule_with(broadcast_id=-1), "broadcast_id"),
    (schedule_with(broadcast_id="7"), "broadcast_id"),
    (schedule_with(asset="../../etc/passwd"), "asset"),
    (schedule_with(priority="urgent"), "priority"),
    (schedule_with(grace_s=10**9), "grace_s"),
    (schedule_with(title="x" * 1000), "title"),
    (b'{"v": 1, "type": "schedule", "device": "loa-01", "issued_at": "2026-11-22T06:00:00Z", "entries": [1]}',
     "entries[0]: not an object"),
    (b'{"v": 1, "type": "manifest", "asset": "' + ASSET.encode() + b'", "codec": "opus", "size": 70000,'
     b' "chunk_size": 65536, "chunks": ["' + b"cd" * 32 + b'"], "duration_s": 1}', "count does not match"),
    (b'{"v": 1, "type": "manifest", "asset": "' + ASSET.encode() + b'", "codec": "opus", "size": 10,'
     b' "chunk_size": 10, "chunks": ["' + b"cd" * 32 + b'"], "duration_s": 1}', "chunk_size"),
    (b'{"v": 1, "type": "heartbeat", "ts": "2026-11-22T06:00:00Z", "uptime_s": 1, "version": "1",'
     b' "volume": 101, "cache_bytes": 0, "pending": 0}', "volume"),
    (b'{"v": 1, "type": "heartbeat", "ts": "2026-11-22T06:00:00Z", "uptime_s": NaN, "version": "1",'
     b' "volume": 1, "cache_bytes": 0, "pending": 0}', "finite"),
    (b'{"v": 1, "type": "chunk_request", "asset": "' + ASSET.encode() + b'", "seqs": [-1]}', "seqs"),
    (b"[" * 100000 + b"]" * 100000, "not"),
    (b'{"v": 1, "type": "command", "action": "volume", "issued_at": "2026-11-22T06:00:00Z", "volume": 120}',
     "volume"),
    (b'{"v": 1, "type": "command", "action": "self_destruct", "issued_at": "2026-11-22T06:00:00Z"}', "action"),
    (b'{"v": 1, "type": "schedule", "device": "loa-01", "issued_at": "2026-11-22T06:00:00Z", "entries": [],'
     b' "cancelled": [0, true]}', "cancelled"),
    (b'{"v": 1, "type": "schedule", "device": "loa-01", "issued_at": "2026-11-22T06:00:00Z", "entries": [],'
     b' "groups": ["a1", "../#"]}', "groups"),
    (Alert("a1", entry(priority="normal"), MESSAGES[1]).to_bytes(), "emergencies only"),  # type: ignore[arg-type]
    (Alert("a1", entry(asset="cd" * 32), MESSAGES[1]).to_bytes(), "another asset"),  # type: ignore[arg-type]
    (Alert("a+", entry(), MESSAGES[1]).to_bytes(), "group"),  # type: ignore[arg-type]
    (b'{"v": 1, "type": "alert", "group": "a1", "entry": {}, "manifest": {}}', "entry.missing field"),
])
def test_malformed_payloads_are_refused_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        decode(payload)


def test_typed_decoding_refuses_another_message_type() -> None:
    with pytest.raises(ProtocolError, match="expected a 'schedule' message"):
        Schedule.from_bytes(Status("online").to_bytes())


def test_topics_build_and_parse() -> None:
    topics = Topics("loaxa")
    assert topics.schedule("loa-01") == "loaxa/dev/loa-01/schedule"
    assert topics.device_of("loaxa/dev/loa-01/evt/playback") == "loa-01"
    assert topics.device_of("loaxa/dev/LOA/evt/playback") is None, "device ids are lowercase"
    assert topics.device_of("other/dev/loa-01/hb") is None
    assert topics.blob_of(topics.chunk(ASSET, 3)) == (ASSET, "3")
    assert topics.blob_of(topics.manifest(ASSET)) == (ASSET, "manifest")
    assert topics.blob_of("loaxa/blob/nothex/3") is None
    assert topics.group_of(topics.alert("a12")) == ("a12", None, "alert")
    assert topics.group_of(topics.group_chunk("a12", ASSET, 4)) == ("a12", ASSET, "4")
    assert topics.group_of("loaxa/grp/a12/blob/nothex/4") is None
    assert topics.group_of("loaxa/grp/A/alert") is None
    assert topics.group_of("loaxa/grp/a12/other") is None
    assert topics.report_of(topics.event("loa-01", "playback")) == ("loa-01", "evt/playback")
    assert topics.report_of(topics.request("loa-01")) == ("loa-01", "req")
    assert topics.report_of(topics.heartbeat("loa-01")) == ("loa-01", "hb")
    assert topics.report_of(topics.schedule("loa-01")) is None, "a schedule is not a report"
    assert topics.report_of("loaxa/dev/loa-01/evt/a/b") is None
    assert topics.report_of("loaxa/dev/loa-01/evt/") is None


@pytest.mark.parametrize(("granted", "wanted", "expected"), [
    ("loaxa/#", "loaxa", True),
    ("loaxa/#", "loaxa/dev/loa-01/hb", True),
    ("loaxa/#", "other/dev", False),
    ("loaxa/blob/#", "loaxa/blob/abc/+", True),
    ("loaxa/blob/#", "loaxa/#", False),
    ("loaxa/dev/+/hb", "loaxa/dev/loa-01/hb", True),
    ("loaxa/dev/+/hb", "loaxa/dev/+/hb", True),
    ("loaxa/dev/loa-01/hb", "loaxa/dev/+/hb", False),
    ("loaxa/dev/loa-01/hb", "loaxa/dev/loa-01/hb/x", False),
    ("loaxa/dev/loa-01/evt/#", "loaxa/dev/loa-01/evt/playback", True),
    ("loaxa/dev/loa-01/evt/#", "loaxa/dev/loa-02/evt/playback", False),
])
def test_a_topic_filter_covers_what_it_takes_in(granted: str, wanted: str, expected: bool) -> None:
    assert covers(granted, wanted) is expected
