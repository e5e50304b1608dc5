"""Receiver behaviour over a real broker: idempotent, restart-safe, refuses bad input, reports missed items."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from broadcaster.db import Broadcast
from edge_agent.protocol import Playback, Schedule, ScheduleEntry, Topics
from edge_agent.store import Store
from tests.support.env import Env, server_client, wait_until

TEXT = "Thông báo thử hệ thống loa."


def test_same_broadcast_never_plays_twice_even_after_restart(env: Env) -> None:
    env.start_worker()
    agent = env.start_agent("loa-01")
    broadcast = env.broadcast(TEXT, targets=["loa-01"])
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "played"}, timeout=60)
    assert env.worker is not None
    # The server sends the schedule again (as after a broker restart) and the agent reboots.
    with env.db.session() as session:
        env.worker.publish_schedule(session, "loa-01")
    agent.stop()
    again = env.start_agent("loa-01")
    wait_until(lambda: again.link.ready.is_set())
    # Republish a schedule that still lists the played broadcast: it must not play again.
    asset = env.status(broadcast["id"])["asset"]
    assert isinstance(asset, str)
    entry = ScheduleEntry(int(broadcast["id"]), asset, "again", created_at=datetime.now(UTC))  # type: ignore[call-overload]
    client = server_client(env, "replay")
    topics = Topics(env.config.mqtt.topic_root)
    schedule = Schedule("loa-01", datetime.now(UTC), [entry])
    client.publish(topics.schedule("loa-01"), env.signed(topics.schedule("loa-01"), schedule), qos=1,
                   retain=True).wait_for_publish(5)
    wait_until(lambda: again.inbox.empty(), timeout=5)
    time.sleep(1.5)
    client.loop_stop()
    client.disconnect()
    assert len(env.played_files("loa-01")) == 1


def test_malformed_and_misaddressed_schedules_are_refused_without_crashing(env: Env) -> None:
    env.start_worker()
    agent = env.start_agent("loa-02")
    wait_until(lambda: agent.link.ready.is_set())
    topics = Topics(env.config.mqtt.topic_root)
    client = server_client(env, "bad")
    other = Schedule("loa-03", datetime.now(UTC), [ScheduleEntry(999, "ab" * 32, "not for you")])
    for payload in (b"\xff\x00garbage", b'{"v": 1, "type": "schedule"}', b"[]",
                    env.signed(topics.schedule("loa-02"), other)):
        client.publish(topics.schedule("loa-02"), payload, qos=1).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()
    # Still alive: a real broadcast afterwards plays normally, and nothing was taken from the bad ones.
    broadcast = env.broadcast(TEXT, targets=["loa-02"])
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-02": "played"}, timeout=60)
    assert "999" not in agent.store.entries


def test_entry_past_its_grace_is_reported_missed_not_played(env: Env) -> None:
    worker = env.start_worker()
    broadcast = env.broadcast(TEXT, targets=["loa-03"])
    wait_until(lambda: env.status(broadcast["id"])["state"] == "sent")
    # The device was offline so long that the item is over: push its deadline into the past.
    with env.db.session() as session:
        row = session.get(Broadcast, broadcast["id"])
        assert row is not None
        row.created_at = datetime.now(UTC) - timedelta(minutes=30)
        row.grace_s = 60
    with env.db.session() as session:
        worker.publish_schedule(session, "loa-03")
    # The server no longer lists an item that far past its deadline...
    env.start_agent("loa-03")
    topics = Topics(env.config.mqtt.topic_root)
    asset = env.status(broadcast["id"])["asset"]
    assert isinstance(asset, str)
    late = ScheduleEntry(int(broadcast["id"]), asset, "late",  # type: ignore[call-overload]
                         created_at=datetime.now(UTC) - timedelta(minutes=30), grace_s=60)
    client = server_client(env, "late")
    schedule = Schedule("loa-03", datetime.now(UTC), [late])
    client.publish(topics.schedule("loa-03"), env.signed(topics.schedule("loa-03"), schedule), qos=1,
                   retain=True).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()
    # ...but if it reaches the device anyway, the device reports it missed and stays silent.
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-03": "missed"}, timeout=30)
    assert env.played_files("loa-03") == []
    error = env.status(broadcast["id"])["devices"][0]["error"]  # type: ignore[index]
    assert "too late" in error or "did not arrive" in error


def test_playback_interrupted_by_a_reboot_is_reported_failed(env: Env) -> None:
    config = env.agent_config("loa-01")
    store = Store(Path(config.cache_dir))
    entry = ScheduleEntry(4242, hashlib.sha256(b"x").hexdigest(), "was playing", created_at=datetime.now(UTC))
    local = store.add(entry)
    assert local is not None
    store.update(local, state="playing", started_at=datetime.now(UTC))
    store.close()

    reports: list[Playback] = []
    topics = Topics(env.config.mqtt.topic_root)
    client = server_client(env, "watch")
    client.on_message = lambda c, u, m: reports.append(Playback.from_bytes(m.payload))
    client.subscribe(topics.event("loa-01", "playback"), qos=1)
    agent = env.start_agent("loa-01")
    wait_until(lambda: reports, timeout=10)
    client.loop_stop()
    client.disconnect()
    assert reports[0].broadcast_id == 4242 and reports[0].state == "failed"
    assert "restarted" in (reports[0].error or "")
    assert agent.store.entries["4242"].state == "failed"


def test_agent_stops_fetching_audio_nobody_needs_any_more(env: Env) -> None:
    agent = env.start_agent("loa-02")
    wait_until(lambda: agent.link.ready.is_set())
    topics = Topics(env.config.mqtt.topic_root)
    # An entry whose audio never comes (no worker runs to answer) and whose deadline passes quickly.
    entry = ScheduleEntry(77, "cd" * 32, "never delivered", created_at=datetime.now(UTC), grace_s=3)
    client = server_client(env, "gone")
    # Retained, as the server sends schedules: the agent's subscription may not be active yet.
    schedule = Schedule("loa-02", datetime.now(UTC), [entry])
    client.publish(topics.schedule("loa-02"), env.signed(topics.schedule("loa-02"), schedule), qos=1,
                   retain=True).wait_for_publish(5)
    wait_until(lambda: "cd" * 32 in agent.fetches, timeout=10)
    wait_until(lambda: agent.store.entries["77"].state == "missed", timeout=10)
    wait_until(lambda: "cd" * 32 not in agent.fetches, timeout=10)
    client.loop_stop()
    client.disconnect()


def test_a_cut_decided_as_an_item_ends_never_cuts_off_the_next_one(env: Env) -> None:
    """The receiver decides to cut the item playing (an emergency is ready) just as that item ends and the
    emergency starts: the cut must fall on nothing, not on the emergency (heard for no time at all)."""
    from edge_agent.agent import Agent
    from edge_agent.sinks import FileSink

    config = env.agent_config("loa-01")
    agent = Agent(config, FileSink(config.played_dir, realtime=False))  # not started: the player is driven here
    try:
        now = datetime.now(UTC)
        normal = agent.store.add(ScheduleEntry(1, "ab" * 32, "Thường", "normal", None, now, 300))
        emergency = agent.store.add(ScheduleEntry(2, "cd" * 32, "Khẩn cấp", "emergency", None, now, 300))
        assert normal is not None and emergency is not None
        player = agent.player
        player._playing = normal
        player.cut(normal, "interrupted by emergency broadcast 2", pause=True)
        assert player._item_cut.is_set(), "the item playing is cut off"
        player._playing, player._item_cut = emergency, type(player._item_cut)()  # the player moved on
        player.cut(normal, "interrupted by emergency broadcast 2", pause=True)  # decided a moment before
        assert not player._item_cut.is_set(), "the emergency now playing is not cut off by it"
    finally:
        agent.link.stop()
        agent.store.close()
