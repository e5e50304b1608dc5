"""The device's local schedule and audio cache, kept on disk (SQLite and files) so it survives a reboot."""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from edge_agent.protocol import ScheduleEntry
from edge_agent.protocol.fields import PRIORITY_RANK, format_time, parse_time

logger = logging.getLogger(__name__)


class DiskFull(OSError):
    """The receiver's card is full: its store cannot take what it was given."""


@contextmanager
def _full_disk_as_oserror() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL" or "disk is full" in str(exc):
            raise DiskFull(errno.ENOSPC, "No space left on device: the receiver's schedule store cannot be "
                                         "written") from exc
        raise

FINAL_STATES = ("played", "missed", "failed", "interrupted", "cancelled", "ended")
"""``ended``: a recurring entry past its last day (its occurrences carry their own states)."""


@dataclass
class LocalEntry:
    """A schedule entry and what happened to it on this device."""

    entry: ScheduleEntry
    state: str = "pending"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    occurrence: datetime | None = None
    """Set on one play of a recurring entry: its planned time (``entry.play_at`` is the same)."""

    @property
    def key(self) -> str:
        """Unique on this device: the broadcast id, and for one play of a recurring entry its time too."""
        bid = self.entry.broadcast_id
        return f"{bid}@{format_time(self.occurrence)}" if self.occurrence else str(bid)

    @property
    def recurring(self) -> bool:
        """A recurring entry itself: never played as such, its occurrences are."""
        return self.entry.repeat is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry.to_dict(),
            "state": self.state,
            "started_at": format_time(self.started_at),
            "finished_at": format_time(self.finished_at),
            "error": self.error,
            "occurrence": format_time(self.occurrence),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LocalEntry:
        return cls(
            entry=ScheduleEntry.from_dict(data["entry"]),
            state=data["state"],
            started_at=parse_time(data.get("started_at"), "started_at"),
            finished_at=parse_time(data.get("finished_at"), "finished_at"),
            error=data.get("error"),
            occurrence=parse_time(data.get("occurrence"), "occurrence"),
        )


