"""What every part of the conformance kit shares: where it runs, the texts it broadcasts, its timing
allowances, the forgeries it sends, and small helpers (signing as anyone, reading what the broker retains)."""

from __future__ import annotations

import base64
import queue
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from broadcaster.ops.broker import Mosquitto
from edge_agent.protocol import Delivery, Playback
from edge_agent.protocol.fields import format_time
from edge_agent.protocol.signing import canonical_json, key_id

T = TypeVar("T")

HOST = "127.0.0.1"
ROOT = "loaxa"
DEVICE = "kit-01"
OTHER_DEVICE = "kit-02"
"""A device id that is not the receiver's: forged schedules name it or its topic."""
SERVER_USER = "broadcaster"
PLACEHOLDERS = ("host", "port", "device_id", "password", "password_file", "root", "trusted_key", "config",
                "workdir")

SHORT_TEXT = "Loa xã kiểm tra hệ thống phát thanh."
LONG_TEXT = ("Thông báo của ủy ban xã về lịch thu gom rác thải trong tháng. Xe thu gom sẽ đi qua các thôn vào sáng "
             "thứ hai, thứ tư và thứ sáu hằng tuần. Bà con để rác đã phân loại trước cổng nhà trước bảy giờ sáng, "
             "không đổ rác xuống kênh mương và ven đường. Mọi thắc mắc xin liên hệ trưởng thôn.")
EMERGENCY_TEXT = "Khẩn cấp: nước lũ đang lên, đề nghị bà con di chuyển ngay lên chỗ cao."

POLL_S = 0.1
DURATION_TOLERANCE_S = 1.5
"""How far the reported play time (finished_at - started_at) may be from the manifest's duration_s."""
ON_TIME_S = 1.5
"""How late after its play_at a scheduled item may start."""
PRIORITY_LEAD_S = 8.0
"""How far ahead the priority-order check schedules its two items (their audio is cached by then)."""
FINAL = ("played", "interrupted", "failed", "missed", "cancelled")
"""Playback states after which a receiver reports nothing more on an item."""
FORGED_BASE_ID = 990_000
"""Broadcast ids of the forged entries (the server never numbers that high in a kit run)."""
FORGERIES = (
    ("unknown_key", "refuses a schedule signed by a key it does not trust (unknown_key)"),
    ("bad_signature", "refuses a schedule signed for another device's topic (bad_signature)"),
    ("expired", "refuses an expired schedule (expired)"),
    ("replayed", "refuses an old schedule replayed (replayed)"),
    ("unsigned", "refuses an unsigned schedule (unsigned)"),
    ("wrong_device", "refuses a schedule addressed to another device (wrong_device)"),
)
"""One forged schedule per refusal reason: a receiver reports a topic and reason at most once a minute, so
each case must have a reason of its own to be seen."""


class CheckFailed(Exception):
    """A check did not pass; the text says what was expected and what was seen."""


@dataclass
class Seen:
    """One message the kit's observer received from the broker."""

    at: float
    """time.monotonic() on arrival."""
    topic: str
    payload: bytes


def sign_as(key: Ed25519PrivateKey, topic: str, message: dict[str, Any], seq: int, expires: datetime) -> bytes:
    """``message`` signed for ``topic`` by ``key`` as docs/protocol.md says, with a ``seq`` and ``exp`` of the
    caller's choice (a Signer picks a fresh, growing seq itself, so it cannot forge a replay)."""
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    data = {**message, "sig": {"kid": key_id(public), "seq": seq, "exp": format_time(expires)}}
    signature = key.sign(topic.encode("utf-8") + b"\n" + canonical_json(data))
    data["sig"]["value"] = base64.b64encode(signature).decode("ascii")
    return canonical_json(data)


def now_seq() -> int:
    """A sequence number as the server makes them: microseconds since the epoch."""
    return time.time_ns() // 1000


def describe(reports: list[Delivery | Playback]) -> str:
    return ", ".join(f"{type(r).__name__.lower()} {r.state}" for r in reports) or "no report"


def retained(broker: Mosquitto, topic: str, wait_s: float = 1.0) -> bytes | None:
    """The message the broker holds retained on ``topic`` now (None if none), read as the server's user
    with a fresh subscription, where MQTT marks it retained."""
    got: queue.Queue[bytes] = queue.Queue()

    def on_connect(client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        client.subscribe(topic, 1)

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        if message.retain and message.payload:
            got.put(bytes(message.payload))

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"conformance-probe-{secrets.token_hex(4)}",
                         protocol=mqtt.MQTTv311)
    client.username_pw_set(SERVER_USER, broker.users[SERVER_USER])
    client.on_connect = on_connect
    client.on_message = on_message
    client.connect(HOST, broker.server_port)
    client.loop_start()
    try:
        return got.get(timeout=wait_s)
    except queue.Empty:
        return None
    finally:
        client.disconnect()
        client.loop_stop()
