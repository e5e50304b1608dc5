"""A receiver through the faults of a real village: the agent process killed mid-download and mid-playback,
the broker restarted mid-transfer, the broker gone across a scheduled time, garbage on every topic it
reads. Real mosquitto (one per test here, since the tests stop it), real ``edge-agent`` processes."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from broadcaster.database import Database
from edge_agent.protocol import Topics
from tests.support.env import Env, server_client, wait_until
from tests.support.faults import Tally, own_broker

TEXT = "Thông báo lịch tiêm chủng cho trẻ em dưới 5 tuổi tại trạm y tế xã vào sáng thứ Bảy."


broker = pytest.fixture(own_broker, name="broker")  # these tests stop, crash and restart it


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    """SQLite only: these are the receiver's faults; the server's database plays no part in them."""
    db = Database(f"sqlite:///{tmp_path / 'test.db'}")
    db.create_all()
    yield db
    db.engine.dispose()


def publish_all(client: mqtt.Client, messages: list[tuple[str, bytes]]) -> None:
    infos = [client.publish(topic, payload, qos=1, retain=True) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(10)


def chunks_of(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def received(env: Env, device_id: str, asset: str) -> int:
    """How many chunks the receiver has on its disk (its transfer bitmap)."""
    meta = env.root / "agents" / device_id / "cache" / "partial" / f"{asset}.json"
    try:
        return len(json.loads(meta.read_text())["received"])
    except (OSError, ValueError, KeyError):
        return 0


def half_sent(env: Env, device_id: str) -> tuple[dict[str, object], bytes, list[bytes], mqtt.Client]:
    """A broadcast sent to ``device_id`` whose second half of audio chunks the broker no longer holds, with the
    worker stopped so nobody answers the receiver's requests: what it has, it has only on its own disk."""
    env.config.mqtt.chunk_kib = 1
    env.start_worker()
    broadcast = env.broadcast(TEXT, targets=[device_id])
    wait_until(lambda: env.status(broadcast["id"])["state"] == "sent", timeout=60)
    broadcast = env.status(broadcast["id"])
    assert env.worker is not None
    env.worker.stop()
    env.worker = None
    audio = env.audio_of(broadcast["id"])
    chunks = chunks_of(audio, 1024)
    assert len(chunks) >= 6, "enough chunks to cut the transfer in the middle"
    net = server_client(env, "net")
    topics = Topics(env.config.mqtt.topic_root)
    asset = str(broadcast["asset"])
    publish_all(net, [(topics.chunk(asset, seq), b"") for seq in range(len(chunks) // 2, len(chunks))])
    return broadcast, audio, chunks, net


def test_agent_killed_mid_download_resumes_from_its_disk_and_plays_once(env: Env, tally: Tally) -> None:
    broadcast, audio, chunks, net = half_sent(env, "loa-01")
    asset, half = str(broadcast["asset"]), len(chunks) // 2
    topics = Topics(env.config.mqtt.topic_root)
    agent = env.spawn_agent("loa-01")
    wait_until(lambda: received(env, "loa-01", asset) == half, timeout=30)
    agent.kill()  # power cut: no goodbye, no flush
    agent.wait()

    # The first half is now gone from the broker too: the restarted receiver can only have it from its disk.
    publish_all(net, [(topics.chunk(asset, seq), b"") for seq in range(half)]
                + [(topics.chunk(asset, seq), chunks[seq]) for seq in range(half, len(chunks))])
    env.spawn_agent("loa-01")
    wait_until(lambda: env.played_files("loa-01"), timeout=60)
    [cached] = (env.root / "agents" / "loa-01" / "cache" / "assets").glob(f"{asset}*")
    assert cached.read_bytes() == audio, "the resumed file is exactly the audio sent"

    env.start_worker()  # the reports waited on the receiver's disk or in the broker's session for the worker
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "played"}, timeout=30)
    time.sleep(1)
    played = len(env.played_files("loa-01"))
    tally(tried="receiver killed -9 with half the chunks on its disk, that half then cleared from the broker",
          plays=played, lost=int(played == 0), duplicated=max(0, played - 1))
    assert played == 1
    net.loop_stop()
    net.disconnect()


def test_broker_restarted_mid_transfer_the_download_carries_on(env: Env, tally: Tally) -> None:
    broadcast, audio, chunks, net = half_sent(env, "loa-02")
    asset, half = str(broadcast["asset"]), len(chunks) // 2
    topics = Topics(env.config.mqtt.topic_root)
    agent = env.start_agent("loa-02")
    wait_until(lambda: received(env, "loa-02", asset) == half, timeout=30)
    publish_all(net, [(topics.chunk(asset, seq), b"") for seq in range(half)])
    net.loop_stop()
    net.disconnect()

    env.broker.stop()
    time.sleep(1)
    env.broker.start()  # same port, its retained messages persisted
    wait_until(lambda: agent.link.ready.is_set(), timeout=30)
    net = server_client(env, "net2")
    publish_all(net, [(topics.chunk(asset, seq), chunks[seq]) for seq in range(half, len(chunks))])
    env.start_worker()
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-02": "played"}, timeout=60)
    assert agent.store.asset_path(asset).read_bytes() == audio
    played = len(env.played_files("loa-02"))
    tally(tried="broker restarted with a receiver half way through a download", plays=played,
          lost=int(played == 0), duplicated=max(0, played - 1))
    assert played == 1
    net.loop_stop()
    net.disconnect()


def test_agent_killed_mid_playback_reports_it_and_never_replays_it(env: Env, tally: Tally) -> None:
    env.start_worker()
    agent = env.spawn_agent("loa-03")
    broadcast = env.broadcast(TEXT, targets=["loa-03"])
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-03": "playing"}, timeout=60)
    wait_until(lambda: env.played_files("loa-03"), timeout=30)  # sound is coming out
    agent.kill()
    agent.wait()
    env.spawn_agent("loa-03")
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-03": "failed"}, timeout=30)
    device = env.status(broadcast["id"])["devices"][0]  # type: ignore[index]
    assert "restarted during playback" in device["error"]
    time.sleep(2)
    played = len(env.played_files("loa-03"))
    tally(tried="receiver killed -9 while playing, then restarted (reported failed, not replayed)", plays=played,
          lost=0, duplicated=max(0, played - 1))
    assert played == 1, "the item cut off by the power cut was not played again"


def test_broker_down_across_the_scheduled_time_the_item_still_plays_on_time(env: Env, tally: Tally) -> None:
    env.start_worker()
    agent = env.start_agent("loa-01")
    env.prerender("Loa phát đúng giờ dù mất mạng.")
    play_at = datetime.now(UTC) + timedelta(seconds=8)
    broadcast = env.broadcast("Loa phát đúng giờ dù mất mạng.", targets=["loa-01"], play_at=play_at.isoformat())
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "delivered"}, timeout=60)
    assert datetime.now(UTC) < play_at - timedelta(seconds=2), "delivered well ahead of time"
    env.broker.stop()  # the mobile link is gone from now until after the broadcast

    files = wait_until(lambda: env.played_files("loa-01"), timeout=40)
    assert isinstance(files, list)
    started = datetime.strptime(files[0].name.split("-")[0], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    assert abs((started - play_at).total_seconds()) < 1.5, "played at its time, from the cache"
    wait_until(lambda: agent.outbox.pending() >= 2, timeout=30)  # playing and played wait on disk

    env.broker.start()
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "played"}, timeout=60)
    device = env.status(broadcast["id"])["devices"][0]  # type: ignore[index]
    reported = datetime.fromisoformat(device["started_at"])
    tally(tried="broker down from before a scheduled item until after it", plays=len(env.played_files("loa-01")),
          lost=0, duplicated=len(env.played_files("loa-01")) - 1,
          late=int(abs((reported - play_at).total_seconds()) >= 1.5))
    assert abs((reported - play_at).total_seconds()) < 1.5, "the server learns the real start time afterwards"


