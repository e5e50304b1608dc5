"""Both brokers the demo can run (mosquitto and the embedded amqtt) enforce the same rules:
no anonymous or wrong-password clients, and a device reaches only its own topics."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broadcaster.broker import Mosquitto, free_port, wait_for_port
from broadcaster.embedded_broker import allowed, write_users

ROOT = "loaxa"
USERS = {"broadcaster": secrets.token_urlsafe(12), "loa-01": secrets.token_urlsafe(12),
         "loa-02": secrets.token_urlsafe(12)}


@pytest.fixture(params=["mosquitto", "amqtt"], scope="module")
def port(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "mosquitto":
        broker = Mosquitto(folder, USERS, ROOT, "broadcaster")
        broker.start()
        yield broker.port
        broker.stop()
        return
    write_users(folder / "users.json", USERS)
    number = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "broadcaster.embedded_broker", "--port", str(number),
                             "--users", str(folder / "users.json"), "--root", ROOT],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for_port(number)
    yield number
    proc.terminate()
    proc.wait(timeout=10)


class Peer:
    """A plain MQTT client recording what it receives."""

    def __init__(self, port: int, user: str | None, password: str | None) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.live: list[tuple[str, bytes]] = []  # not retained: published while we listened
        self.result: str | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{user or 'anon'}-{secrets.token_hex(3)}")
        if user:
            self.client.username_pw_set(user, password)
        self.client.on_connect = lambda c, u, f, rc, p: setattr(self, "result", str(rc))
        self.client.on_message = self._record
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        deadline = time.monotonic() + 5
        while self.result is None and time.monotonic() < deadline:
            time.sleep(0.02)

    def _record(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self.messages.append((message.topic, message.payload))
        if not message.retain:
            self.live.append((message.topic, message.payload))

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        # amqtt closes the connection of a client whose publish it denies; mosquitto drops the message.
        with contextlib.suppress(RuntimeError):
            self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connect_result(port: int, user: str | None, password: str | None) -> str | None:
    """The broker's answer to one connection attempt (no background thread, so no reconnection)."""
    result: list[str] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"try-{secrets.token_hex(3)}")
    if user:
        client.username_pw_set(user, password)
    client.on_connect = lambda c, u, f, rc, p: result.append(str(rc))
    client.connect("127.0.0.1", port)
    deadline = time.monotonic() + 5
    while not result and time.monotonic() < deadline:
        if client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
            break
    client.disconnect()
    del client  # paho closes its sockets when the client goes away
    return result[0] if result else None


def settle() -> None:
    time.sleep(0.8)  # long enough for a broker on the loopback to deliver what it will deliver


def test_anonymous_and_wrong_passwords_are_refused(port: int) -> None:
    for user, password in ((None, None), ("loa-01", "wrong"), ("nobody", "x")):
        assert connect_result(port, user, password) != "Success", user
    assert connect_result(port, "loa-01", USERS["loa-01"]) == "Success"


def test_a_device_cannot_read_another_devices_schedule(port: int) -> None:
    server = Peer(port, "broadcaster", USERS["broadcaster"])
    server.publish(f"{ROOT}/dev/loa-02/schedule", b"for loa-02 only", retain=True)
    intruder, owner = Peer(port, "loa-01", USERS["loa-01"]), Peer(port, "loa-02", USERS["loa-02"])
    intruder.subscribe(f"{ROOT}/dev/loa-02/schedule")
    intruder.subscribe(f"{ROOT}/dev/+/schedule")
    owner.subscribe(f"{ROOT}/dev/loa-02/schedule")
    settle()
    assert owner.messages == [(f"{ROOT}/dev/loa-02/schedule", b"for loa-02 only")]
    assert intruder.messages == []
    for peer in (server, intruder, owner):
        peer.close()


def test_a_device_cannot_speak_for_another_device_or_publish_audio_or_alerts(port: int) -> None:
    server = Peer(port, "broadcaster", USERS["broadcaster"])
    server.subscribe(f"{ROOT}/dev/+/evt/#")
    server.subscribe(f"{ROOT}/blob/#")
    server.subscribe(f"{ROOT}/grp/#")
    device = Peer(port, "loa-01", USERS["loa-01"])
    settle()
    device.publish(f"{ROOT}/dev/loa-02/evt/playback", b"forged")
    device.publish(f"{ROOT}/blob/{'ab' * 32}/0", b"hijack audio", retain=True)
    device.publish(f"{ROOT}/grp/a1/alert", b"false alarm")
    honest = Peer(port, "loa-01", USERS["loa-01"])
    honest.publish(f"{ROOT}/dev/loa-01/evt/playback", b"genuine")
    settle()
    # amqtt 0.12 also hands a new subscriber retained messages of topics it did not subscribe to;
    # what matters here is what the devices published live.
    assert [payload for _, payload in server.live] == [b"genuine"], server.live
    late = Peer(port, "loa-02", USERS["loa-02"])
    late.subscribe(f"{ROOT}/blob/#")
    settle()
    assert late.messages == [], "nothing a device published was kept as audio"
    for peer in (server, device, honest, late):
        peer.close()


@pytest.mark.parametrize(("user", "topic", "write", "expected"), [
    ("broadcaster", "loaxa/dev/loa-01/schedule", True, True),
    ("broadcaster", "other/x", True, False),
    ("loa-01", "loaxa/dev/loa-01/schedule", False, True),
    ("loa-01", "loaxa/dev/loa-01/schedule", True, False),
    ("loa-01", "loaxa/dev/loa-01/evt/playback", True, True),
    ("loa-01", "loaxa/dev/loa-02/evt/playback", True, False),
    ("loa-01", "loaxa/blob/abc/+", False, True),
    ("loa-01", "loaxa/blob/abc/0", True, False),
    ("loa-01", "loaxa/grp/a1/#", False, True),
    ("loa-01", "loaxa/grp/a1/alert", True, False),
    ("loa-01", "loaxa/#", False, False),
    (None, "loaxa/dev/loa-01/schedule", False, False),
])
def test_embedded_acl_rules(user: str | None, topic: str, write: bool, expected: bool) -> None:
    assert allowed("loaxa", "broadcaster", user, topic, write) is expected


def test_users_file_holds_hashes_only(tmp_path: Path) -> None:
    write_users(tmp_path / "u.json", {"loa-01": "plain-secret"})
    text = (tmp_path / "u.json").read_text()
    assert "plain-secret" not in text and "pbkdf2-sha256$" in text
    assert (tmp_path / "u.json").stat().st_mode & 0o777 == 0o600
