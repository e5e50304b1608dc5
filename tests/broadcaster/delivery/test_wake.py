"""Waking the leader: an emergency stored by the web process is on the wire at once, not at the worker's next
look at the database; a wake that is lost costs a polling tick, never the emergency; only the leader acts.

The workers here look for work by themselves once an hour (``worker.dispatch_poll_s``): whatever goes out
within the test's wait went because the wake worked. A real broker, database (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set) and worker; the emergency sent through the API as an officer sends it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from broadcaster.config import WorkerSettings
from broadcaster.db import AuditEntry
from broadcaster.delivery.worker import Worker
from tests.broadcaster.delivery.test_alerts import Watch
from tests.support.env import Env, wait_until

EMERGENCY = "Khẩn cấp: đê sông Hồng có nguy cơ vỡ, bà con thôn Bãi sơ tán ngay lên đê chính."
AN_HOUR = 3600.0
PROMPTLY = 20.0
"""The test's wait: long enough for a loaded CI machine, far shorter than the workers' own polling."""


@pytest.fixture
def watch(env: Env) -> Iterator[Watch]:
    seen = Watch(env, "grp/+/alert")
    yield seen
    seen.stop()


@pytest.fixture
def slow(env: Env) -> Env:
    """Workers that would look for queued work by themselves only once an hour."""
    env.config.worker = WorkerSettings(dispatch_poll_s=AN_HOUR)
    env.prerender(EMERGENCY)  # the render is not what is tested: the officer's preview made it
    return env


def send_emergency(env: Env, **fields: object) -> list[int]:
    answer = env.client.post("/api/v1/emergency", headers=env.auth,
                             json={"text": EMERGENCY, "targets": ["all"], **fields})
    assert answer.status_code == 201, answer.get_json()
    return [b["id"] for b in answer.get_json()["broadcasts"]]


def sent(env: Env, broadcast_id: int) -> bool:
    return env.status(broadcast_id)["state"] == "sent"


def leading_and_listening(worker: Worker) -> bool:
    return worker.leading.is_set() and worker.wake.listening.is_set()


def test_a_stored_emergency_is_on_the_wire_at_once_though_the_worker_would_look_only_in_an_hour(
        slow: Env, watch: Watch) -> None:
    worker = slow.start_worker()
    wait_until(lambda: leading_and_listening(worker))
    first, repeat = send_emergency(slow, repeat_count=2, repeat_every_min=5)
    wait_until(lambda: sent(slow, first), timeout=PROMPTLY)
    wait_until(lambda: watch.topics("/alert"), timeout=PROMPTLY)
    wait_until(lambda: sent(slow, repeat), timeout=PROMPTLY)
    # The first play was committed before its repeat was stored; the audit still says who sent both.
    with slow.db.session() as session:
        said = [e.detail or "" for e in session.query(AuditEntry).filter_by(action="emergency.send")]
    assert len(said) == 1 and f"broadcasts {[first, repeat]}" in said[0]


def test_a_normal_broadcast_and_a_stop_wake_the_worker_too(slow: Env) -> None:
    worker = slow.start_worker()
    wait_until(lambda: leading_and_listening(worker))
    broadcast = slow.broadcast(EMERGENCY, play_at=None)
    wait_until(lambda: sent(slow, broadcast["id"]), timeout=PROMPTLY)
    assert slow.client.post(f"/api/v1/broadcasts/{broadcast['id']}/stop", headers=slow.auth).status_code == 200
    wait_until(lambda: slow.status(broadcast["id"])["state"] == "stopped", timeout=PROMPTLY)


def test_an_emergency_stored_while_no_worker_runs_goes_out_when_one_starts(slow: Env, watch: Watch) -> None:
    """The wake went nowhere (the worker was restarting); the emergency waited in the database."""
    (broadcast_id,) = send_emergency(slow)
    assert not sent(slow, broadcast_id)
    slow.start_worker()
    wait_until(lambda: sent(slow, broadcast_id), timeout=PROMPTLY)
    wait_until(lambda: watch.topics("/alert"), timeout=PROMPTLY)


def test_while_the_wake_channel_is_down_the_polling_tick_sends_the_emergency(slow: Env, watch: Watch) -> None:
    slow.config.worker = WorkerSettings(dispatch_poll_s=0.5)
    worker = slow.start_worker()
    wait_until(lambda: leading_and_listening(worker))
    worker.wake.close()  # nothing wakes this worker now
    (broadcast_id,) = send_emergency(slow)
    wait_until(lambda: sent(slow, broadcast_id), timeout=PROMPTLY)
    wait_until(lambda: watch.topics("/alert"), timeout=PROMPTLY)


def test_a_dropped_notify_connection_is_opened_again_and_what_came_meanwhile_goes_out(
        slow: Env, watch: Watch, request: pytest.FixtureRequest) -> None:
    if slow.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's wake is a local socket the leader binds: there is no connection to drop")
    worker = slow.start_worker()
    wait_until(lambda: leading_and_listening(worker))
    pid = worker.wake.backend_pid
    with slow.db.engine.begin() as connection:  # as a database restart or a cut link would
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    (during,) = send_emergency(slow)  # most likely while the channel is down: its wake is lost
    wait_until(lambda: sent(slow, during), timeout=PROMPTLY)
    wait_until(lambda: worker.wake.opened >= 2 and leading_and_listening(worker), timeout=PROMPTLY)
    assert worker.wake.backend_pid != pid
    (after,) = send_emergency(slow)
    wait_until(lambda: sent(slow, after), timeout=PROMPTLY)
    wait_until(lambda: len(watch.topics("/alert")) == 2, timeout=PROMPTLY)


def test_several_workers_only_the_leader_listens_and_sends_and_the_wake_moves_with_the_lead(
        slow: Env, watch: Watch) -> None:
    first = Worker(slow.config, slow.db, name="1")
    second = Worker(slow.config, slow.db, name="2")
    first.start()
    second.start()
    running = [first, second]
    try:
        leader, standby = (first, second) if first.leading.is_set() else (second, first)
        wait_until(lambda: leading_and_listening(leader))
        assert not standby.leading.is_set() and not standby.wake.listening.is_set()
        (one,) = send_emergency(slow)
        wait_until(lambda: sent(slow, one), timeout=PROMPTLY)
        wait_until(lambda: watch.topics("/alert"), timeout=PROMPTLY)
        leader.stop()
        running.remove(leader)
        wait_until(lambda: leading_and_listening(standby), timeout=PROMPTLY)
        (two,) = send_emergency(slow)
        wait_until(lambda: sent(slow, two), timeout=PROMPTLY)
        wait_until(lambda: len(watch.topics("/alert")) >= 2, timeout=PROMPTLY)
        assert len(watch.topics("/alert")) == 2, "each emergency alerted once (one area: the commune), by one leader"
    finally:
        for worker in running:
            worker.stop()