GARBAGE = [b"", b"\xff\xfe\x00", b"null", b"[]", b"{}", b'{"type": "schedule"}', b'"text"', b"1e999",
           b'{"type": "manifest", "asset": 5}', b"{" * 5000, json.dumps({"x": "y" * 200_000}).encode()]


def test_garbage_on_every_topic_the_agent_reads_never_stops_it(env: Env, tally: Tally) -> None:
    env.start_worker()
    agent = env.spawn_agent("loa-02")
    topics = Topics(env.config.mqtt.topic_root)
    first = env.broadcast("Bản tin đầu tiên.", targets=["loa-02"])
    wait_until(lambda: env.device_states(first["id"]) == {"loa-02": "played"}, timeout=60)
    asset = str(env.status(first["id"])["asset"])

    net = server_client(env, "vandal")
    targets = [topics.schedule("loa-02"), topics.command("loa-02"), topics.manifest(asset),
               topics.chunk(asset, 0), topics.chunk(asset, 99999)]
    for topic in targets:
        for payload in GARBAGE:
            net.publish(topic, payload, qos=1).wait_for_publish(10)
    net.loop_stop()
    net.disconnect()

    second = env.broadcast("Bản tin thứ hai sau rác.", targets=["loa-02"])
    wait_until(lambda: env.device_states(second["id"]) == {"loa-02": "played"}, timeout=60)
    assert agent.poll() is None, "the agent process is still running"
    refusals = env.client.get("/api/v1/devices", headers=env.auth).get_json()
    assert refusals  # the device list still answers
    log = (env.root / "agents" / "loa-02.log").read_text()
    tally(tried=f"{len(GARBAGE)} malformed payloads on each of {len(targets)} topics a receiver reads",
          crashes=int(agent.poll() is not None) + log.count("Traceback"), lost=0)
    assert "refused message on" in log and "Traceback" not in log
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=15) == 0, "and it still stops cleanly"


