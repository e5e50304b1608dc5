"""Write vectors.json: messages as the server sends them, the exact bytes each signature covers, and what a
receiver must do with each (docs/protocol.md). Run: python tests/data/conformance/make_vectors.py [OUT]

Independent of the project's own signing code on purpose: the bytes each signature covers are written out by
hand below from the rules in docs/protocol.md (RFC 8785), and signed with the `cryptography` package alone.
tests/edge_agent/protocol/test_conformance_vectors.py then checks that our canonical form gives these same
bytes and that our receiver accepts and refuses exactly as listed. Ed25519 signatures are deterministic, so
running this again writes the same file. The keys are test keys, derived from fixed phrases: never trust them anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = Path(__file__).parent
CHUNK_SIZE = 1024
NOW = "2026-11-22T06:30:00.000Z"
"""The receiver's clock for every case."""


def key(phrase: bytes) -> tuple[Ed25519PrivateKey, str, str]:
    private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(phrase).digest())
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private, base64.b64encode(raw).decode(), hashlib.sha256(raw).hexdigest()[:16]


SERVER, SERVER_PUBLIC, KID = key(b"loaxa conformance server key (test only)")
STRANGER, STRANGER_PUBLIC, STRANGER_KID = key(b"loaxa conformance stranger key (test only)")

audio = (HERE / "asset.opus").read_bytes()
ASSET = hashlib.sha256(audio).hexdigest()
CHUNKS = [hashlib.sha256(audio[i:i + CHUNK_SIZE]).hexdigest() for i in range(0, len(audio), CHUNK_SIZE)]
CHUNK_LIST = ",".join(f'"{c}"' for c in CHUNKS)


def sign(private: Ed25519PrivateKey, topic: str, canonical: str) -> str:
    return base64.b64encode(private.sign(topic.encode() + b"\n" + canonical.encode())).decode()


def with_value(canonical: str, value: str) -> str:
    """The message as the server sends it: the canonical form with sig.value added (still canonical, as
    "value" sorts after "seq")."""
    assert canonical.endswith("}") and '"sig":{' in canonical
    head, tail = canonical.split('"sig":{', 1)
    inner, rest = tail.split("}", 1)
    return f'{head}"sig":{{{inner},"value":"{value}"}}{rest}'


DEVICE = "thon-dong-01"
OTHER = "thon-doai-02"
SCHEDULE_TOPIC = f"loaxa/dev/{DEVICE}/schedule"
SEQ = 1763791200000000

# A schedule: nested objects, keys in sorted order at every level, a quote, a backslash, a new line and
# Vietnamese letters (as is, not \u-escaped).
SCHEDULE = (
    '{"cancelled":[40],"device":"thon-dong-01","entries":[{"asset":"' + ASSET + '","broadcast_id":42,'
    '"created_at":"2026-11-22T06:00:00.000Z","grace_s":300,"play_at":"2026-11-22T07:00:00.000Z",'
    '"priority":"normal","title":"Lịch tiêm phòng \\"đợt 2\\"\\nTrạm y tế\\\\thôn Đông","type":"entry","v":1}],'
    '"groups":["a12","a3"],"issued_at":"2026-11-22T06:00:00.000Z",'
    '"sig":{"exp":"2026-12-22T06:00:00.000Z","kid":"' + KID + '","seq":' + str(SEQ) + '},"type":"schedule","v":1}'
)

# The manifest of asset.opus. duration_s is 2.0 s: JCS writes the number 2.0 as 2.
MANIFEST_TOPIC = f"loaxa/blob/{ASSET}/manifest"
MANIFEST = (
    '{"asset":"' + ASSET + '","chunk_size":' + str(CHUNK_SIZE) + ',"chunks":[' + CHUNK_LIST + '],'
    '"codec":"opus","duration_s":2,"sig":{"exp":"2026-12-22T06:00:00.000Z","kid":"' + KID + '","seq":'
    + str(SEQ + 1) + '},"size":' + str(len(audio)) + ',"type":"manifest","v":1}'
)
# The same manifest as another encoder may send it: spaces, another key order, 2.0 for the duration. The
# signature is over the canonical form, not over the bytes received, so it still verifies.
MANIFEST_LOOSE = json.dumps({
    "v": 1, "type": "manifest", "asset": ASSET, "codec": "opus", "size": len(audio), "chunk_size": CHUNK_SIZE,
    "chunks": CHUNKS, "duration_s": 2.0,
    "sig": {"value": "@", "seq": SEQ + 1, "kid": KID, "exp": "2026-12-22T06:00:00.000Z"}}, indent=1)

