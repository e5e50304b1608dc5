"""``broadcaster backup``: one tar archive with the database (every table's rows, read in one consistent
snapshot while the server runs), the audio the database refers to, the uploads, the signing key and the
configuration, each part listed with its SHA-256 in ``manifest.json``; ``broadcaster restore``: restore.py.

The rows are written as JSON lines, table by table, not as a database's own dump: the same code reads SQLite (a
snapshot taken with SQLite's online backup API) and PostgreSQL (one REPEATABLE READ, read-only transaction), needs
no ``pg_dump`` of the server's major version, and a backup restores into either database. A restore builds the
schema at the backup's migration, loads the rows, then runs the migrations up to the newest.

A restored server must not sign with a sequence number or hand out a broadcast id that receivers already saw
after the backup was taken (they would refuse the schedule as a replay, or ignore the broadcast as one they
know): the restore moves both past anything that can have been issued since (``SEQ_JUMP_S``, ``ID_JUMP``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import sys
import tarfile
import tempfile
import time
from base64 import b64decode, b64encode
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, MetaData, create_engine, inspect, make_url, select, text
from sqlalchemy.exc import SQLAlchemyError

from broadcaster import __version__
from broadcaster.assets import AssetStore
from broadcaster.config import ServerConfig
from edge_agent.protocol.signing import Signer
from edge_agent.settings import ConfigError, read_secret

FORMAT = 1
KIND = "loaxa-broadcaster-backup"
MANIFEST = "manifest.json"
SEQ_JUMP_S = 30 * 24 * 3600
"""After a restore the server signs from (the later of the backup's last number and the clock) plus 30 days of
sequence numbers: more than a worker that restarts (each start skips an hour, publisher.SEQ_SAVE_MARGIN) can have
issued since the backup in any likely case."""
ID_JUMP = 1_000_000
"""After a restore the next broadcast id is the backup's highest plus this: more broadcasts than any commune or
province makes between two backups, and room for 2,000 restores in a 32-bit id."""
BATCH = 1000
PART_NAME = re.compile(r"^(database/[a-z0-9_]+\.jsonl|assets/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]+|"
                       r"uploads/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*|config/[a-z0-9.-]+)$")
SECRETS = {"signing.key": ("signing", "key_file"), "mqtt-password": ("mqtt", "password_file"),
           "web-secret-key": ("web", "secret_key_file")}


class BackupError(Exception):
    """A backup that cannot be made or restored; the message says why and what to do."""


@dataclass
class Summary:
    path: Path
    revision: str
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    kid: str | None = None
    seq: int | None = None
    next_broadcast_id: int | None = None


# backing up ---------------------------------------------------------------------------------------------------

def create_backup(config: ServerConfig, out: Path, config_file: Path | None = None) -> Summary:
    """Write the archive to ``out`` (a temporary file renamed into place, 0600)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".backup-", dir=out.parent))
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    try:
        revision, rows = _dump_database(config.db_url, staging)
        parts: dict[str, dict[str, object]] = {}
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted((staging / "database").iterdir()):
                _add(tar, parts, f"database/{path.name}", path)
            store = AssetStore(config.asset_dir)
            assets = _referenced_assets(staging / "database" / "assets.jsonl")
            for asset in assets:
                if not store.path(asset).is_file():
                    raise BackupError(f"the database refers to audio {asset} but {store.path(asset)} is missing")
                _add(tar, parts, f"assets/{asset[:2]}/{store.path(asset).name}", store.path(asset))
            uploads = config.upload_dir
            for path in sorted(p for p in uploads.rglob("*") if p.is_file()) if uploads.is_dir() else []:
                _add(tar, parts, f"uploads/{path.relative_to(uploads).as_posix()}", path)
            if config_file is not None:
                _add(tar, parts, "config/server.toml", config_file)
            kid = None
            for name, (section, key) in SECRETS.items():
                secret = _secret(config, section, key)
                if secret is not None:
                    _add_bytes(tar, parts, f"config/{name}", (secret + "\n").encode())
                    if name == "signing.key":
                        kid = Signer.from_text(secret).kid
            manifest = {"format": FORMAT, "kind": KIND, "version": __version__, "schema_revision": revision,
                        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                        "database": make_url(config.db_url).get_backend_name(), "signing_kid": kid,
                        "rows": rows, "assets": len(assets), "parts": parts}
            _add_bytes(tar, {}, MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False).encode())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, out)
        _fsync_dir(out.parent)
        return Summary(out, revision, rows, sum(name.startswith(("assets/", "uploads/")) for name in parts), kid)
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest archives ``backup`` named in ``folder``; returns those deleted."""
    archives = sorted(folder.glob("loaxa-backup-*.tar"))
    old = archives[:-keep] if keep > 0 else []
    for path in old:
        path.unlink()
    return old


def archive_name(now: datetime | None = None) -> str:
    return f"loaxa-backup-{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}.tar"


def _dump_database(url: str, staging: Path) -> tuple[str, dict[str, int]]:
    folder = staging / "database"
    folder.mkdir()
    engine = create_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            source = str(engine.url.database or "")
            if not source or not Path(source).is_file():
                raise BackupError(f"no database at {source or url}: nothing to back up")
            snapshot = staging / "snapshot.db"
            with closing(sqlite3.connect(source, timeout=30)) as live, closing(sqlite3.connect(snapshot)) as copy:
                live.backup(copy)  # in one step: a consistent copy while the server keeps writing
            engine.dispose()
            engine = create_engine(f"sqlite:///{snapshot}")
            with engine.connect() as conn:
                return _dump_tables(conn, folder)
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.execute(text("SET TRANSACTION READ ONLY"))
                return _dump_tables(conn, folder)
    finally:
        engine.dispose()


def _dump_tables(conn: Connection, folder: Path) -> tuple[str, dict[str, int]]:
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" not in tables:
        raise BackupError("the database has no schema yet (run 'broadcaster init-db'): nothing to back up")
    revision = str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())
    metadata = MetaData()
    metadata.reflect(conn)
    rows: dict[str, int] = {}
    for table in metadata.sorted_tables:
        if table.name == "alembic_version":
            continue
        count = 0
        order = list(table.primary_key.columns) or list(table.columns)
        with (folder / f"{table.name}.jsonl").open("w", encoding="utf-8") as fh:
            for row in conn.execution_options(yield_per=BATCH).execute(select(table).order_by(*order)):
                fh.write(json.dumps({k: encode(v) for k, v in row._mapping.items()}, ensure_ascii=False) + "\n")
                count += 1
        rows[table.name] = count
    return revision, rows


def _referenced_assets(path: Path) -> list[str]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as fh:
        return sorted({json.loads(line)["id"] for line in fh if line.strip()})


def _secret(config: ServerConfig, section: str, key: str) -> str | None:
    if not getattr(getattr(config, section), key):
        return None
    try:
        return read_secret(None, getattr(getattr(config, section), key))
    except ConfigError as exc:
        raise BackupError(f"{section}.{key}: {exc}") from None


class _Hashing:
    """Reads a file for tarfile, hashing what passes through."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.sha = fh, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.sha.update(data)
        return data


