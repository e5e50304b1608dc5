"""``broadcaster restore``: an archive ``broadcaster backup`` wrote (backup.py describes it), checked part by part
against its manifest before anything is touched, into an empty database and data folder; then the signing
sequence and the broadcast ids are moved past anything issued after the backup was taken."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, inspect, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from broadcaster import migrations
from broadcaster.config import ServerConfig
from broadcaster.db import IdFloor, SigningState
from broadcaster.ops.backup import (
    BATCH,
    ID_JUMP,
    MANIFEST,
    PART_NAME,
    SEQ_JUMP_S,
    BackupError,
    Summary,
    decode,
    read_manifest,
)
from edge_agent.protocol.signing import Signer
from edge_agent.settings import ConfigError


def restore_backup(archive: Path, config: ServerConfig, force: bool = False, seq_jump_s: int = SEQ_JUMP_S,
                   id_jump: int = ID_JUMP) -> Summary:
    """Restore ``archive`` into the database, data_dir and signing key file ``config`` names."""
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file")
    try:
        with tarfile.open(archive, mode="r:") as tar:
            return _restore(tar, archive, config, force, seq_jump_s, id_jump)
    except (tarfile.TarError, EOFError) as exc:
        raise BackupError(f"{archive} is damaged ({exc}); nothing was restored. Use another backup") from None


def _restore(tar: tarfile.TarFile, archive: Path, config: ServerConfig, force: bool, seq_jump_s: int,
             id_jump: int) -> Summary:
    manifest = read_manifest(tar, archive)
    revision = str(manifest["schema_revision"])
    _check_revision(revision)
    engine = create_engine(config.db_url)
    try:
        _check_empty(engine, config, force)
        data_dir = Path(config.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        if engine.dialect.name == "sqlite":
            Path(str(engine.url.database)).parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=data_dir))
        try:
            _extract(tar, manifest, staging, archive)
            signer = _key(staging / "config" / "signing.key", config)
            if force:
                _clear(engine)
            summary = _load(engine, staging / "database", revision, archive)
            _settle(engine, signer, seq_jump_s, id_jump, summary)
            summary.files = _move_files(staging, config)
            _write_key(staging / "config" / "signing.key", config)
            return summary
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        engine.dispose()


def _check_revision(revision: str) -> None:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    script = ScriptDirectory(str(migrations.HERE))
    try:
        known = script.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(f"the backup's database is at schema revision {revision!r}, newer than this code knows "
                          f"(newest {script.get_current_head()}): install the version that made it, then restore")


def _check_empty(engine: Engine, config: ServerConfig, force: bool) -> None:
    if force:
        return
    tables = inspect(engine).get_table_names() if _exists(engine) else []
    stored = [p for p in (config.asset_dir, config.upload_dir) if p.is_dir() and any(p.iterdir())]
    if tables or stored:
        where = f"the database has {len(tables)} tables" if tables else f"{stored[0]} is not empty"
        raise BackupError(f"the target is not empty ({where}): restore into a fresh data folder and database, or "
                          "stop the server and give --force to replace what is there")


def _exists(engine: Engine) -> bool:
    return engine.dialect.name != "sqlite" or Path(str(engine.url.database or "")).is_file()


def _extract(tar: tarfile.TarFile, manifest: dict[str, Any], staging: Path, archive: Path) -> None:
    """Every part into ``staging``, each checked against the manifest; nothing else is written."""
    parts: dict[str, dict[str, Any]] = manifest["parts"]
    seen: set[str] = set()
    for member in tar:
        if member.name == MANIFEST:
            continue
        expected = parts.get(member.name)
        if expected is None or not member.isfile() or not PART_NAME.match(member.name) or ".." in member.name:
            raise BackupError(f"{archive} holds {member.name!r}, which its manifest does not list: refused")
        source = tar.extractfile(member)
        target = staging / member.name
        target.parent.mkdir(parents=True, exist_ok=True)
        sha = hashlib.sha256()
        with target.open("wb") as fh:
            while source is not None and (block := source.read(1 << 20)):
                sha.update(block)
                fh.write(block)
        if sha.hexdigest() != expected.get("sha256"):
            raise BackupError(f"{archive} is damaged: {member.name} does not match its SHA-256 in the manifest; "
                              "nothing was restored. Use another backup")
        seen.add(member.name)
    missing = sorted(set(parts) - seen)
    if missing:
        raise BackupError(f"{archive} is damaged: {len(missing)} parts are missing (first: {missing[0]}); "
                          "nothing was restored. Use another backup")


def _key(path: Path, config: ServerConfig) -> Signer | None:
    """The key whose sequence to move on: the archived one (refused when the target already has another, since
    receivers pin the archived one), else the one configured here, if any."""
    try:
        present = config.signer() if config.signing.key_file else None
    except ConfigError:
        present = None
    if not path.is_file():
        return present
    try:
        archived = Signer.from_text(path.read_text())
    except ValueError as exc:
        raise BackupError(f"the backup's signing key cannot be read: {exc}") from None
    if present is not None and present.kid != archived.kid:
        raise BackupError(f"{config.signing.key_file} holds another signing key ({present.kid}) than the backup's "
                          f"({archived.kid}), which the receivers trust: move it away and restore again")
    return archived


def _clear(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{engine.url.database}{suffix}").unlink(missing_ok=True)
        return
    metadata = MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)


def _load(engine: Engine, folder: Path, revision: str, archive: Path) -> Summary:
    from alembic import command

    command.upgrade(migrations.alembic_config(engine), revision)  # the schema the rows were taken from
    metadata = MetaData()
    metadata.reflect(engine)
    rows: dict[str, int] = {}
    with engine.begin() as conn:  # (SQLite: foreign keys are not enforced on this plain connection)
        for table in metadata.sorted_tables:
            path = folder / f"{table.name}.jsonl"
            if table.name != "alembic_version" and path.is_file():
                rows[table.name] = _load_table(conn, table, path, archive)
    migrations.upgrade(engine)  # then up to this code's schema
    return Summary(archive, revision, rows)


def _load_table(conn: Connection, table: Table, path: Path, archive: Path) -> int:
    own = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    later: list[dict[str, object]] = []
    count = 0
    for batch in _batches(path):
        unknown = set(batch[0]) - set(table.columns.keys())
        if unknown:
            raise BackupError(f"{archive}: table {table.name} has columns {sorted(unknown)} that the schema lacks")
        if own and conn.dialect.name != "sqlite":  # a row may refer to one loaded after it: set those at the end
            later += [{**{c: row[c] for c in own}, "_key": row[_pk(table)]} for row in batch]
            batch = [{**row, **dict.fromkeys(own)} for row in batch]
        conn.execute(table.insert(), batch)
        count += len(batch)
    for values in later:
        ident = values.pop("_key")
        conn.execute(update(table).where(table.columns[_pk(table)] == ident).values(**values))
    return count


def _pk(table: Table) -> str:
    return next(iter(table.primary_key.columns)).name


def _batches(path: Path) -> Iterator[list[dict[str, object]]]:
    batch: list[dict[str, object]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            batch.append({k: decode(v) for k, v in json.loads(line).items()})
            if len(batch) == BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _settle(engine: Engine, signer: Signer | None, seq_jump_s: int, id_jump: int, summary: Summary) -> None:
    """Move the signing sequence and the broadcast ids past whatever can have been issued since the backup, and
    PostgreSQL's other sequences past the rows loaded."""
    now_us = time.time_ns() // 1000
    with Session(engine) as session, session.begin():
        kids = {s.kid for s in session.query(SigningState)} | ({signer.kid} if signer else set())
        for kid in kids:
            state = session.get(SigningState, kid) or SigningState(kid=kid, last_seq=0)
            state.last_seq = max(state.last_seq, now_us) + seq_jump_s * 1_000_000
            session.add(state)
            if signer is not None and kid == signer.kid:
                summary.kid, summary.seq = kid, state.last_seq
        top = session.execute(text("SELECT MAX(id) FROM broadcasts")).scalar() or 0
        summary.next_broadcast_id = int(top) + id_jump
        if engine.dialect.name == "sqlite":
            session.merge(IdFloor(table="broadcasts", next_id=summary.next_broadcast_id))
            return
        for name in inspect(session.get_bind()).get_table_names():
            columns = inspect(session.get_bind()).get_pk_constraint(name)["constrained_columns"]
            if len(columns) != 1:
                continue
            sequence = session.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                       {"t": name, "c": columns[0]}).scalar()
            if sequence is None:
                continue
            highest = session.execute(text(f'SELECT MAX("{columns[0]}") FROM "{name}"')).scalar()
            if name == "broadcasts":
                session.execute(text("SELECT setval(:s, :v, false)"),
                                {"s": sequence, "v": summary.next_broadcast_id})
            elif highest is not None:
                session.execute(text("SELECT setval(:s, :v)"), {"s": sequence, "v": int(highest)})


