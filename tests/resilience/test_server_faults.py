"""The server side through its faults: the worker process killed with 100 broadcasts pending, the broker
crashed during distribution and restarted during playback, some receivers cut off across a scheduled time.
Each test counts what was lost and what played twice; both must be zero."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func

from broadcaster.database import Database
from broadcaster.db import Broadcast, Delivery
from edge_agent.agent import Agent
from edge_agent.sinks import FileSink
from tests.support.env import Env, wait_until
from tests.support.faults import CutLink, Tally, own_broker, spawn_worker

TEXT = "Thông báo của Ủy ban nhân dân xã về lịch tiêm chủng cho trẻ em tại trạm y tế."


broker = pytest.fixture(own_broker, name="broker")  # these tests stop, crash and restart it


def quick_agent(env: Env, device_id: str, **overrides: object) -> Agent:
    """A receiver whose file sink does not wait out each item's length: these tests are about the server."""
    config = env.agent_config(device_id, **overrides)
    agent = Agent(config, FileSink(config.played_dir, realtime=False))
    agent.start()
    env.agents[device_id] = agent
    return agent


def approved_bulletin(env: Env, text: str = TEXT) -> int:
    response = env.client.post("/api/v1/bulletins", json={"title": "Thử", "text": text}, headers=env.auth)
    assert response.status_code == 201, response.get_json()
    bulletin_id: int = response.get_json()["id"]
    assert env.client.post(f"/api/v1/bulletins/{bulletin_id}/approve", headers=env.auth).status_code == 200
    return bulletin_id


def plays(env: Env, devices: list[str]) -> Counter[tuple[str, int]]:
    """How many times each (device, broadcast) came out of the loudspeaker, from the files the sinks wrote."""
    return Counter((d, int(f.stem.rsplit("-b", 1)[1])) for d in devices for f in env.played_files(d))


def schedule_many(env: Env, bulletin_id: int, devices: list[str], play_at: datetime, count: int,
                  spread_s: int) -> list[int]:
    """``count`` broadcasts of the bulletin to ``devices``, due over ``spread_s`` seconds from ``play_at``."""
    ids = []
    for n in range(count):
        at = play_at + timedelta(seconds=n % spread_s)
        response = env.client.post("/api/v1/broadcasts", headers=env.auth,
                                   json={"bulletin_id": bulletin_id, "targets": devices, "play_at": at.isoformat()})
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    return ids


def played_count(db: Database) -> int:
    with db.session() as session:
        return int(session.query(func.count()).select_from(Delivery).filter(Delivery.state == "played").scalar() or 0)


def sent_count(db: Database) -> int:
    with db.session() as session:
        return int(session.query(func.count(Broadcast.id)).filter(Broadcast.state == "sent").scalar() or 0)


@pytest.mark.xdist_group("heavy")  # never beside the 500-receiver soak: both load both cores for a minute
def test_worker_killed_three_times_with_100_scheduled_broadcasts_each_plays_once(env: Env, tally: Tally) -> None:
    devices = ["loa-01", "loa-02", "loa-03"]
    for device_id in devices:
        quick_agent(env, device_id)
    first = spawn_worker(env)
    bulletin_id = approved_bulletin(env)
    play_at = datetime.now(UTC) + timedelta(seconds=120)  # both kills come before it, even on loaded cores
    ids = schedule_many(env, bulletin_id, devices, play_at, count=100, spread_s=10)

    wait_until(lambda: sent_count(env.db) > 0, timeout=60, interval=0.02)
    first.send_signal(signal.SIGKILL)  # mid-dispatch: some sent, the rest still queued
    first.wait()
    sent_at_first_kill = sent_count(env.db)
    second = spawn_worker(env)
    # Generous: on two loaded cores the restarted worker has been seen to take over a minute to resume sending.
    wait_until(lambda: sent_count(env.db) == 100, timeout=180)
    # Every receiver knows all 100 (on loaded cores the first may already have played: creating them is slow).
    wait_until(lambda: all(len(a.store.entries) == 100 for a in env.agents.values()), timeout=120)
    # While everything waits on the receivers for its time.
    assert datetime.now(UTC) < play_at, "the second kill comes before the broadcasts' time"
    second.send_signal(signal.SIGKILL)
    second.wait()
    third = spawn_worker(env)

    # And while the receivers' reports pour in: those handed over but not yet stored must come again.
    until_due = max(0.0, (play_at - datetime.now(UTC)).total_seconds())
    wait_until(lambda: played_count(env.db) > 0, timeout=until_due + 120, interval=0.02)
    third.send_signal(signal.SIGKILL)
    third.wait()
    stored_at_third_kill = played_count(env.db)
    spawn_worker(env)

    wait_until(lambda: played_count(env.db) == 300, timeout=180)
    time.sleep(1)
    counted = plays(env, devices)
    lost = sum(1 for d in devices for i in ids if counted[(d, i)] == 0)
    duplicated = sum(n - 1 for n in counted.values() if n > 1)
    tally(tried=f"100 scheduled broadcasts x 3 receivers; worker killed -9 mid-dispatch ({sent_at_first_kill} of "
                f"100 sent), while all waited for their time, and while reports came in ({stored_at_third_kill} of "
                "300 plays stored)", plays=sum(counted.values()),
          lost=lost, duplicated=duplicated)
    assert lost == 0 and duplicated == 0, counted
    for broadcast_id in ids[:10]:
        for device in env.status(broadcast_id)["devices"]:  # type: ignore[union-attr]
            assert datetime.fromisoformat(device["started_at"]) >= play_at - timedelta(seconds=1), "not early"


