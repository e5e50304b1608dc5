"""Several workers: one leads (renders, signs, publishes), the others stand by and store reports. Two workers
never both send a broadcast, and when the leader dies a standby takes over and nothing is lost or doubled."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func

from broadcaster.database import Database
from broadcaster.db import RefusalRecord
from broadcaster.delivery.leader import AdvisoryLock, leadership_for
from tests.resilience.test_server_faults import (
    approved_bulletin,
    played_count,
    plays,
    quick_agent,
    schedule_many,
    sent_count,
)
from tests.support.env import Env, wait_until
from tests.support.faults import Tally, spawn_worker


def test_only_one_of_two_contenders_leads_until_it_lets_go(database: Database) -> None:
    first, second = leadership_for(database), leadership_for(database)
    try:
        assert first.acquire() and first.holds()
        assert not second.acquire() and not second.holds(), "the lead is taken"
        first.release()
        assert not first.holds()
        assert second.acquire() and second.holds(), "a standby takes a released lead"
        assert not first.acquire()
    finally:
        first.release()
        second.release()


def test_the_lead_ends_with_the_leaders_database_connection(database: Database) -> None:
    if database.engine.url.get_backend_name() != "postgresql":
        pytest.skip("a file lock ends with its process; the advisory lock with its connection")
    first, second = leadership_for(database), leadership_for(database)
    try:
        assert first.acquire()
        assert isinstance(first, AdvisoryLock) and first._connection is not None
        pid = first._connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with database.engine.connect() as admin:  # as when the leader's host or its link dies
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid or 0)})")
        assert not first.holds(), "the old leader knows at its next check"
        assert second.acquire()
    finally:
        first.release()
        second.release()


@pytest.mark.xdist_group("heavy")
def test_two_workers_send_each_broadcast_once_and_the_standby_takes_over(env: Env, tally: Tally) -> None:
    devices = ["loa-01", "loa-02", "loa-03"]
    for device_id in devices:
        quick_agent(env, device_id)
    workers = {name: spawn_worker(env, name) for name in ("a", "b")}
    bulletin_id = approved_bulletin(env)
    play_at = datetime.now(UTC) + timedelta(seconds=60)
    ids = schedule_many(env, bulletin_id, devices, play_at, count=30, spread_s=5)
    wait_until(lambda: sent_count(env.db) > 0, timeout=60, interval=0.02)
    log = (env.root / "worker.log").read_text()
    leader = "a" if f"{env.config.mqtt.client_id}-a leads" in log else "b"
    assert f"{env.config.mqtt.client_id}-{leader} leads" in log
    assert log.count(" leads: ") == 1, "one leader at a time"
    workers[leader].send_signal(signal.SIGKILL)  # mid-dispatch: the standby must finish the job
    workers[leader].wait()
    sent_at_kill = sent_count(env.db)
    wait_until(lambda: sent_count(env.db) == 30, timeout=120)
    standby = "b" if leader == "a" else "a"
    assert f"{env.config.mqtt.client_id}-{standby} leads" in (env.root / "worker.log").read_text()

    # The standby also took over the reports' session: the receivers' reports are stored without the killed
    # worker ever coming back.
    until_due = max(0.0, (play_at - datetime.now(UTC)).total_seconds())
    wait_until(lambda: played_count(env.db) == 90, timeout=until_due + 120)
    with env.db.session() as session:
        refused = session.query(func.count(RefusalRecord.id)).scalar()
    time.sleep(1)
    counted = plays(env, devices)
    lost = sum(1 for d in devices for i in ids if counted[(d, i)] == 0)
    duplicated = sum(n - 1 for n in counted.values() if n > 1)
    tally(tried=f"2 workers, 30 scheduled broadcasts x 3 receivers; the leader killed -9 mid-dispatch "
                f"({sent_at_kill} of 30 sent), the standby took over the sending and the reports",
          plays=sum(counted.values()), lost=lost, duplicated=duplicated, refused_by_receivers=refused)
    assert lost == 0 and duplicated == 0, counted
    assert refused == 0, "no receiver saw a message twice or out of order (one signer at a time)"