def _move_files(staging: Path, config: ServerConfig) -> int:
    """The audio and uploads into place: renamed within data_dir, so nothing is copied twice."""
    count = 0
    for part, destination in (("assets", config.asset_dir), ("uploads", config.upload_dir)):
        source = staging / part
        for path in sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else []:
            target = destination / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                os.replace(path, target)
            count += 1
    return count


def _write_key(path: Path, config: ServerConfig) -> None:
    """Put the archived key where the configuration looks for it, when nothing is there yet."""
    if not path.is_file() or not config.signing.key_file:
        return
    target = Path(config.signing.key_file)
    if target.is_absolute() and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(path.read_text())


def run_restore(config: ServerConfig, archive: Path, force: bool, seq_jump_days: int) -> int:
    """The ``broadcaster restore`` command."""
    try:
        summary = restore_backup(archive, config, force, seq_jump_s=seq_jump_days * 86400)
    except BackupError as exc:
        print(f"broadcaster restore: {exc}", file=sys.stderr)
        return 1
    except (OSError, SQLAlchemyError) as exc:
        print(f"broadcaster restore: failed: {exc}; restore again with --force once it is mended", file=sys.stderr)
        return 1
    print(f"restored {archive}: {sum(summary.rows.values())} rows (schema {summary.revision}, now upgraded to "
          f"the newest), {summary.files} audio files and uploads into {config.data_dir}")
    if summary.kid:
        print(f"signing key {summary.kid}: sequence numbers continue from {summary.seq}, {seq_jump_days} days "
              "ahead of the clock, so receivers take the next schedules as new")
    print(f"the next broadcast is number {summary.next_broadcast_id}: ids used since the backup are never reused. "
          "Start the worker and web (systemctl start broadcaster.target); receivers resend what they played "
          "since the backup when they see their schedules again")
    return 0