def _add(tar: tarfile.TarFile, parts: dict[str, dict[str, object]], name: str, path: Path) -> None:
    info = tarfile.TarInfo(name)
    with path.open("rb") as fh:
        info.size = os.fstat(fh.fileno()).st_size
        info.mode, info.mtime = 0o600, int(time.time())
        reader = _Hashing(fh)
        tar.addfile(info, reader)
    parts[name] = {"sha256": reader.sha.hexdigest(), "size": info.size}


def _add_bytes(tar: tarfile.TarFile, parts: dict[str, dict[str, object]], name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    tar.addfile(info, io.BytesIO(data))
    parts[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def encode(value: object) -> object:
    if isinstance(value, datetime | date):
        return {"$time" if isinstance(value, datetime) else "$date": value.isoformat()}
    if isinstance(value, bytes | memoryview):
        return {"$bytes": b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, dict | list):
        return {"$json": value}
    return value


def decode(value: object) -> object:
    if not isinstance(value, dict):
        return value
    (tag, inner), = value.items()
    if tag == "$time":
        return datetime.fromisoformat(inner)
    if tag == "$date":
        return date.fromisoformat(inner)
    if tag == "$bytes":
        return b64decode(inner)
    if tag == "$decimal":
        return Decimal(inner)
    return inner


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
        data = tar.extractfile(member)
        manifest = json.loads(data.read()) if data is not None else None
    except (KeyError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND or not isinstance(manifest.get("parts"), dict):
        raise BackupError(f"{archive} is not a backup made by 'broadcaster backup' (no readable {MANIFEST})")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} is in backup format {manifest.get('format')}; this version reads {FORMAT}")
    return manifest


def run_backup(config: ServerConfig, config_file: Path | None, out: Path | None, out_dir: Path | None,
               keep: int) -> int:
    """The ``broadcaster backup`` command."""
    if (out is None) == (out_dir is None):
        print("broadcaster backup: give either --out FILE or --out-dir FOLDER", file=sys.stderr)
        return 2
    target = out if out is not None else (out_dir or Path()) / archive_name()
    try:
        summary = create_backup(config, target, config_file)
    except BackupError as exc:
        print(f"broadcaster backup: {exc}", file=sys.stderr)
        return 1
    except (OSError, SQLAlchemyError) as exc:
        print(f"broadcaster backup: failed, no archive written: {exc}", file=sys.stderr)
        return 1
    rows = sum(summary.rows.values())
    print(f"wrote {summary.path} (0600): {rows} rows of {len(summary.rows)} tables at schema {summary.revision}, "
          f"{summary.files} audio files and uploads"
          + ("" if summary.kid else "; NO signing key (signing.key_file is not set)"))
    if out_dir is not None and keep > 0:
        for old in prune(out_dir, keep):
            print(f"deleted {old} (keeping the {keep} newest)")
    return 0
