"""The worker's handling of device reports: stored in order, never backwards, kept while the database is down."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.exc import OperationalError

from broadcaster.db import Broadcast, Bulletin, Delivery, Device, User
from broadcaster.delivery.worker import Worker
from edge_agent.protocol import Delivery as DeliveryReport
from edge_agent.protocol import Heartbeat, Playback, Status, Topics
from tests.support.env import Env, wait_until

ASSET = "ab" * 32


def sent_broadcast(env: Env, device_id: str = "loa-01") -> int:
    with env.db.session() as session:
        user = session.query(User).one()
        bulletin = Bulletin(title="t", text="x", state="approved", created_by=user.id)
        session.add(bulletin)
        session.flush()
        broadcast = Broadcast(bulletin_id=bulletin.id, priority="normal", state="sent", created_by=user.id,
                              created_at=datetime.now(UTC))
        session.add(broadcast)
        session.flush()
        session.add(Delivery(broadcast_id=broadcast.id, device_id=device_id, state="pending"))
        return broadcast.id


def delivery(env: Env, broadcast_id: int, device_id: str = "loa-01") -> Delivery:
    with env.db.session() as session:
        row = session.get(Delivery, (broadcast_id, device_id))
        assert row is not None
        return row


@pytest.fixture
def worker(env: Env) -> Worker:
    # Not started: reports are fed straight to ingest(), as the MQTT thread would.
    return Worker(env.config, env.db)


def test_reports_arriving_out_of_order_never_move_a_delivery_backwards(env: Env, worker: Worker) -> None:
    topics = Topics(env.config.mqtt.topic_root)
    bid = sent_broadcast(env)
    now = datetime.now(UTC)
    played = Playback(bid, "played", now, now - timedelta(seconds=9), now)
    worker.ingest(topics.event("loa-01", "playback"), played.to_bytes())
    worker.ingest(topics.event("loa-01", "delivery"), DeliveryReport(bid, ASSET, "delivered", now).to_bytes())
    worker.ingest(topics.event("loa-01", "playback"), Playback(bid, "playing", now, now).to_bytes())
    row = delivery(env, bid)
    assert row.state == "played"
    assert row.started_at is not None and played.started_at is not None
    assert abs(row.started_at - played.started_at) < timedelta(milliseconds=1), "the device's own start time"


def test_reports_from_strangers_and_garbage_change_nothing(env: Env, worker: Worker) -> None:
    topics = Topics(env.config.mqtt.topic_root)
    bid = sent_broadcast(env)
    now = datetime.now(UTC)
    worker.ingest(topics.event("ghost", "playback"), Playback(bid, "played", now).to_bytes())
    worker.ingest(topics.event("loa-02", "playback"), Playback(bid, "played", now).to_bytes())
    worker.ingest(topics.event("loa-01", "playback"), b'{"v": 1, "type": "playback", "state": "played"}')
    worker.ingest(topics.event("loa-01", "playback"), b"\x00\xff")
    worker.ingest(topics.heartbeat("loa-01"), Status("online").to_bytes())
    assert delivery(env, bid).state == "pending"
    with env.db.session() as session:
        assert session.get(Device, "loa-01").online is False  # type: ignore[union-attr]


def test_status_and_heartbeat_update_the_device(env: Env, worker: Worker) -> None:
    topics = Topics(env.config.mqtt.topic_root)
    worker.ingest(topics.heartbeat("loa-02"), Heartbeat(datetime.now(UTC), 5.0, "9.9", 55, 3).to_bytes())
    with env.db.session() as session:
        device = session.get(Device, "loa-02")
        assert device is not None
        assert (device.online, device.volume, device.version, device.now_playing) == (True, 55, "9.9", 3)
    worker.ingest(topics.status("loa-02"), Status("offline").to_bytes())
    with env.db.session() as session:
        device = session.get(Device, "loa-02")
        assert device is not None and device.online is False and device.now_playing is None


def test_a_report_is_kept_while_the_database_is_down(env: Env, worker: Worker,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    topics = Topics(env.config.mqtt.topic_root)
    bid = sent_broadcast(env)
    real_session = env.db.session
    failures = {"left": 2}

    def flaky_session():  # type: ignore[no-untyped-def]
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return real_session()

    monkeypatch.setattr(env.db, "session", flaky_session)
    now = datetime.now(UTC)
    report = Playback(bid, "played", now, now, now).to_bytes()
    batch = [(topics.event("loa-01", "playback"), report, datetime.now(UTC), lambda: None)]
    thread = threading.Thread(target=worker.ingester.store_with_retry, args=(batch,))
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert failures["left"] == 0
    monkeypatch.setattr(env.db, "session", real_session)
    assert delivery(env, bid).state == "played"


def test_sweep_marks_silent_devices_offline_and_unreported_items_missed(env: Env, worker: Worker) -> None:
    bid = sent_broadcast(env, "loa-03")
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    with env.db.session() as session:
        session.get(Broadcast, bid).created_at = long_ago  # type: ignore[union-attr]
        device = session.get(Device, "loa-03")
        assert device is not None
        device.online, device.last_seen = True, long_ago
    worker.sweep()
    assert delivery(env, bid, "loa-03").state == "missed"
    with env.db.session() as session:
        assert session.get(Device, "loa-03").online is False  # type: ignore[union-attr]
    # The device's own late report replaces the server's guess.
    now = datetime.now(UTC)
    worker.ingest(Topics(env.config.mqtt.topic_root).event("loa-03", "playback"),
                  Playback(bid, "played", now, now, now).to_bytes())
    assert delivery(env, bid, "loa-03").state == "played"


def test_a_report_received_but_not_stored_comes_again_to_the_next_worker(env: Env,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The broker hands a report over; the worker dies before storing it. It must not be lost: the report is
    acknowledged only once stored, so the broker gives it to the worker that takes over."""
    topics = Topics(env.config.mqtt.topic_root)
    bid = sent_broadcast(env)
    first = Worker(env.config, env.db)
    received, release = threading.Event(), threading.Event()

    def stuck(batch: list[object]) -> None:
        received.set()
        release.wait(30)
        raise OperationalError("INSERT", {}, Exception("the process died here"))

    monkeypatch.setattr(first.ingester, "store", stuck)
    first.start()
    wait_until(first.reports.ready.is_set)
    device = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="loa-01")
    device.username_pw_set("loa-01", env.broker.users["loa-01"])
    device.connect("127.0.0.1", env.broker.port)
    device.loop_start()
    now = datetime.now(UTC)
    device.publish(topics.event("loa-01", "playback"), Playback(bid, "played", now, now, now).to_bytes(),
                   qos=1).wait_for_publish(5)
    assert received.wait(10), "the worker was handed the report"
    # Dies as under SIGKILL: no acknowledgement, no disconnect packet, just a dropped connection; and its
    # lead with it (the kernel drops a dead process's file lock, the database a dead connection's lock).
    first._stop.set()
    first.scheduler.shutdown(wait=False)
    first.reports.client.loop_stop()
    first.reports.client.socket().close()  # type: ignore[union-attr]
    first.link.client.loop_stop()
    first.link.client.socket().close()  # type: ignore[union-attr]
    first.leadership.release()
    assert delivery(env, bid).state == "pending"

    second = Worker(env.config, env.db)
    second.start()
    try:
        wait_until(lambda: delivery(env, bid).state == "played", timeout=15)
    finally:
        release.set()
        second.stop()
        device.loop_stop()
        device.disconnect()