def test_broker_crashed_during_distribution_and_restarted_during_playback(env: Env, tally: Tally) -> None:
    devices = ["loa-01", "loa-02", "loa-03"]
    env.config.mqtt.chunk_kib = 1  # dozens of chunks: the crash lands in the middle of the transfer
    agents = [env.start_agent(d) for d in devices]
    env.start_worker()
    first = env.broadcast(TEXT, targets=devices)
    wait_until(lambda: any(a.fetches for a in agents) or env.status(first["id"])["state"] == "sent",
               timeout=60, interval=0.02)
    delivered_at_crash = sum(s == "delivered" for s in env.device_states(first["id"]).values())
    env.broker.kill()  # a crash: whatever it had not saved to disk is gone
    time.sleep(2)
    env.broker.start()
    wait_until(lambda: set(env.device_states(first["id"]).values()) == {"played"}, timeout=90)

    second = env.broadcast("Bản tin thứ hai, phát trong lúc máy chủ tin nhắn khởi động lại.", targets=devices)
    wait_until(lambda: "playing" in env.device_states(second["id"]).values(), timeout=60)
    env.broker.stop()  # a restart while the loudspeakers play: their reports wait on their disks
    time.sleep(2)
    env.broker.start()
    wait_until(lambda: set(env.device_states(second["id"]).values()) == {"played"}, timeout=90)

    time.sleep(1)
    counted = plays(env, devices)
    ids = [int(first["id"]), int(second["id"])]  # type: ignore[call-overload]
    lost = sum(1 for d in devices for i in ids if counted[(d, i)] == 0)
    duplicated = sum(n - 1 for n in counted.values() if n > 1)
    missing_times = sum(1 for i in ids for d in env.status(i)["devices"]  # type: ignore[union-attr]
                        if not (d["started_at"] and d["finished_at"]))
    tally(tried=f"2 broadcasts x 3 receivers; broker killed -9 during distribution ({delivered_at_crash} of 3 "
                "delivered), restarted while they played", plays=sum(counted.values()),
          lost=lost + missing_times, duplicated=duplicated)
    assert lost == 0 and duplicated == 0, counted
    assert missing_times == 0, "every receiver's real start and end times reached the server"


def test_receivers_cut_off_across_the_scheduled_time_play_on_time_and_report_later(
        env: Env, tally: Tally, relays: Callable[[int], CutLink]) -> None:
    links = {d: relays(env.broker.port) for d in ("loa-03", "loa-late")}
    devices = ["loa-01", "loa-02", *links]
    for device_id in devices:
        agent_mqtt = env.agent_config(device_id).mqtt
        if device_id in links:
            agent_mqtt.port = links[device_id].port
        env.start_agent(device_id, mqtt=agent_mqtt)
    env.start_worker()
    play_at = datetime.now(UTC) + timedelta(seconds=12)
    broadcast = env.broadcast("Loa vẫn phát đúng giờ khi mất sóng.", targets=devices, play_at=play_at.isoformat())
    wait_until(lambda: set(env.device_states(broadcast["id"]).values()) == {"delivered"}, timeout=60)
    for link in links.values():
        link.cut()

    def online() -> dict[str, bool]:
        return {d["id"]: d["online"] for d in env.client.get("/api/v1/devices", headers=env.auth).get_json()}

    wait_until(lambda: not any(online()[d] for d in links), timeout=20)  # the broker's Last Will says so
    wait_until(lambda: all(env.played_files(d) for d in devices), timeout=60)
    wait_until(lambda: [env.device_states(broadcast["id"])[d] for d in ("loa-01", "loa-02")] == ["played"] * 2)
    states = env.device_states(broadcast["id"])
    assert all(states[d] == "delivered" for d in links), f"nothing reached the server from the cut-off ones: {states}"
    for link in links.values():
        link.mend()
    wait_until(lambda: set(env.device_states(broadcast["id"]).values()) == {"played"}, timeout=90)
    wait_until(lambda: all(online()[d] for d in links), timeout=30)

    late = []
    for device in env.status(broadcast["id"])["devices"]:  # type: ignore[union-attr]
        if abs((datetime.fromisoformat(device["started_at"]) - play_at).total_seconds()) >= 1.5:
            late.append(device["device_id"])
    counted = plays(env, devices)
    duplicated = sum(n - 1 for n in counted.values() if n > 1)
    lost = sum(1 for d in devices if counted[(d, int(broadcast["id"]))] == 0)  # type: ignore[call-overload]
    tally(tried="1 scheduled broadcast x 4 receivers, 2 of them cut off (open and new connections reset) "
                "from before its time until after it", plays=sum(counted.values()), lost=lost,
          duplicated=duplicated, late=len(late))
    assert lost == 0 and duplicated == 0 and late == [], (counted, late)