# A command: booleans and small integers.
COMMAND_TOPIC = f"loaxa/dev/{DEVICE}/cmd"
COMMAND = ('{"action":"settings","enabled":false,"issued_at":"2026-11-22T06:10:00.000Z",'
           '"sig":{"exp":"2026-12-22T06:10:00.000Z","kid":"' + KID + '","seq":' + str(SEQ + 2) + '},'
           '"type":"command","v":1,"volume":60}')

# An alert to group a12: a tab, a control character (U+001F, written \u001f), a character outside the BMP
# (as is) and a fraction (2.25).
ALERT_TOPIC = "loaxa/grp/a12/alert"
ALERT = (
    '{"entry":{"asset":"' + ASSET + '","broadcast_id":57,"created_at":"2026-11-22T06:25:00.000Z","grace_s":300,'
    '"play_at":null,"priority":"emergency","title":"Khẩn cấp 🚨\\tbão số 3\\u001f","type":"entry","v":1},'
    '"group":"a12","manifest":{"asset":"' + ASSET + '","chunk_size":' + str(CHUNK_SIZE) + ',"chunks":['
    + CHUNK_LIST + '],"codec":"opus","duration_s":2.25,"size":' + str(len(audio)) + ',"type":"manifest","v":1},'
    '"sig":{"exp":"2026-11-22T06:55:00.000Z","kid":"' + KID + '","seq":' + str(SEQ + 3) + '},"type":"alert","v":1}'
)


# A live session's signed start on group a12's live topic (retained), and its audio: packets of Opus frames,
# each signed over the topic, a new line and every byte before the signature (docs/protocol.md, "Live").
LIVE_TOPIC = "loaxa/grp/a12/live"
AUDIO_TOPIC = "loaxa/grp/a12/live/audio"
SESSION = "b61-5e55f0a1b2c3"
LIVE_START = (
    '{"broadcast_id":61,"codec":"opus","devices":null,"frame_ms":20,"group":"a12","max_s":900,'
    '"priority":"emergency","session":"' + SESSION + '",'
    '"sig":{"exp":"2026-11-22T06:55:00.000Z","kid":"' + KID + '","seq":' + str(SEQ + 4) + '},'
    '"started_at":"2026-11-22T06:29:58.000Z","title":"Chủ tịch xã nói trực tiếp","type":"live_start","v":1}'
)
FRAMES = [bytes.fromhex("fc5e7a10"), bytes.fromhex("fcff01020304")]
"""Two 20 ms Opus frames (their first byte says so: CELT, 20 ms, one frame); their content is not checked."""


def live_body(private_kid: str, session: str, seq: int, first: int) -> bytes:
    """A packet before its signature, byte by byte as docs/protocol.md lays it out."""
    name = session.encode("ascii")
    return (b"LXL1" + bytes.fromhex(private_kid) + seq.to_bytes(4, "big") + first.to_bytes(4, "big")
            + (1763792998000).to_bytes(8, "big") + bytes([len(FRAMES)]) + bytes([len(name)]) + name
            + b"".join(len(f).to_bytes(2, "big") for f in FRAMES) + b"".join(FRAMES))


def packet_case(name: str, expect: str, note: str, *, private: Ed25519PrivateKey = SERVER, kid: str = KID,
                session: str = SESSION, seq: int = 7, sent_on: str = AUDIO_TOPIC,
                newest: dict[str, int] | None = None, flip: int | None = None) -> dict[str, Any]:
    body = live_body(kid, session, seq, 56)
    signed = AUDIO_TOPIC.encode() + b"\n" + body
    wire = bytearray(body + private.sign(signed))
    if flip is not None:
        wire[flip] ^= 0x01
    return {"name": name, "note": note, "topic": sent_on, "payload_b64": base64.b64encode(bytes(wire)).decode(),
            "signed_bytes_b64": base64.b64encode(signed).decode(),
            "receiver": {"device_id": DEVICE, "now": NOW, "live_sessions":
                         newest if newest is not None else {SESSION: 6}}, "expect": expect}


def schedule_like(**changes: str) -> str:
    text = SCHEDULE
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    return text


def case(name: str, topic: str, canonical: str, expect: str, note: str, *, private: Ed25519PrivateKey = SERVER,
         sent_on: str | None = None, device: str = DEVICE, newest_seq: int = 0, payload: str | None = None,
         tamper: tuple[str, str] | None = None) -> dict[str, Any]:
    value = sign(private, topic, canonical)
    wire = payload.replace('"@"', f'"{value}"') if payload else with_value(canonical, value)
    if tamper:
        assert tamper[0] in wire
        wire = wire.replace(tamper[0], tamper[1])
    return {"name": name, "note": note, "topic": sent_on or topic, "payload": wire,
            "signed_bytes": f"{topic}\n{canonical}", "receiver": {"device_id": device, "now": NOW,
                                                                    "newest_seq_on_topic": newest_seq},
            "expect": expect}


