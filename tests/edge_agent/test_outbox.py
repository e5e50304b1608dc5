"""Reports made while the link is down wait on disk, survive a reboot, and reach the server in order."""

from __future__ import annotations

import errno
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broadcaster.ops.broker import Mosquitto
from edge_agent.link import Link
from edge_agent.outbox import Outbox
from edge_agent.protocol import Playback, Topics
from tests.support.env import wait_until

ROOT = "loaxa"
USERS = {"broadcaster": "server-secret-1", "loa-01": "device-secret-1"}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(tmp_path / "broker", USERS, ROOT, "broadcaster")
    yield b
    b.stop()


def listener(port: int, received: list[dict[str, object]]) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="server-listener", clean_session=False)
    client.username_pw_set("broadcaster", USERS["broadcaster"])
    done = threading.Event()
    client.on_subscribe = lambda *a: done.set()
    client.on_connect = lambda c, *a: c.subscribe(f"{ROOT}/dev/+/evt/+", qos=1)
    client.on_message = lambda c, u, m: received.append(json.loads(m.payload))
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert done.wait(10)
    return client


def test_reports_made_offline_survive_a_reboot_and_arrive_in_order(broker: Mosquitto, tmp_path: Path) -> None:
    topics = Topics(ROOT)
    folder = tmp_path / "cache" / "outbox"
    link = Link("loa-01", "127.0.0.1", broker.port, "loa-01", USERS["loa-01"], lambda t, p: None)
    outbox = Outbox(folder, link)
    # The broker is down: reports pile up on disk.
    for broadcast_id in range(1, 6):
        report = Playback(broadcast_id, "played", datetime.now(UTC), datetime.now(UTC), datetime.now(UTC))
        outbox.put(topics.event("loa-01", "playback"), report.to_dict())
    assert outbox.pending() == 5
    assert all(json.loads(p.read_text())["message"]["historical"] for p in folder.glob("*.json"))

    # The receiver reboots (a new outbox on the same folder), then the broker comes back.
    rebooted = Outbox(folder, link)
    broker.start()
    received: list[dict[str, object]] = []
    server = listener(broker.server_port, received)
    link.start()
    rebooted.start()
    try:
        wait_until(lambda: len(received) >= 5, timeout=20)
        assert [r["broadcast_id"] for r in received] == [1, 2, 3, 4, 5]
        assert all(r["historical"] is True for r in received)
        wait_until(lambda: rebooted.pending() == 0, timeout=10)
        # Online now: a new report goes straight through and is not historical.
        rebooted.put(topics.event("loa-01", "playback"), Playback(6, "playing", datetime.now(UTC)).to_dict())
        wait_until(lambda: len(received) == 6, timeout=10)
        assert received[-1]["historical"] is False
    finally:
        rebooted.stop()
        link.stop()
        server.loop_stop()
        server.disconnect()


def test_a_full_disk_does_not_lose_a_report(broker: Mosquitto, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    broker.start()
    received: list[dict[str, object]] = []
    server = listener(broker.server_port, received)
    link = Link("loa-01", "127.0.0.1", broker.port, "loa-01", USERS["loa-01"], lambda t, p: None)
    link.start()
    outbox = Outbox(tmp_path / "outbox", link)
    try:
        assert link.connected.wait(10)

        def full(fd: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr("edge_agent.outbox.os.fsync", full)  # the disk, the one part we fake
        outbox.put(Topics(ROOT).event("loa-01", "playback"), Playback(9, "played", datetime.now(UTC)).to_dict())
        assert outbox.pending() == 0 and not list((tmp_path / "outbox").iterdir())
        wait_until(lambda: [r["broadcast_id"] for r in received] == [9], timeout=10)
    finally:
        link.stop()
        server.loop_stop()
        server.disconnect()