def test_agent_process_stops_cleanly_on_sigterm_and_says_offline(env: Env) -> None:
    agent = env.spawn_agent("loa-03")
    watcher = server_client(env, "status")
    statuses: list[bytes] = []
    watcher.on_message = lambda c, u, m: statuses.append(m.payload)
    watcher.subscribe(Topics(env.config.mqtt.topic_root).status("loa-03"), qos=1)
    wait_until(lambda: any(b'"online"' in s for s in statuses), timeout=30)
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=15) == 0
    wait_until(lambda: b'"offline"' in statuses[-1], timeout=10)
    watcher.loop_stop()
    watcher.disconnect()


def test_agent_killed_while_waiting_for_its_time_plays_once_on_time(env: Env, tally: Tally) -> None:
    env.start_worker()
    agent = env.spawn_agent("loa-01")
    env.prerender(TEXT)
    play_at = datetime.now(UTC) + timedelta(seconds=12)
    broadcast = env.broadcast(TEXT, targets=["loa-01"], play_at=play_at.isoformat())
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "delivered"}, timeout=60)
    agent.kill()  # power cut while the item waits on the receiver for its time
    agent.wait()
    env.spawn_agent("loa-01")
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "played"}, timeout=60)
    time.sleep(1)
    files = env.played_files("loa-01")
    started = datetime.fromisoformat(env.status(broadcast["id"])["devices"][0]["started_at"])  # type: ignore[index]
    late = abs((started - play_at).total_seconds()) >= 1.5
    tally(tried="receiver killed -9 while a delivered item waited for its time, then restarted", plays=len(files),
          lost=int(not files), duplicated=max(0, len(files) - 1), late=int(late))
    assert len(files) == 1
    assert abs((started - play_at).total_seconds()) < 1.5, "played at its time from what was on its disk"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MB file system (tmpfs) for the receiver's cache, so that it can really fill up."""
    mount = tmp_path / "sd-card"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"mounting a small tmpfs needs root: {result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Write a ballast file until the file system is full, to the last byte."""
    ballast = folder / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 8, 1):
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return ballast


def test_a_full_disk_on_the_receiver_fails_the_item_with_the_reason_and_it_carries_on(
        env: Env, small_disk: Path, tally: Tally) -> None:
    env.start_worker()
    agent = env.spawn_agent("loa-02", cache_dir=str(small_disk / "cache"))
    first = env.broadcast("Bản tin trước khi đầy thẻ nhớ.", targets=["loa-02"])
    wait_until(lambda: env.device_states(first["id"]) == {"loa-02": "played"}, timeout=60)

    ballast = fill(small_disk)
    doomed = env.broadcast(TEXT, targets=["loa-02"])
    wait_until(lambda: env.device_states(doomed["id"]) == {"loa-02": "failed"}, timeout=60)
    error = env.status(doomed["id"])["devices"][0]["error"]  # type: ignore[index]
    assert "No space left on device" in error or "disk is full" in error, error
    assert agent.poll() is None, "the receiver is still running"

    ballast.unlink()  # the operator clears the card
    after = env.broadcast("Bản tin sau khi đã có chỗ.", targets=["loa-02"])
    wait_until(lambda: env.device_states(after["id"]) == {"loa-02": "played"}, timeout=60)
    log = (env.root / "agents" / "loa-02.log").read_text()
    tally(tried="receiver's card filled to the last byte (4 MB tmpfs) before a broadcast, then cleared",
          lost=0 if error else 1, crashes=int(agent.poll() is not None) + log.count("Traceback"))
    assert agent.poll() is None and "Traceback" not in log
