"""The receiver's audio cache: bounded, evicting what is no longer needed, and honest about a full disk."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from edge_agent.store import Store
from edge_agent.transfer import Download
from tests.support.env import Env, wait_until

MB = 1024 * 1024


def test_eviction_takes_unneeded_audio_oldest_first(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for age, name in enumerate(("old", "mid", "new", "kept")):
        path = store.asset_path(name * 8)
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1_000_000 + age, 1_000_000 + age))
    assert store.evict(keep={"kept" * 8}, room_for=1000, limit=3000)
    remaining = sorted(p.stem for p in store.assets.glob("*.ogg"))
    assert remaining == sorted(["new" * 8, "kept" * 8]), "the two oldest unneeded files went"
    assert not store.evict(keep={"kept" * 8, "new" * 8}, room_for=5000, limit=3000), "what is needed stays"
    assert (store.asset_path("kept" * 8)).exists()
    store.close()


def test_a_schedule_kept_by_an_older_agent_is_carried_over(tmp_path: Path) -> None:
    import json
    import sqlite3
    from datetime import UTC, datetime

    from edge_agent.protocol import ScheduleEntry

    entry = ScheduleEntry(12, "cd" * 32, "Đã phát", created_at=datetime.now(UTC))
    old = sqlite3.connect(tmp_path / "agent.db")  # the layout before recurring entries: one row per broadcast
    old.execute("CREATE TABLE entries (broadcast_id INTEGER PRIMARY KEY, entry TEXT NOT NULL, "
                "state TEXT NOT NULL, started_at TEXT, finished_at TEXT, error TEXT)")
    old.execute("INSERT INTO entries VALUES (12, ?, 'played', NULL, NULL, NULL)", (json.dumps(entry.to_dict()),))
    old.commit()
    old.close()
    store = Store(tmp_path)
    assert store.entries["12"].state == "played", "what the old agent played stays played"
    assert store.add(entry) is None, "so it never plays again after the upgrade"
    store.close()
    tables = sqlite3.connect(tmp_path / "agent.db").execute("SELECT name FROM sqlite_master").fetchall()
    assert ("entries",) not in tables


def test_the_local_schedule_survives_a_reboot_and_a_damaged_database_starts_afresh(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from edge_agent.protocol import ScheduleEntry

    store = Store(tmp_path)
    local = store.add(ScheduleEntry(11, "ab" * 32, "Họp dân", created_at=datetime.now(UTC)))
    assert local is not None
    store.update(local, state="played", finished_at=datetime.now(UTC))
    store.accept_seq("t/dev/x/schedule", 500)
    store.accept_seq("t/dev/x/schedule", 400)  # never goes back
    store.set_setting("volume", 35)
    store.close()

    rebooted = Store(tmp_path)
    assert rebooted.entries["11"].state == "played" and rebooted.entries["11"].entry.title == "Họp dân"
    assert rebooted.add(ScheduleEntry(11, "ab" * 32, "again", created_at=datetime.now(UTC))) is None
    assert rebooted.newest_seq("t/dev/x/schedule") == 500 and rebooted.setting("volume") == 35
    rebooted.close()

    (tmp_path / "agent.db").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp_path / 'agent.db'}{suffix}").unlink(missing_ok=True)
    fresh = Store(tmp_path)
    assert fresh.entries == {} and (tmp_path / "agent.corrupt").exists()
    fresh.close()


def test_a_small_cache_evicts_played_audio_and_refuses_what_cannot_fit(env: Env) -> None:
    env.start_worker()
    agent = env.start_agent("loa-02")
    first = env.broadcast("Bản tin thứ nhất.", targets=["loa-02"])
    wait_until(lambda: env.device_states(first["id"]) == {"loa-02": "played"}, timeout=60)
    size = len(env.audio_of(first["id"]))
    agent.config.cache_max_mb = 1.6 * size / MB  # room for one more file, not two
    second = env.broadcast("Bản tin thứ hai, dài hơn một chút.", targets=["loa-02"])
    wait_until(lambda: env.device_states(second["id"]) == {"loa-02": "played"}, timeout=60)
    cached = {p.stem for p in agent.store.assets.glob("*.ogg")}
    assert env.status(first["id"])["asset"] not in cached, "the played one made room"
    assert env.status(second["id"])["asset"] in cached

    agent.config.cache_max_mb = 0.5 * size / MB  # now nothing fits
    third = env.broadcast("Bản tin thứ ba không vừa bộ nhớ.", targets=["loa-02"])
    wait_until(lambda: env.device_states(third["id"]) == {"loa-02": "failed"}, timeout=60)
    devices = env.status(third["id"])["devices"]
    assert isinstance(devices, list) and "cache full" in devices[0]["error"]


def test_a_full_disk_fails_the_entry_with_the_reason_and_the_receiver_carries_on(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.start_worker()
    env.start_agent("loa-01")
    real_accept = Download.accept

    def disk_full(self: Download, seq: int, data: bytes) -> bool:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Download, "accept", disk_full)  # the disk: the one part we fake
    doomed = env.broadcast("Không còn chỗ trên thẻ nhớ.", targets=["loa-01"])
    wait_until(lambda: env.device_states(doomed["id"]) == {"loa-01": "failed"}, timeout=60)
    devices = env.status(doomed["id"])["devices"]
    assert isinstance(devices, list) and "No space left on device" in devices[0]["error"]

    monkeypatch.setattr(Download, "accept", real_accept)  # space again
    fine = env.broadcast("Đã có chỗ trở lại.", targets=["loa-01"])
    wait_until(lambda: env.device_states(fine["id"]) == {"loa-01": "played"}, timeout=60)
