"""Backups that restore: an older backup of a running server, restored into a fresh data folder, carries on with
the same receivers (no replay refusal, nothing played twice, the reports sent since the backup learnt again)."""

from __future__ import annotations

import io
import json
import logging
import stat
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from broadcaster.cli import main
from broadcaster.config import ServerConfig, SigningSettings
from broadcaster.database import Database
from broadcaster.db import Bulletin, RefusalRecord
from edge_agent.protocol.signing import Signer
from tests.support.env import Env, wait_until

FIRST, SECOND, THIRD = "Thông báo một.", "Thông báo hai.", "Thông báo ba."
PAIR = ["loa-01", "loa-02"]


def write_config(path: Path, config: ServerConfig, data_dir: Path, database_url: str) -> Path:
    """The test's server settings as the server.toml an operator keeps, pointing at ``data_dir``."""
    mqtt = config.mqtt
    path.write_text(f'data_dir = "{data_dir}"\ndatabase_url = "{database_url}"\n'
                    f'[mqtt]\nport = {mqtt.port}\nusername = "{mqtt.username}"\npassword = "{mqtt.password}"\n'
                    f'topic_root = "{mqtt.topic_root}"\nclient_id = "{mqtt.client_id}"\n'
                    f'[signing]\nkey_file = "{config.signing.key_file}"\n[live]\nport = {config.live.port}\n'
                    f'[speech]\ntranscripts = false\n')
    return path


