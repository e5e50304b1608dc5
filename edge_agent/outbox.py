"""Reports to the server (delivery, playback, refusals) kept on disk until the broker has acknowledged them.

A receiver on a weak 4G link loses its connection often and its power sometimes. Each report is written
to ``<cache_dir>/outbox/`` (one file, flushed to disk) before anything else happens, and a sender thread
publishes the files in order whenever the link is up, deleting each only after the broker's PUBACK. So a
report survives a dropped link and a reboot, arrives once or (rarely, if the link drops between PUBACK
and the delete) twice, which the server tolerates because reports never move a delivery backwards.
A report made while the link was down carries ``"historical": true``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from edge_agent.link import Link

logger = logging.getLogger(__name__)

PUBACK_TIMEOUT_S = 10.0


class Outbox:
    def __init__(self, folder: Path, link: Link) -> None:
        self.folder = folder
        self.link = link
        folder.mkdir(parents=True, exist_ok=True)
        existing = [int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit()]
        self._counter = itertools.count(max(existing, default=0) + 1)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def put(self, topic: str, message: dict[str, Any]) -> None:
        """Keep ``message`` for ``topic`` until the broker has it."""
        if not self.link.connected.is_set():
            message = {**message, "historical": True}
        record = json.dumps({"topic": topic, "message": message}, ensure_ascii=False)
        with self._lock:
            path = self.folder / f"{next(self._counter):012d}.json"
            tmp = path.with_suffix(".tmp")
            try:
                with tmp.open("w", encoding="utf-8") as fh:
                    fh.write(record)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            except OSError as exc:
                # A full or failing disk: keep the report in memory (paho queues it) rather than lose it.
                logger.error("cannot keep a report on disk (%s); sending it from memory", exc.strerror)
                tmp.unlink(missing_ok=True)
                self.link.publish(topic, json.dumps(message, ensure_ascii=False).encode("utf-8"), qos=1)
                return
        self._wake.set()

    def pending(self) -> int:
        return sum(1 for _ in self.folder.glob("*.json"))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="agent-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=PUBACK_TIMEOUT_S + 2)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            try:
                self._flush()
            except Exception:
                logger.exception("outbox error")

    def _flush(self) -> None:
        for path in sorted(self.folder.glob("*.json")):
            if self._stop.is_set() or not self.link.connected.is_set():
                return
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                topic, message = record["topic"], record["message"]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                logger.error("dropping unreadable outbox file %s: %s", path.name, exc)
                path.rename(path.with_suffix(".corrupt"))
                continue
            payload = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            info = self.link.client.publish(topic, payload, qos=1)
            deadline = time.monotonic() + PUBACK_TIMEOUT_S
            while not info.is_published() and time.monotonic() < deadline and not self._stop.is_set():
                if not self.link.connected.is_set():
                    return  # sent again after the reconnection
                time.sleep(0.02)
            if not info.is_published():
                return
            path.unlink(missing_ok=True)
