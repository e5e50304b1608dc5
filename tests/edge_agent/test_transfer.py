"""Chunked audio transfer: verified chunks, resume from disk, a lost and a corrupt chunk over a real broker."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.protocol import ChunkRequest, Manifest, Topics
from edge_agent.transfer import Download, TransferError
from tests.support.env import SERVER_USER, Env, wait_until


def make_manifest(data: bytes, chunk_size: int = 1024) -> tuple[Manifest, list[bytes]]:
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    manifest = Manifest(hashlib.sha256(data).hexdigest(), "opus", len(data), chunk_size,
                        [hashlib.sha256(c).hexdigest() for c in chunks], 1.0)
    return manifest, chunks


def test_download_assembles_verified_chunks_in_any_order(tmp_path: Path) -> None:
    data = os.urandom(5000)
    manifest, chunks = make_manifest(data)
    download = Download(tmp_path / "partial", manifest)
    for seq in (4, 0, 2, 1, 3):
        assert download.accept(seq, chunks[seq])
    assert download.complete()
    final = download.finalize(tmp_path / "assets" / "a.ogg")
    assert final.read_bytes() == data
    assert list((tmp_path / "partial").iterdir()) == [], "no partial files are left behind"


def test_corrupt_chunk_is_refused_and_reported_missing(tmp_path: Path) -> None:
    manifest, chunks = make_manifest(os.urandom(3000))
    download = Download(tmp_path, manifest)
    assert not download.accept(1, b"x" * len(chunks[1]))
    assert not download.accept(7, chunks[0]), "a chunk number beyond the manifest is refused"
    assert download.accept(0, chunks[0])
    assert download.missing() == [1, 2]
    assert not download.complete()


def test_download_resumes_after_restart_from_bitmap_on_disk(tmp_path: Path) -> None:
    data = os.urandom(4096)
    manifest, chunks = make_manifest(data)
    first = Download(tmp_path, manifest)
    first.accept(0, chunks[0])
    first.accept(2, chunks[2])
    del first  # the receiver reboots
    again = Download(tmp_path, manifest)
    assert again.missing() == [1, 3]
    again.accept(1, chunks[1])
    again.accept(3, chunks[3])
    assert again.finalize(tmp_path / "done.ogg").read_bytes() == data


def test_whole_file_hash_mismatch_is_refused(tmp_path: Path) -> None:
    manifest, chunks = make_manifest(os.urandom(2048))
    # A manifest whose chunk hashes are right but whose asset hash is wrong (a forged or broken manifest).
    bad = Manifest("0" * 64, manifest.codec, manifest.size, manifest.chunk_size, manifest.chunks, 1.0)
    download = Download(tmp_path, bad)
    for seq, chunk in enumerate(chunks):
        download.accept(seq, chunk)
    with pytest.raises(TransferError, match="whole-file hash"):
        download.finalize(tmp_path / "x.ogg")
    assert not (tmp_path / "x.ogg").exists()


def test_unreadable_bitmap_starts_over(tmp_path: Path) -> None:
    manifest, chunks = make_manifest(os.urandom(2048))
    Download(tmp_path, manifest).accept(0, chunks[0])
    (tmp_path / f"{manifest.asset}.json").write_text("{not json")
    assert Download(tmp_path, manifest).missing() == [0, 1]


def test_lost_and_corrupt_chunks_are_fetched_again_over_mqtt(env: Env) -> None:
    env.config.mqtt.chunk_kib = 8  # several chunks even for a short bulletin
    env.start_worker()
    broadcast = env.broadcast("Thông báo khẩn: mất điện từ 14h đến 16h chiều nay.", targets=["loa-x"])
    wait_until(lambda: env.status(broadcast["id"])["state"] == "sent")
    asset = env.status(broadcast["id"])["asset"]
    assert isinstance(asset, str)
    topics = Topics(env.config.mqtt.topic_root)

    # Act as the network: lose chunk 0 (clear the retained copy) and corrupt chunk 1 on the broker,
    # and listen for the device asking again.
    requests: list[ChunkRequest] = []
    spy = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="spy-" + topics.root)
    spy.username_pw_set(SERVER_USER, env.broker.users[SERVER_USER])
    spy.on_message = lambda c, u, m: requests.append(ChunkRequest.from_bytes(m.payload))
    spy.connect("127.0.0.1", env.broker.server_port)
    spy.loop_start()
    spy.subscribe(topics.request("loa-x"), qos=1)
    lost_info = spy.publish(topics.chunk(asset, 0), b"", qos=1, retain=True)
    corrupt_info = spy.publish(topics.chunk(asset, 1), b"\x00garbage" * 100, qos=1, retain=True)
    lost_info.wait_for_publish(5)
    corrupt_info.wait_for_publish(5)

    env.start_agent("loa-x")
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-x": "played"}, timeout=60)
    spy.loop_stop()
    spy.disconnect()

    assert requests, "the device asked the server again"
    assert {0, 1} <= {seq for r in requests for seq in r.seqs}
    cached = Path(env.agents["loa-x"].store.asset_path(asset))
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == asset, "the cached file is exactly the asset"
    assert len(env.played_files("loa-x")) == 1


def test_many_receivers_asking_for_a_whole_asset_at_once_get_it_published_once(env: Env) -> None:
    """An empty chunk_request (the manifest and every chunk) from every receiver of a village at once must not
    make the server publish the whole asset once per receiver: on a weak link every copy queues in the broker."""
    env.config.mqtt.chunk_kib = 8
    env.start_worker()
    broadcast = env.broadcast("Thông báo: mất điện từ 14h đến 16h chiều nay.", targets=["loa-x"])
    wait_until(lambda: env.status(broadcast["id"])["state"] == "sent")
    asset = env.status(broadcast["id"])["asset"]
    assert isinstance(asset, str)
    topics = Topics(env.config.mqtt.topic_root)
    published: list[str] = []
    spy = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="spy-" + topics.root)
    spy.username_pw_set(SERVER_USER, env.broker.users[SERVER_USER])
    spy.on_message = lambda c, u, m: None if m.retain else published.append(m.topic)
    spy.connect("127.0.0.1", env.broker.server_port)
    spy.loop_start()
    spy.subscribe(topics.chunk(asset, 0), qos=1)
    time.sleep(0.5)
    askers = []
    for device in ("loa-01", "loa-02", "loa-03"):
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device)
        client.username_pw_set(device, env.broker.users[device])
        client.connect("127.0.0.1", env.broker.port)
        client.loop_start()
        askers.append(client)
    request = ChunkRequest(asset, []).to_bytes()
    for _ in range(3):
        for device, client in zip(("loa-01", "loa-02", "loa-03"), askers, strict=True):
            client.publish(topics.request(device), request, qos=1).wait_for_publish(5)
    wait_until(lambda: published, timeout=10)
    time.sleep(1.0)
    assert len(published) == 1, "nine requests within a second: chunk 0 went out once"
    time.sleep(2.0)
    askers[0].publish(topics.request("loa-01"), request, qos=1).wait_for_publish(5)
    time.sleep(1.0)
    assert len(published) == 1, "loa-01 asked again for what it was sent 3 s ago: still on its way, not resent"
    late = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="loa-late")
    late.username_pw_set("loa-late", env.broker.users["loa-late"])
    late.connect("127.0.0.1", env.broker.port)
    late.loop_start()
    askers.append(late)
    late.publish(topics.request("loa-late"), request, qos=1).wait_for_publish(5)
    wait_until(lambda: len(published) == 2, timeout=10)  # another receiver, 2 s later: published again
    for client in (*askers, spy):
        client.loop_stop()
        client.disconnect()
