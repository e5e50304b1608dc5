"""Both brokers the demo can run (mosquitto and the embedded amqtt) enforce the same rules:
no anonymous or wrong-password clients, and a device reaches only its own topics."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broadcaster.delivery.worker import share_group
from broadcaster.ops.broker import Mosquitto, free_port, mosquitto_hash, wait_for_port, write_password_files
from broadcaster.ops.embedded_broker import allowed, parse_connect

ROOT = "loaxa"
USERS = {"broadcaster": secrets.token_urlsafe(12), "loa-01": secrets.token_urlsafe(12),
         "loa-02": secrets.token_urlsafe(12)}


@dataclass(frozen=True)
class Doors:
    """Where a broker under test takes devices and the server (one port for both on the embedded broker)."""

    kind: str
    device: int
    server: int


@pytest.fixture(params=["mosquitto", "amqtt"], scope="module")
def doors(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Doors]:
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "mosquitto":
        broker = Mosquitto(folder, USERS, ROOT, "broadcaster")
        broker.start()
        yield Doors("mosquitto", broker.port, broker.server_port)
        broker.stop()
        return
    hashes = {user: mosquitto_hash(password, iterations=1000) for user, password in USERS.items()}
    write_password_files(folder, "broadcaster", hashes["broadcaster"], hashes)
    number = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "broadcaster.ops.embedded_broker", "--port", str(number),
                             "--passwords", str(folder), "--root", ROOT],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for_port(number)
    yield Doors("amqtt", number, number)
    proc.terminate()
    proc.wait(timeout=10)


class Peer:
    """A plain MQTT client recording what it receives."""

    def __init__(self, port: int, user: str | None, password: str | None, client_id: str | None = None,
                 clean: bool = True, will: tuple[str, bytes] | None = None) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.live: list[tuple[str, bytes]] = []  # not retained: published while we listened
        self.result: str | None = None
        self.dropped = threading.Event()
        if client_id is None:  # a device connects as itself; the server's connections each have their own id
            client_id = f"{user}-{secrets.token_hex(3)}" if user in (None, "broadcaster") else user
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or "", clean_session=clean)
        if user:
            self.client.username_pw_set(user, password)
        if will:
            self.client.will_set(will[0], will[1], qos=1, retain=True)
        self.client.on_disconnect = lambda *a: self.dropped.set()
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


def connect_result(port: int, user: str | None, password: str | None, client_id: str | None = None) -> str | None:
    """The broker's answer to one connection attempt (no background thread, so no reconnection)."""
    result: list[str] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"try-{secrets.token_hex(3)}")
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


def test_anonymous_and_wrong_passwords_are_refused(doors: Doors) -> None:
    for user, password in ((None, None), ("loa-01", "wrong"), ("nobody", "x"), ("broadcaster", "wrong")):
        assert connect_result(doors.device, user, password) != "Success", user
        assert connect_result(doors.server, user, password) != "Success", user
    assert connect_result(doors.device, "loa-01", USERS["loa-01"], "loa-01") == "Success"
    assert connect_result(doors.server, "broadcaster", USERS["broadcaster"]) == "Success"


def test_a_device_cannot_read_another_devices_schedule(doors: Doors) -> None:
    port = doors.device
    server = Peer(doors.server, "broadcaster", USERS["broadcaster"])
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


def test_a_device_cannot_speak_for_another_device_or_publish_audio_or_alerts(doors: Doors) -> None:
    port = doors.device
    server = Peer(doors.server, "broadcaster", USERS["broadcaster"])
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


STATUS_WILL = b'{"v":1,"type":"status","state":"offline","ts":null,"version":null}'


@pytest.mark.parametrize("clean", [True, False], ids=["clean-session", "persistent-session"])
def test_one_devices_credentials_cannot_connect_as_another_device(doors: Doors, clean: bool) -> None:
    """loa-01's password under loa-02's client id must not close loa-02's connection, fire its Last Will,
    or bring loa-02's messages to the intruder (mosquitto renames the intruder loa-01; amqtt refuses it)."""
    status = f"{ROOT}/dev/loa-02/status"
    server = Peer(doors.server, "broadcaster", USERS["broadcaster"])
    server.subscribe(status)
    victim = Peer(doors.device, "loa-02", USERS["loa-02"], will=(status, STATUS_WILL))
    victim.subscribe(f"{ROOT}/dev/loa-02/cmd")
    settle()
    server.live.clear()
    attempts = [Peer(doors.device, "loa-01", USERS["loa-01"], client_id="loa-02", clean=clean),
                Peer(doors.device, "loa-02", "a guess", client_id="loa-02", clean=clean)]
    for intruder in attempts:
        intruder.subscribe(f"{ROOT}/dev/loa-02/cmd")
    settle()
    server.publish(f"{ROOT}/dev/loa-02/cmd", b"for loa-02 only")
    settle()
    assert not victim.dropped.is_set() and victim.client.is_connected(), "the receiver stays on the air"
    assert (status, STATUS_WILL) not in server.live, "its Last Will was not fired"
    assert victim.live == [(f"{ROOT}/dev/loa-02/cmd", b"for loa-02 only")]
    assert all(intruder.messages == [] for intruder in attempts), "nothing of loa-02's reached the intruders"
    assert attempts[1].result != "Success", "a wrong password is refused before anything else"
    for peer in (server, victim, *attempts):
        peer.close()