class Store:
    """Audio files under ``assets/``; the schedule, what happened to each entry, accepted message sequence
    numbers and remote settings in ``agent.db`` (SQLite, every change committed before it is acted on)."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS items (key TEXT PRIMARY KEY, entry TEXT NOT NULL, state TEXT NOT NULL, "
        "started_at TEXT, finished_at TEXT, error TEXT, occurrence TEXT)",
        "CREATE TABLE IF NOT EXISTS sequences (topic TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    )

    def __init__(self, cache_dir: Path) -> None:
        self.root = cache_dir
        self.assets = cache_dir / "assets"
        self.partial = cache_dir / "partial"
        self.assets.mkdir(parents=True, exist_ok=True)
        self.partial.mkdir(parents=True, exist_ok=True)
        self._path = cache_dir / "agent.db"
        self._lock = threading.RLock()
        self.entries: dict[str, LocalEntry] = {}
        """By ``LocalEntry.key``."""
        self._unsaved: set[str] = set()
        self._unsaved_seqs: dict[str, int] = {}
        self._db = self._open()
        self._load()

    def _open(self) -> sqlite3.Connection:
        for attempt in (1, 2):
            try:
                db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")  # a power cut must not lose an accepted entry
                for statement in self.SCHEMA:
                    db.execute(statement)
                self._migrate(db)
                db.execute("SELECT count(*) FROM items").fetchone()
                return db
            except sqlite3.DatabaseError as exc:
                if attempt == 2:
                    raise
                # Keep the damaged file for inspection; the server's retained schedule refills us.
                backup = self._path.with_suffix(".corrupt")
                os.replace(self._path, backup)
                for suffix in ("-wal", "-shm"):
                    Path(f"{self._path}{suffix}").unlink(missing_ok=True)
                logger.error("local database unreadable (%s); moved to %s and started afresh", exc, backup)
        raise AssertionError("unreachable")

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        """Agents before recurring entries kept one row per broadcast in ``entries``: carry them over."""
        if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entries'").fetchone():
            db.execute("BEGIN")
            db.execute("INSERT OR IGNORE INTO items (key, entry, state, started_at, finished_at, error) "
                       "SELECT CAST(broadcast_id AS TEXT), entry, state, started_at, finished_at, error FROM entries")
            db.execute("DROP TABLE entries")
            db.execute("COMMIT")

    def _load(self) -> None:
        rows = self._db.execute("SELECT entry, state, started_at, finished_at, error, occurrence FROM items")
        for entry, state, started_at, finished_at, error, occurrence in rows.fetchall():
            try:
                local = LocalEntry.from_json({"entry": json.loads(entry), "state": state, "started_at": started_at,
                                              "finished_at": finished_at, "error": error, "occurrence": occurrence})
            except (ValueError, KeyError) as exc:
                logger.error("skipping an unreadable schedule entry: %s", exc)
                continue
            self.entries[local.key] = local

    def _write(self, local: LocalEntry) -> None:
        data = local.to_json()
        with _full_disk_as_oserror():
            self._db.execute(
                "INSERT OR REPLACE INTO items (key, entry, state, started_at, finished_at, error, occurrence) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (local.key, json.dumps(data["entry"], ensure_ascii=False), local.state, data["started_at"],
                 data["finished_at"], local.error, data["occurrence"]),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, entry: ScheduleEntry, occurrence: datetime | None = None, state: str = "pending"
            ) -> LocalEntry | None:
        """Add an entry (or one ``occurrence`` of a recurring one) unless it is already known: a broadcast,
        and each occurrence of a recurring one, plays at most once. ``DiskFull`` when it cannot be kept."""
        local = LocalEntry(entry, state=state, occurrence=occurrence)
        with self._lock:
            if local.key in self.entries:
                return None
            self._write(local)
            self.entries[local.key] = local
            return local

    def of_broadcast(self, broadcast_id: int) -> list[LocalEntry]:
        """The entry of a broadcast and, for a recurring one, its occurrences."""
        with self._lock:
            return [e for e in self.entries.values() if e.entry.broadcast_id == broadcast_id]

    def prune(self, before: datetime) -> int:
        """Forget finished occurrences planned before ``before`` (they can never come due again), so a
        years-long recurring entry does not grow the database without end."""
        with self._lock:
            old = [e for e in self.entries.values()
                   if e.occurrence is not None and e.occurrence < before and e.state in FINAL_STATES]
            for local in old:
                try:
                    with _full_disk_as_oserror():
                        self._db.execute("DELETE FROM items WHERE key = ?", (local.key,))
                except DiskFull:
                    return 0  # forgotten later, when the card has room
                del self.entries[local.key]
        return len(old)

    def update(self, local: LocalEntry, **changes: Any) -> None:
        """Change a known entry. On a full card the change is kept in memory and written by ``save_unsaved``
        once there is room, so that a reboot cannot replay what already aired."""
        with self._lock:
            for key, value in changes.items():
                setattr(local, key, value)
            try:
                self._write(local)
                self._unsaved.discard(local.key)
            except DiskFull:
                if not self._unsaved:
                    logger.error("the card is full: changes to the schedule are kept in memory until there is room")
                self._unsaved.add(local.key)

    def save_unsaved(self) -> None:
        """Write the changes a full card refused, if there is room now."""
        with self._lock:
            for key in sorted(self._unsaved):
                try:
                    self._write(self.entries[key])
                except DiskFull:
                    return
                self._unsaved.discard(key)
            for topic, seq in list(self._unsaved_seqs.items()):
                try:
                    self._save_seq(topic, seq)
                except DiskFull:
                    return
                del self._unsaved_seqs[topic]

    def setting(self, name: str) -> object:
        """A value set remotely (e.g. the volume), kept across reboots; None when never set."""
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_setting(self, name: str, value: object) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", (name, json.dumps(value)))

    def newest_seq(self, topic: str) -> int:
        """The sequence number of the newest signed message accepted on ``topic`` (0: none yet)."""
        with self._lock:
            row = self._db.execute("SELECT seq FROM sequences WHERE topic = ?", (topic,)).fetchone()
            return max(int(row[0]) if row else 0, self._unsaved_seqs.get(topic, 0))

    def accept_seq(self, topic: str, seq: int) -> None:
        """Remember ``seq`` so an older message replayed on ``topic`` is refused, across reboots too (on a full
        card, in memory until there is room)."""
        with self._lock:
            try:
                self._save_seq(topic, seq)
            except DiskFull:
                self._unsaved_seqs[topic] = max(seq, self._unsaved_seqs.get(topic, 0))

    def _save_seq(self, topic: str, seq: int) -> None:
        with _full_disk_as_oserror():
            self._db.execute(
                "INSERT INTO sequences (topic, seq) VALUES (?, ?) "
                "ON CONFLICT(topic) DO UPDATE SET seq = max(seq, excluded.seq)", (topic, seq))

    def asset_path(self, asset: str) -> Path:
        return self.assets / f"{asset}.ogg"

    def has_asset(self, asset: str) -> bool:
        return self.asset_path(asset).exists()

    def playable(self) -> list[LocalEntry]:
        """Waiting entries that play as such (all but recurring entries themselves), most urgent first."""
        return [e for e in self.waiting() if not e.recurring]

    def waiting(self) -> list[LocalEntry]:
        """Entries not yet played, missed or failed (recurring ones until their last day), most urgent
        first."""
        with self._lock:
            live = [e for e in self.entries.values() if e.state not in FINAL_STATES]
        return sorted(
            live,
            # Broadcast id last: the items of a programme share a start and play in the order they were made.
            key=lambda e: (-PRIORITY_RANK[e.entry.priority], e.entry.play_at or e.entry.created_at,
                           e.entry.broadcast_id),
        )

    def evict(self, keep: set[str], room_for: int, limit: int) -> bool:
        """Delete cached audio not in ``keep``, oldest first, until ``room_for`` more bytes fit under ``limit``
        (limit 0: delete everything not kept). True when there is room."""
        files = sorted((p for p in self.assets.glob("*.ogg") if p.stem not in keep), key=lambda p: p.stat().st_mtime)
        used = self.cache_bytes() + sum(p.stat().st_size for p in self.partial.glob("*.part"))
        freed = False
        for path in files:
            if limit and used + room_for <= limit:
                break
            size = path.stat().st_size
            path.unlink(missing_ok=True)
            used -= size
            freed = True
            logger.info("evicted cached audio %s (%d bytes)", path.stem[:12], size)
        if limit == 0:
            return freed
        return used + room_for <= limit

    def cache_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.assets.iterdir() if p.is_file())
