"""Content-addressed audio store: a file's name is the SHA-256 of its bytes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from edge_agent.protocol import Manifest

CHUNK_SIZE = 64 * 1024


class AssetStore:
    def __init__(self, directory: Path, suffix: str = ".ogg") -> None:
        self.directory = directory
        self.suffix = suffix
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, asset: str) -> Path:
        return self.directory / asset[:2] / f"{asset}{self.suffix}"

    def put(self, data: bytes) -> str:
        """Store ``data`` (idempotent) and return its asset id."""
        asset = hashlib.sha256(data).hexdigest()
        path = self.path(asset)
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            tmp = path.with_suffix(".tmp")
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        return asset

    def read(self, asset: str) -> bytes:
        return self.path(asset).read_bytes()

    def chunks(self, asset: str, chunk_size: int = CHUNK_SIZE) -> list[bytes]:
        data = self.read(asset)
        return [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]

    def manifest(self, asset: str, duration_s: float, chunk_size: int = CHUNK_SIZE,
                 base_url: str = "") -> Manifest:
        """``base_url`` (``https://host/a/``): receivers may fetch the file at ``<base_url><asset>`` instead."""
        pieces = self.chunks(asset, chunk_size)
        return Manifest(
            asset=asset,
            codec="opus",
            size=sum(len(p) for p in pieces),
            chunk_size=chunk_size,
            chunks=[hashlib.sha256(p).hexdigest() for p in pieces],
            duration_s=round(duration_s, 3),
            url=f"{base_url}{asset}" if base_url else None,
        )