def test_a_device_cannot_take_reports_from_the_workers_shared_subscription(doors: Doors) -> None:
    if doors.kind == "amqtt":
        pytest.skip("amqtt 0.12 has no shared subscriptions; the demo runs one worker without them")
    workers = [Peer(doors.server, "broadcaster", USERS["broadcaster"]) for _ in range(2)]
    for worker in workers:
        worker.subscribe(f"$share/{share_group(USERS['broadcaster'])}/{ROOT}/dev/+/evt/#")
    intruder = Peer(doors.device, "loa-01", USERS["loa-01"])
    for guess in ("broadcaster", "workers", "loaxa", share_group(None), share_group(USERS["loa-01"])):
        intruder.subscribe(f"$share/{guess}/{ROOT}/dev/+/evt/#")
    reporter = Peer(doors.device, "loa-02", USERS["loa-02"])
    settle()
    sent = [f"report {n}".encode() for n in range(40)]
    for payload in sent:
        reporter.publish(f"{ROOT}/dev/loa-02/evt/playback", payload)
    settle()
    received = sorted(payload for worker in workers for _, payload in worker.live)
    assert received == sorted(sent), "every report reached one of the workers, none went to the intruder"
    assert intruder.messages == []
    for peer in (*workers, intruder, reporter):
        peer.close()


def test_connect_packets_are_read_as_the_broker_reads_them() -> None:
    """The embedded broker's own reading of CONNECT, against the bytes paho really sends."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="loa-02")
    client.username_pw_set("loa-01", "mật khẩu")
    client.will_set(f"{ROOT}/dev/loa-02/status", STATUS_WILL, qos=1, retain=True)
    sent: list[bytes] = []

    class Capture:
        def send(self, data: bytes) -> int:
            sent.append(bytes(data))
            return len(data)

        def close(self) -> None:
            pass

    client._sock = Capture()  # type: ignore[assignment]  # paho writes its CONNECT to whatever socket it holds
    client._send_connect(30)  # type: ignore[attr-defined]
    client._packet_write()  # type: ignore[attr-defined]
    raw = b"".join(sent)
    assert raw[0] >> 4 == 1
    length, at = 0, 1
    for shift in range(0, 28, 7):
        length |= (raw[at] & 0x7F) << shift
        at += 1
        if not raw[at - 1] & 0x80:
            break
    connect = parse_connect(raw[at:at + length])
    assert (connect.client_id, connect.username, connect.password) == ("loa-02", "loa-01", "mật khẩu")
    with pytest.raises(ValueError):
        parse_connect(raw[at:at + 12])


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
    ("loa-01", "loaxa/dev/+/schedule", False, False),
    ("+", "loaxa/dev/loa-01/schedule", False, False),
    ("loa-01", "loaxa/dev/loa-01/req", True, True),
    (None, "loaxa/dev/loa-01/schedule", False, False),
])
def test_embedded_acl_rules(user: str | None, topic: str, write: bool, expected: bool) -> None:
    assert allowed("loaxa", "broadcaster", user, topic, write) is expected


def test_password_files_hold_hashes_only_and_the_server_alone_in_its_own(tmp_path: Path) -> None:
    hashes = {user: mosquitto_hash(password, iterations=1000) for user, password in USERS.items()}
    write_password_files(tmp_path, "broadcaster", hashes["broadcaster"], hashes)
    devices, server = (tmp_path / "passwd").read_text(), (tmp_path / "server-passwd").read_text()
    assert all(password not in devices + server for password in USERS.values())
    assert server.startswith("broadcaster:$7$") and server.count("\n") == 1
    assert "broadcaster" not in devices and "loa-01:$7$" in devices and "loa-02:$7$" in devices
    assert all((tmp_path / name).stat().st_mode & 0o777 == 0o600 for name in ("passwd", "server-passwd"))
