"""``broadcaster voices fetch``: download a voice's weights from their public location and check them.

vietTTS's trained weights are published by underthesea as one zip on a GitHub release; GitHub publishes each
release asset's SHA-256. The zip must match that checksum (or one given with ``--sha256``, or pinned here
once known); its files are then loaded with the same restricted reader the engine uses, and a ``SHA256SUMS``
is written beside them. Nothing is left half-written: the zip goes to a temporary file and the voice to a
temporary folder that is renamed into place only when everything checks out.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()



class FetchError(Exception):
    """Fetching failed; the text says why and what to do."""


@dataclass(frozen=True)
class Source:
    url: str
    """The zip with the voice's files."""
    digest_api: str | None
    """A JSON document (GitHub's release API) that publishes the zip's SHA-256 as ``sha256:<hex>``."""
    asset: str
    """The zip's name in that document."""
    files: tuple[str, ...]
    """Files the voice needs, found anywhere in the zip."""
    sha256: str | None = None
    """The zip's checksum, pinned, when known; it takes precedence over the published one."""
    licence: str = ""


SOURCES = {
    "viettts": Source(
        url="https://github.com/undertheseanlp/underthesea/releases/download/resources/viet_tts_v0.4.1.zip",
        digest_api="https://api.github.com/repos/undertheseanlp/underthesea/releases/tags/resources",
        asset="viet_tts_v0.4.1.zip",
        files=("duration_latest_ckpt.pickle", "acoustic_latest_ckpt.pickle", "hk_hifi.pickle", "lexicon.txt",
               "config.json"),
        licence="vietTTS (NTT123), trained on the InfoRe corpus; redistributed by underthesea",
    ),
}

Opener = Callable[..., IO[bytes]]


def _open(url: str, opener: Opener, timeout: float) -> IO[bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": "loaxa-voices-fetch"})
    host = urllib.parse.urlsplit(url).hostname or url
    try:
        return opener(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{host} answered {exc.code} {exc.reason} for {url}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(
            f"cannot reach {host} ({reason}). This machine seems to have no internet access. Run "
            "'broadcaster voices fetch' on a machine that has, then copy the folder it prints here "
            "(e.g. with scp -r) and point [speech.voices.<name>] model at it."
        ) from None


def published_sha256(source: Source, opener: Opener, timeout: float) -> str | None:
    """The SHA-256 that the release page publishes for the zip, if it publishes one."""
    if source.digest_api is None:
        return None
    with _open(source.digest_api, opener, timeout) as response:
        try:
            release = json.loads(response.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise FetchError(f"{source.digest_api} did not answer with JSON") from None
    for asset in release.get("assets", []) if isinstance(release, dict) else []:
        digest = asset.get("digest") if isinstance(asset, dict) else None
        if asset.get("name") == source.asset and isinstance(digest, str) and digest.startswith("sha256:"):
            return digest.removeprefix("sha256:").lower()
    return None


def _download(url: str, target: Path, opener: Opener, timeout: float, progress: IO[str] | None) -> str:
    digest = hashlib.sha256()
    with _open(url, opener, timeout) as response, target.open("wb") as out:
        total = int(response.headers.get("Content-Length") or 0) if hasattr(response, "headers") else 0
        done = 0
        while True:
            try:
                block = response.read(1 << 20)
            except OSError as exc:
                raise FetchError(f"the download of {url} broke off after {done >> 20} MB: {exc}") from None
            if not block:
                break
            out.write(block)
            digest.update(block)
            done += len(block)
            if progress is not None:
                shown = f"{done >> 20} / {total >> 20} MB" if total else f"{done >> 20} MB"
                print(f"\r  {shown}", end="", file=progress, flush=True)
        if progress is not None:
            print(file=progress)
        if total and done != total:
            raise FetchError(f"the download of {url} stopped at {done} of {total} bytes; try again")
    return digest.hexdigest()


def _extract(archive: Path, files: tuple[str, ...], folder: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            wanted: dict[str, zipfile.ZipInfo] = {}
            for info in zf.infolist():
                member = PurePosixPath(info.filename)
                if info.is_dir() or member.name not in files or ".." in member.parts or member.name in wanted:
                    continue
                wanted[member.name] = info
            missing = [name for name in files if name not in wanted]
            if missing:
                raise FetchError(f"the archive lacks {', '.join(missing)}")
            for name, info in wanted.items():
                with zf.open(info) as src, (folder / name).open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    except zipfile.BadZipFile as exc:
        raise FetchError(f"the download is not a zip archive: {exc}") from None


def fetch(name: str, dest: Path, sha256: str | None = None, *, source: Source | None = None,
          opener: Opener = urllib.request.urlopen, timeout: float = 60.0,
          progress: IO[str] | None = sys.stderr) -> Path:
    """Download voice ``name`` into ``dest``, verified; returns ``dest``."""
    if source is None:
        if name not in SOURCES:
            raise FetchError(f"no voice named {name!r} can be fetched (known: {', '.join(sorted(SOURCES))})")
        source = SOURCES[name]
    expected = (sha256 or source.sha256 or published_sha256(source, opener, timeout) or "").lower()
    if not expected:
        raise FetchError(f"{source.url} has no published SHA-256; check it by another channel and pass it with "
                         "--sha256")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{dest.name}-", dir=dest.parent) as tmp:
        archive = Path(tmp) / source.asset
        if progress is not None:
            print(f"downloading {source.url}", file=progress)
        got = _download(source.url, archive, opener, timeout, progress)
        if got != expected:
            raise FetchError(f"checksum mismatch for {source.asset}: expected {expected}, got {got}; "
                             "the file was damaged or replaced, nothing was installed")
        staging = Path(tmp) / "voice"
        staging.mkdir()
        _extract(archive, source.files, staging)
        _validate(name, staging)
        sums = [f"{_sha256(staging / file)}  {file}\n" for file in source.files]
        (staging / "SHA256SUMS").write_text("".join(sums))
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    return dest


def _validate(name: str, folder: Path) -> Any:
    if name != "viettts":
        return None
    from broadcaster.speech.checkpoints import CheckpointError
    from broadcaster.speech.viettts import VietTTSVoice

    try:
        return VietTTSVoice.load(folder)
    except CheckpointError as exc:
        raise FetchError(f"the downloaded files are not a usable vietTTS voice: {exc}") from None


def verify(folder: Path) -> list[str]:
    """Files in ``folder`` that no longer match its SHA256SUMS (empty when all match)."""
    bad = []
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        expected, _, file = line.partition("  ")
        path = folder / file
        if not path.is_file() or _sha256(path) != expected:
            bad.append(file)
    return bad