CASES = [
    case("schedule", SCHEDULE_TOPIC, SCHEDULE, "accept", "nested keys sorted; quote, backslash, new line escaped"),
    case("manifest", MANIFEST_TOPIC, MANIFEST, "accept", "the manifest of asset.opus; 2.0 is written 2"),
    case("manifest_as_another_encoder_writes_it", MANIFEST_TOPIC, MANIFEST, "accept",
         "spaces, other key order, 2.0: verify the canonical form, never the bytes received",
         payload=MANIFEST_LOOSE),
    case("command", COMMAND_TOPIC, COMMAND, "accept", "false and integers"),
    case("alert", ALERT_TOPIC, ALERT, "accept", "a tab, \\u001f, a character beyond the BMP, 2.25"),
    case("redelivered", SCHEDULE_TOPIC, SCHEDULE, "accept",
         "the same seq as the newest accepted on the topic is the same message again", newest_seq=SEQ),
    case("replayed", SCHEDULE_TOPIC, SCHEDULE, "replayed", "an older seq than the newest accepted on this topic",
         newest_seq=SEQ + 10),
    case("unsigned", SCHEDULE_TOPIC, SCHEDULE, "unsigned", "no sig at all",
         tamper=(',"sig":{', ',"nosig":{')),
    case("unknown_key", SCHEDULE_TOPIC, schedule_like(**{KID: STRANGER_KID}), "unknown_key",
         "a good signature by a key the receiver does not trust", private=STRANGER),
    case("bad_signature", SCHEDULE_TOPIC, SCHEDULE, "bad_signature", "one letter of the title changed after signing",
         tamper=("tiêm phòng", "tiêm phùng")),
    case("moved_to_another_device", SCHEDULE_TOPIC, SCHEDULE, "bad_signature",
         "thon-dong-01's schedule published on thon-doai-02's topic", sent_on=f"loaxa/dev/{OTHER}/schedule",
         device=OTHER),
    case("expired", SCHEDULE_TOPIC, schedule_like(**{"2026-12-22T06:00:00.000Z": "2026-11-22T06:29:59.999Z"}),
         "expired", "sig.exp is a millisecond before the receiver's clock"),
    case("malformed_sig", SCHEDULE_TOPIC, SCHEDULE, "malformed", "sig without seq",
         tamper=(f',"seq":{SEQ}', "")),
    case("wrong_device", SCHEDULE_TOPIC, schedule_like(**{'"device":"thon-dong-01"': f'"device":"{OTHER}"'}),
         "wrong_device", "signed for this receiver's topic, but addressed to another device"),
    case("unsupported_version", SCHEDULE_TOPIC,
         schedule_like(**{'"type":"schedule","v":1}': '"type":"schedule","v":2}'}),
         "unsupported_version", "a message of protocol version 2"),
    case("time_without_offset", SCHEDULE_TOPIC,
         schedule_like(**{'"play_at":"2026-11-22T07:00:00.000Z"': '"play_at":"2026-11-22T07:00:00"'}),
         "time_without_offset", "play_at without Z or an offset"),
    case("live_start", LIVE_TOPIC, LIVE_START, "accept", "a live session begins for every device of group a12"),
    packet_case("live_packet", "accept", "the next packet of a session the receiver holds (its newest was 6)"),
    packet_case("live_packet_altered", "bad_signature", "one bit of a frame changed after signing", flip=50),
    packet_case("live_packet_moved", "bad_signature", "a12's packet published on a13's topic",
                sent_on="loaxa/grp/a13/live/audio"),
    packet_case("live_packet_foreign_key", "unknown_key", "signed by a key the receiver does not trust",
                private=STRANGER, kid=STRANGER_KID),
    packet_case("live_packet_replayed", "replayed", "a packet the receiver already had (its newest is 7)",
                newest={SESSION: 7}),
    packet_case("live_packet_unknown_session", "unknown_session",
                "a good packet of a session whose signed start the receiver never had", newest={}),
]


def main(out: Path) -> None:
    vectors = {
        "about": "Loa xã protocol v1 conformance vectors (docs/protocol.md, 'Test vectors'). Test keys only.",
        "keys": {"server": {"public": SERVER_PUBLIC, "kid": KID,
                            "private_seed": base64.b64encode(hashlib.sha256(
                                b"loaxa conformance server key (test only)").digest()).decode()},
                 "stranger": {"public": STRANGER_PUBLIC, "kid": STRANGER_KID}},
        "trusted_keys": [SERVER_PUBLIC],
        "asset": {"file": "asset.opus", "sha256": ASSET, "size": len(audio), "chunk_size": CHUNK_SIZE,
                  "chunks": CHUNKS},
        "cases": CASES,
    }
    out.write_text(json.dumps(vectors, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(CASES)} cases to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "vectors.json")
