"""The published test vectors (tests/data/conformance/, docs/protocol.md) against our own implementation: the
bytes each signature covers are our canonical form, and our receiver's checks accept and refuse each case
as the vectors say. A third-party receiver checks itself against the same file."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge_agent.protocol import Alert, Command, Manifest, Message, ProtocolError, Schedule
from edge_agent.protocol.fields import parse_time
from edge_agent.protocol.live import LivePacket, LiveStart, admit
from edge_agent.protocol.signing import REFUSAL_REASONS, Signer, Verifier, canonical_json, open_packet, open_signed
from tests.support import DATA

FOLDER = DATA / "conformance"
VECTORS: dict[str, Any] = json.loads((FOLDER / "vectors.json").read_text())
CASES = VECTORS["cases"]


def kind_of(topic: str) -> type[Message]:
    last = topic.rsplit("/", 1)[-1]
    return {"schedule": Schedule, "cmd": Command, "manifest": Manifest, "alert": Alert, "live": LiveStart}[last]


def outcome(case: dict[str, Any]) -> str:
    receiver = case["receiver"]
    verifier = Verifier(VECTORS["trusted_keys"])
    now = parse_time(receiver["now"], "now")
    assert now is not None
    try:
        if "payload_b64" in case:  # live audio: the signature, then the session and its order
            packet = open_packet(verifier, case["topic"], base64.b64decode(case["payload_b64"]))
            admit(packet, receiver["live_sessions"].get(packet.session))
        else:
            open_signed(verifier, case["topic"], case["payload"].encode("utf-8"), kind_of(case["topic"]), now,
                        receiver["newest_seq_on_topic"], receiver["device_id"])
    except ProtocolError as exc:
        return exc.reason
    return "accept"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_our_receiver_accepts_and_refuses_each_vector_as_published(case: dict[str, Any]) -> None:
    assert outcome(case) == case["expect"], case["note"]


@pytest.mark.parametrize("case", [c for c in CASES if c["expect"] == "accept" and "payload" in c],
                         ids=lambda c: c["name"])
def test_our_canonical_form_is_the_published_signed_bytes(case: dict[str, Any]) -> None:
    data = json.loads(case["payload"])
    data["sig"] = {k: v for k, v in data["sig"].items() if k != "value"}
    assert case["topic"].encode() + b"\n" + canonical_json(data) == case["signed_bytes"].encode("utf-8")


def test_the_vectors_cover_every_refusal_reason_and_the_published_key_signs_them() -> None:
    assert {c["expect"] for c in CASES} == {"accept", *REFUSAL_REASONS}
    seed = base64.b64decode(VECTORS["keys"]["server"]["private_seed"])
    server = Signer.from_text(base64.b64encode(seed).decode())
    assert server.public_text == VECTORS["keys"]["server"]["public"] and server.kid == VECTORS["keys"]["server"]["kid"]


def test_our_live_packets_are_the_published_bytes() -> None:
    """Our packet layout and signing give the vector's bytes exactly (Ed25519 is deterministic)."""
    case = next(c for c in CASES if c["name"] == "live_packet")
    wire = base64.b64decode(case["payload_b64"])
    packet, kid, body, _ = LivePacket.parse(wire)
    assert (packet.session, packet.seq, packet.first, len(packet.frames), kid) == (
        "b61-5e55f0a1b2c3", 7, 56, 2, VECTORS["keys"]["server"]["kid"])
    assert case["topic"].encode() + b"\n" + body == base64.b64decode(case["signed_bytes_b64"])
    seed = base64.b64decode(VECTORS["keys"]["server"]["private_seed"])
    server = Signer.from_text(base64.b64encode(seed).decode())
    assert server.sign_packet(case["topic"], packet) == wire


def test_the_asset_matches_its_manifest_chunk_by_chunk() -> None:
    asset = VECTORS["asset"]
    audio = (FOLDER / asset["file"]).read_bytes()
    size = asset["chunk_size"]
    assert hashlib.sha256(audio).hexdigest() == asset["sha256"] and len(audio) == asset["size"]
    assert [hashlib.sha256(audio[i:i + size]).hexdigest() for i in range(0, len(audio), size)] == asset["chunks"]
    manifest = next(json.loads(c["payload"]) for c in CASES if c["name"] == "manifest")
    assert (manifest["asset"], manifest["chunks"], manifest["size"]) == (asset["sha256"], asset["chunks"], len(audio))


def test_jcs_numbers_strings_and_order() -> None:
    """RFC 8785's rules on the values the protocol carries, written out by hand."""
    assert canonical_json({"b": 10.0, "a": [2.25, -0.0, 1e20, 47.2], "é": "\"\\\n\t\x1f\u00e9🚨"}) == (
        '{"a":[2.25,0,100000000000000000000,47.2],"b":10,"é":"\\"\\\\\\n\\t\\u001f\u00e9🚨"}').encode()
    # Where Python and ECMAScript write a number differently (RFC 8785, appendix B, and ECMA-262 Number::toString).
    assert canonical_json([1e21, 1e-7, 0.000001, 1e-5, 1.5e300, 5e-324, 1e16, -2.5e-8]) == (
        b"[1e+21,1e-7,0.000001,0.00001,1.5e+300,5e-324,10000000000000000,-2.5e-8]")
    assert canonical_json({"s": "jcs-0-0", "x": 1e-7}) == b'{"s":"jcs-0-0","x":1e-7}', "strings stay strings"
    for impossible in (float("nan"), float("inf")):
        with pytest.raises(ValueError):
            canonical_json({"x": impossible})


def test_the_published_vectors_are_what_their_generator_writes(tmp_path: Path) -> None:
    """vectors.json is made from the spec by make_vectors.py (with the cryptography package alone), not by
    our signer; running it again must change nothing."""
    subprocess.run([sys.executable, str(FOLDER / "make_vectors.py"), str(tmp_path / "again.json")], check=True,
                   capture_output=True)
    assert (tmp_path / "again.json").read_bytes() == (FOLDER / "vectors.json").read_bytes()
