"""The device's local schedule and audio cache, kept on disk so it survives a reboot."""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from edge_agent.protocol import ScheduleEntry
from edge_agent.protocol.messages import PRIORITY_RANK, format_time, parse_time

logger = logging.getLogger(__name__)

FINAL_STATES = ("played", "missed", "failed", "interrupted", "cancelled")


@dataclass
class LocalEntry:
    """A schedule entry and what happened to it on this device."""

    entry: ScheduleEntry
    state: str = "pending"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry.to_dict(),
            "state": self.state,
            "started_at": format_time(self.started_at),
            "finished_at": format_time(self.finished_at),
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LocalEntry:
        return cls(
            entry=ScheduleEntry.from_dict(data["entry"]),
            state=data["state"],
            started_at=parse_time(data.get("started_at"), "started_at"),
            finished_at=parse_time(data.get("finished_at"), "finished_at"),
            error=data.get("error"),
        )


class Store:
    """Audio files under ``assets/`` and the schedule in ``schedule.json`` (written atomically)."""

    def __init__(self, cache_dir: Path) -> None:
        self.root = cache_dir
        self.assets = cache_dir / "assets"
        self.partial = cache_dir / "partial"
        self.assets.mkdir(parents=True, exist_ok=True)
        self.partial.mkdir(parents=True, exist_ok=True)
        self._file = cache_dir / "schedule.json"
        self._seq_file = cache_dir / "sequence.json"
        self._settings_file = cache_dir / "settings.json"
        self._lock = threading.RLock()
        self.entries: dict[int, LocalEntry] = {}
        self._load()

    def _load(self) -> None:
        if not self._file.exists():
            return
        try:
            raw = json.loads(self._file.read_text())
            for item in raw:
                local = LocalEntry.from_json(item)
                self.entries[local.entry.broadcast_id] = local
        except (ValueError, KeyError, OSError) as exc:
            # Keep the unreadable file for inspection; the server's retained schedule refills us.
            backup = self._file.with_suffix(".corrupt")
            os.replace(self._file, backup)
            logger.error("schedule file unreadable (%s); moved to %s", exc, backup)

    def save(self) -> None:
        with self._lock:
            data = [local.to_json() for local in self.entries.values()]
            tmp = self._file.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, ensure_ascii=False))
            os.replace(tmp, self._file)

    def add(self, entry: ScheduleEntry) -> LocalEntry | None:
        """Add an entry unless this broadcast is already known (a broadcast never plays twice)."""
        with self._lock:
            if entry.broadcast_id in self.entries:
                return None
            local = LocalEntry(entry)
            self.entries[entry.broadcast_id] = local
            self.save()
            return local

    def update(self, local: LocalEntry, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(local, key, value)
            self.save()

    def setting(self, name: str) -> object:
        """A value set remotely (e.g. the volume), kept across reboots; None when never set."""
        try:
            data = json.loads(self._settings_file.read_text())
        except (OSError, ValueError):
            return None
        return data.get(name) if isinstance(data, dict) else None

    def set_setting(self, name: str, value: object) -> None:
        with self._lock:
            try:
                data = json.loads(self._settings_file.read_text())
            except (OSError, ValueError):
                data = {}
            data[name] = value
            tmp = self._settings_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self._settings_file)

    def newest_seq(self, topic: str) -> int:
        """The sequence number of the newest signed message accepted on ``topic`` (0: none yet)."""
        with self._lock:
            return int(self._seqs().get(topic, 0))

    def accept_seq(self, topic: str, seq: int) -> None:
        """Remember ``seq`` so an older message replayed on ``topic`` is refused, across reboots too."""
        with self._lock:
            seqs = self._seqs()
            if seq > seqs.get(topic, 0):
                seqs[topic] = seq
                tmp = self._seq_file.with_suffix(".tmp")
                tmp.write_text(json.dumps(seqs))
                os.replace(tmp, self._seq_file)

    def _seqs(self) -> dict[str, int]:
        try:
            data = json.loads(self._seq_file.read_text())
            return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def asset_path(self, asset: str) -> Path:
        return self.assets / f"{asset}.ogg"

    def has_asset(self, asset: str) -> bool:
        return self.asset_path(asset).exists()

    def waiting(self) -> list[LocalEntry]:
        """Entries not yet played, missed or failed, most urgent first."""
        with self._lock:
            live = [e for e in self.entries.values() if e.state not in FINAL_STATES]
        return sorted(
            live,
            key=lambda e: (-PRIORITY_RANK[e.entry.priority], e.entry.play_at or e.entry.created_at),
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
