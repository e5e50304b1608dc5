"""Signed schedules and manifests: receivers take orders only from the server's key, current and in order."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broadcaster.cli import main
from broadcaster.config import ServerConfig
from broadcaster.db import RefusalRecord
from broadcaster.delivery.worker import Worker
from edge_agent.protocol import Schedule, ScheduleEntry, Topics
from edge_agent.protocol.signing import SignatureError, Signer, Verifier
from edge_agent.settings import ConfigError
from tests.support.env import Env, server_client, wait_until

TOPIC = "loaxa/dev/loa-01/schedule"
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def schedule(device: str = "loa-01", broadcast_id: int = 7) -> Schedule:
    return Schedule(device, NOW, [ScheduleEntry(broadcast_id, "ab" * 32, "Họp dân", created_at=NOW)])


def opened(payload: bytes) -> dict[str, object]:
    data = json.loads(payload)
    assert isinstance(data, dict)
    return data


def test_a_signed_message_verifies_and_every_alteration_is_refused() -> None:
    server = Signer.generate()
    verifier = Verifier([server.public_text])
    payload = server.sign(TOPIC, schedule().to_dict(), timedelta(hours=1), now=NOW)
    seq = verifier.verify(TOPIC, opened(payload), NOW)
    assert seq > 0

    def reason(data: dict[str, object], topic: str = TOPIC, now: datetime = NOW, newest: int = 0) -> str:
        with pytest.raises(SignatureError) as caught:
            verifier.verify(topic, data, now, newest)
        return caught.value.reason

    tampered = opened(payload)
    tampered["entries"][0]["title"] = "Sơ tán ngay"  # type: ignore[index]
    assert reason(tampered) == "bad_signature"
    assert reason(opened(payload), topic="loaxa/dev/loa-02/schedule") == "bad_signature"
    later = opened(payload)
    later["sig"]["exp"] = "2099-01-01T00:00:00.000Z"  # type: ignore[index]
    assert reason(later) == "bad_signature"
    unsigned = opened(payload)
    del unsigned["sig"]
    assert reason(unsigned) == "unsigned"
    broken = opened(payload)
    broken["sig"] = {"kid": "x", "seq": "1"}
    assert reason(broken) == "malformed"
    assert reason(opened(payload), now=NOW + timedelta(hours=2)) == "expired"
    assert reason(opened(payload), newest=seq + 1) == "replayed"
    assert verifier.verify(TOPIC, opened(payload), NOW, newest_seq=seq) == seq  # the same message redelivered
    stranger = Signer.generate().sign(TOPIC, schedule().to_dict(), timedelta(hours=1), now=NOW)
    assert reason(opened(stranger)) == "unknown_key"


def test_sequence_numbers_only_grow() -> None:
    signer = Signer.generate()
    seqs = [opened(signer.sign(TOPIC, schedule().to_dict(), timedelta(hours=1)))["sig"]["seq"]  # type: ignore[index]
            for _ in range(50)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 50


def test_two_trusted_keys_during_a_rotation() -> None:
    old, new = Signer.generate(), Signer.generate()
    verifier = Verifier([old.public_text, new.public_text])
    for signer in (old, new):
        verifier.verify(TOPIC, opened(signer.sign(TOPIC, schedule().to_dict(), timedelta(hours=1), now=NOW)), NOW)


def test_keys_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "signing.key"
    assert main(["keys", "generate", "--out", str(key)]) == 0
    public = capsys.readouterr().out.strip().splitlines()[-1]
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert main(["keys", "generate", "--out", str(key)]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["keys", "public", "--key", str(key)]) == 0
    assert capsys.readouterr().out.strip() == public
    Verifier([public])  # what it prints is what a receiver pins


def test_the_worker_will_not_run_without_a_signing_key(env: Env) -> None:
    unsigned = ServerConfig(data_dir=env.config.data_dir, mqtt=env.config.mqtt)
    with pytest.raises(ConfigError, match="broadcaster keys generate"):
        Worker(unsigned, env.db)


def refusals(env: Env) -> list[tuple[str, str]]:
    with env.db.session() as session:
        return [(r.device_id, r.reason) for r in session.query(RefusalRecord).order_by(RefusalRecord.id)]


def test_forged_and_replayed_schedules_are_refused_and_reported(env: Env) -> None:
    env.start_worker()
    agent = env.start_agent("loa-01")
    wait_until(lambda: agent.link.ready.is_set())
    topics = Topics(env.config.mqtt.topic_root)
    topic = topics.schedule("loa-01")
    now = datetime.now(UTC)
    attacker = server_client(env, "attacker")  # someone holding broker credentials, but not the key

    def send(payload: bytes) -> None:
        attacker.publish(topic, payload, qos=1).wait_for_publish(5)

    forged = Signer.generate().sign(topic, Schedule("loa-01", now, [ScheduleEntry(501, "ab" * 32, "giả mạo",
                                                                                  created_at=now)]).to_dict(),
                                    timedelta(hours=1))
    send(forged)
    wait_until(lambda: ("loa-01", "unknown_key") in refusals(env), timeout=15)
    assert "501" not in agent.store.entries

    # A genuine schedule, then a newer one; the older one sent again is a replay.
    older = env.signed(topic, Schedule("loa-01", now, [ScheduleEntry(502, "cd" * 32, "cũ", created_at=now,
                                                                     grace_s=5)]))
    newer = env.signed(topic, Schedule("loa-01", now, []))
    send(older)
    wait_until(lambda: "502" in agent.store.entries, timeout=15)
    send(newer)
    wait_until(lambda: agent.store.newest_seq(topic) == opened(newer)["sig"]["seq"], timeout=15)  # type: ignore[index]
    agent.stop()
    rebooted = env.start_agent("loa-01")  # what it accepted survives a reboot
    wait_until(lambda: rebooted.link.ready.is_set())
    send(older)
    wait_until(lambda: ("loa-01", "replayed") in refusals(env), timeout=15)
    send(env.signed(topic, Schedule("loa-01", now, []), ttl=timedelta(seconds=-1)))
    wait_until(lambda: ("loa-01", "expired") in refusals(env), timeout=15)
    send(b'{"v": 1, "type": "schedule", "device": "loa-01"}')
    wait_until(lambda: ("loa-01", "unsigned") in refusals(env), timeout=15)
    attacker.loop_stop()
    attacker.disconnect()


def test_a_manifest_not_signed_by_the_server_is_refused(env: Env) -> None:
    from edge_agent.protocol import Manifest

    env.start_worker()
    agent = env.start_agent("loa-02")
    wait_until(lambda: agent.link.ready.is_set())
    topics = Topics(env.config.mqtt.topic_root)
    asset = "ef" * 32
    now = datetime.now(UTC)
    attacker = server_client(env, "manifest")
    attacker.publish(topics.schedule("loa-02"), env.signed(topics.schedule("loa-02"), Schedule("loa-02", now, [
        ScheduleEntry(601, asset, "cần âm thanh", created_at=now)])), qos=1, retain=True).wait_for_publish(5)
    wait_until(lambda: asset in agent.fetches, timeout=15)
    fake = Manifest(asset, "opus", 2048, 1024, ["00" * 32, "11" * 32], 3.0)
    forged = Signer.generate().sign(topics.manifest(asset), fake.to_dict(), timedelta(hours=1))
    attacker.publish(topics.manifest(asset), forged, qos=1).wait_for_publish(5)
    wait_until(lambda: ("loa-02", "unknown_key") in refusals(env), timeout=15)
    assert agent.fetches[asset].download is None, "the forged manifest started no download"
    attacker.loop_stop()
    attacker.disconnect()


def test_sequence_numbers_never_go_back_across_restarts_even_if_the_clock_does(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import time as real_time

    first = Worker(env.config, env.db)
    first.start()
    issued = opened(first.publisher.signer.sign(TOPIC, schedule().to_dict(), timedelta(hours=1)))["sig"]["seq"]  # type: ignore[index]
    first.stop()
    # The server's clock is stepped back ten minutes (an NTP correction) and the worker restarts.
    earlier = real_time.time_ns() // 1000 - 600 * 10**6
    monkeypatch.setattr("edge_agent.protocol.signing._now_us", lambda: earlier)
    second = Worker(env.config, env.db)
    second.start()
    try:
        later = opened(second.publisher.signer.sign(TOPIC, schedule().to_dict(), timedelta(hours=1)))["sig"]["seq"]  # type: ignore[index]
    finally:
        second.stop()
    assert later > issued, "receivers would refuse it as a replay"
