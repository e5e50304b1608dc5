"""Reassembles an audio asset from verified chunks; survives restarts through a bitmap on disk."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from edge_agent.protocol import Manifest

logger = logging.getLogger(__name__)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


class TransferError(Exception):
    """The assembled file does not match its manifest."""


class Download:
    """One asset being received: ``<dir>/<asset>.part`` plus ``<asset>.json`` (manifest and bitmap)."""

    def __init__(self, directory: Path, manifest: Manifest) -> None:
        self.manifest = manifest
        self.part = directory / f"{manifest.asset}.part"
        self.meta = directory / f"{manifest.asset}.json"
        self.received: set[int] = set()
        self.rejected = 0
        directory.mkdir(parents=True, exist_ok=True)
        if self.meta.exists() and self.part.exists():
            try:
                saved = json.loads(self.meta.read_text())
                if saved.get("manifest") == manifest.to_dict():
                    self.received = {int(s) for s in saved.get("received", [])}
            except (ValueError, OSError):
                logger.warning("ignoring unreadable transfer state %s", self.meta)
        if not self.part.exists():
            with self.part.open("wb") as fh:
                fh.truncate(manifest.size)
        self._save()

    def accept(self, seq: int, data: bytes) -> bool:
        """Write a chunk if its hash matches the manifest; False for a corrupt or unexpected chunk."""
        m = self.manifest
        if not 0 <= seq < len(m.chunks):
            return False
        if seq in self.received:
            return True
        if hashlib.sha256(data).hexdigest() != m.chunks[seq]:
            self.rejected += 1
            logger.warning("chunk %d of %s failed its hash check; will ask again", seq, m.asset[:12])
            return False
        with self.part.open("r+b") as fh:
            fh.seek(seq * m.chunk_size)
            fh.write(data)
        self.received.add(seq)
        self._save()
        return True

    def missing(self) -> list[int]:
        return [seq for seq in range(len(self.manifest.chunks)) if seq not in self.received]

    def complete(self) -> bool:
        return len(self.received) == len(self.manifest.chunks)

    def finalize(self, destination: Path) -> Path:
        """Check the whole-file hash, then move the file into place."""
        if file_sha256(self.part) != self.manifest.asset:
            # Start over rather than keep a file that can never verify.
            self.discard()
            raise TransferError(f"asset {self.manifest.asset[:12]} failed its whole-file hash check")
        with self.part.open("rb") as fh:
            os.fsync(fh.fileno())
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.part, destination)
        self.meta.unlink(missing_ok=True)
        return destination

    def discard(self) -> None:
        self.part.unlink(missing_ok=True)
        self.meta.unlink(missing_ok=True)

    def _save(self) -> None:
        tmp = self.meta.with_suffix(".tmp")
        tmp.write_text(json.dumps({"manifest": self.manifest.to_dict(), "received": sorted(self.received)}))
        os.replace(tmp, self.meta)