def url_of(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


def played(env: Env, device_id: str) -> list[int]:
    """The broadcast ids a receiver played, one per time it played one (its file sink names them)."""
    return sorted(int(f.stem.rsplit("-b", 1)[1]) for f in env.played_files(device_id))


def test_an_older_backup_restored_on_a_fresh_folder_carries_on_with_the_same_receivers(
        env: Env, database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="edge_agent")
    env.start_worker()
    env.start_agent("loa-01")
    first = env.broadcast(FIRST, targets=PAIR)
    wait_until(lambda: env.device_states(first["id"])["loa-01"] == "played", timeout=60)

    # A backup of the running server, while loa-02 has not played the first broadcast yet.
    original = write_config(tmp_path / "server.toml", env.config, Path(env.config.data_dir), url_of(database))
    archive = tmp_path / "backups" / "older.tar"
    assert main(["backup", "--config", str(original), "--out", str(archive)]) == 0
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600, "the archive holds the signing key: owner only"

    # Life goes on after the backup: loa-02 plays the first broadcast and reports it, the worker restarts (each
    # start signs an hour past the last number it saved), a second broadcast plays on both.
    env.start_agent("loa-02")
    wait_until(lambda: env.device_states(first["id"])["loa-02"] == "played", timeout=60)
    assert env.worker is not None
    env.worker.stop()
    env.start_worker()
    second = env.broadcast(SECOND, targets=PAIR)
    wait_until(lambda: set(env.device_states(second["id"]).values()) == {"played"}, timeout=60)
    env.worker.stop()
    env.worker = None

    # The server is lost; the older backup is restored into a fresh data folder (and an empty database).
    fresh = tmp_path / "restored"
    if database.engine.dialect.name == "sqlite":
        target_url = f"sqlite:///{fresh / 'broadcaster.db'}"
    else:
        database.drop_all()
        target_url = url_of(database)
    restored_toml = write_config(tmp_path / "restored.toml", env.config, fresh, target_url)
    assert main(["restore", str(archive), "--config", str(restored_toml)]) == 0

    restored_db = Database(target_url)
    restored = Env(replace(env.config, data_dir=str(fresh), database_url=target_url),
                   restored_db, env.token, env.broker, env.root)
    try:
        restored.start_worker()
        third = restored.broadcast(THIRD, targets=PAIR)
        assert int(str(third["id"])) > int(str(second["id"])), "a broadcast id receivers know is never reused"
        wait_until(lambda: set(restored.device_states(third["id"]).values()) == {"played"}, timeout=60)
        # loa-02 played the first broadcast after the backup: it tells the restored server again.
        wait_until(lambda: restored.device_states(first["id"]) == dict.fromkeys(PAIR, "played"), timeout=30)
        for device_id in PAIR:
            assert played(env, device_id) == sorted(int(str(b["id"])) for b in (first, second, third)), \
                f"{device_id} played each broadcast once"
        with restored_db.session() as session:
            assert session.query(RefusalRecord).count() == 0, "no receiver refused the restored server's messages"
    finally:
        if restored.worker is not None:
            restored.worker.stop()
        restored_db.engine.dispose()
    assert not [r for r in caplog.records if "refused" in r.getMessage()], "no receiver refused anything"


def backup_of(env: Env, database: Database, tmp_path: Path) -> Path:
    env.broadcast(FIRST, targets=["loa-01"])
    config = write_config(tmp_path / "server.toml", env.config, Path(env.config.data_dir), url_of(database))
    archive = tmp_path / "backup.tar"
    assert main(["backup", "--config", str(config), "--out", str(archive)]) == 0
    return archive


def test_a_damaged_archive_or_a_folder_in_use_is_refused_and_nothing_is_written(
        env: Env, database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = backup_of(env, database, tmp_path)
    fresh = tmp_path / "fresh"
    target = write_config(tmp_path / "fresh.toml", env.config, fresh, f"sqlite:///{fresh / 'broadcaster.db'}")

    # One byte of the database's rows changed: its hash no longer matches the manifest.
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w") as out:
        for member in source:
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "database/bulletins.jsonl":
                data = data.replace("một".encode(), b"hai")
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    assert main(["restore", str(damaged), "--config", str(target)]) == 1
    assert "damaged" in capsys.readouterr().err
    assert not (fresh / "broadcaster.db").exists() and not list(fresh.glob("assets/*/*")), "nothing restored"

    # A schema newer than this code.
    newer = tmp_path / "newer.tar"
    with tarfile.open(archive) as source, tarfile.open(newer, "w") as out:
        for member in source:
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                data = json.dumps({**json.loads(data), "schema_revision": "9999"}).encode()
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    assert main(["restore", str(newer), "--config", str(target)]) == 1
    assert "newer than this code" in capsys.readouterr().err

    # A machine whose signing key is another than the one the receivers trust.
    other = tmp_path / "other.key"
    Signer.generate().save(other)
    elsewhere = replace(env.config, signing=SigningSettings(key_file=str(other)))
    wrong_key = write_config(tmp_path / "wrong-key.toml", elsewhere, fresh, f"sqlite:///{fresh / 'broadcaster.db'}")
    assert main(["restore", str(archive), "--config", str(wrong_key)]) == 1
    assert "another signing key" in capsys.readouterr().err
    assert not (fresh / "broadcaster.db").exists()

    # The running server's own folder and database: refused without --force.
    in_use = write_config(tmp_path / "in-use.toml", env.config, Path(env.config.data_dir), url_of(database))
    assert main(["restore", str(archive), "--config", str(in_use)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert main(["restore", str(archive), "--config", str(target)]) == 0, "a fresh folder takes it"
    assert main(["restore", str(archive), "--config", str(target)]) == 1, "and then is in use"
    assert main(["restore", str(archive), "--config", str(target), "--force"]) == 0, "unless told to replace it"
    restored = Database(f"sqlite:///{fresh / 'broadcaster.db'}")
    with restored.session() as session:
        assert [b.title for b in session.query(Bulletin)] == ["Thử"], "the backup's rows, once"
    restored.engine.dispose()


def test_backups_on_a_timer_keep_the_newest(env: Env, database: Database, tmp_path: Path) -> None:
    config = write_config(tmp_path / "server.toml", env.config, Path(env.config.data_dir), url_of(database))
    folder = tmp_path / "nightly"
    folder.mkdir()
    for stamp in ("20261201T020000Z", "20261202T020000Z", "20261203T020000Z"):
        (folder / f"loaxa-backup-{stamp}.tar").write_bytes(b"old")
    assert main(["backup", "--config", str(config), "--out-dir", str(folder), "--keep", "2"]) == 0
    kept = sorted(p.name for p in folder.iterdir())
    assert len(kept) == 2 and kept[0] == "loaxa-backup-20261203T020000Z.tar", "the two newest are kept"
    with tarfile.open(folder / kept[1]) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert {"database/broadcasts.jsonl", "config/server.toml", "config/signing.key"} <= set(manifest["parts"])
    assert manifest["schema_revision"] and manifest["created_at"]
