"""``broadcaster voices fetch``: download a voice's weights from their public location and check them.

vietTTS's trained weights are published by underthesea as one zip on a GitHub release; GitHub publishes each
release asset's SHA-256. The zip must match that checksum (or one given with ``--sha256``, or pinned here
once known); its files are then loaded with the same restricted reader the engine uses, and a ``SHA256SUMS``
is written beside them.

Piper's Vietnamese voices are published in the rhasspy/piper-voices repository on Hugging Face, a model
(``.onnx``) and its configuration (``.onnx.json``) each, at the tag ``v1.0.0``. The model must match the
SHA-256 pinned here (from public records of that file) or, for a voice without a pin, the SHA-256 that Hugging
Face publishes for the stored object; the configuration must match its pin or the git object id published
beside it. The voice is then loaded by piper-tts where it is installed.

Nothing is left half-written: downloads go to a temporary folder that is renamed into place only when
everything checks out, with a ``voice.json`` that lets the server find the voice by itself.
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

from broadcaster.speech.engines import VoiceSettings
from broadcaster.speech.voices import write_installed


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



@dataclass(frozen=True)
class PiperSource:
    voice_id: str
    """The voice's name in rhasspy/piper-voices, e.g. vi_VN-vais1000-medium."""
    path: str
    """Its folder in that repository."""
    label: str
    region: str = ""
    gender: str = ""
    model_sha256: str | None = None
    """The .onnx file's SHA-256, pinned where public records agree on it."""
    config_sha256: str | None = None
    licence: str = ""

    @property
    def files(self) -> tuple[str, str]:
        return f"{self.voice_id}.onnx", f"{self.voice_id}.onnx.json"


PIPER_BASE = "https://huggingface.co/rhasspy/piper-voices"
PIPER_TREE = "https://huggingface.co/api/models/rhasspy/piper-voices/tree"
PIPER_REVISION = "v1.0.0"
PIPER_VOICES = {
    # VAIS-1000: one northern female speaker. The checksums are those recorded for the v1.0.0 files by
    # several public projects that pin this voice (63,201,294 and 4,860 bytes).
    "vais1000": PiperSource(
        "vi_VN-vais1000-medium", "vi/vi_VN/vais1000/medium", "Nữ miền Bắc (Piper VAIS-1000)", "north", "female",
        model_sha256="ec7c89e2c85f4d1edc24b6120c18aaf1bda614f06b511567eb9c7c0de15e2dab",
        config_sha256="fafb9da1354ed4b77c31af228ed41fb41cd825c14cffa105454b25e6ae751ee0",
        licence="Piper voice trained on VAIS-1000 (CC BY 4.0)"),
    "25hours": PiperSource("vi_VN-25hours_single-low", "vi/vi_VN/25hours_single/low", "Piper 25hours (một giọng)",
                           licence="Piper voice trained on the 25hours_single dataset"),
    "vivos": PiperSource("vi_VN-vivos-x_low", "vi/vi_VN/vivos/x_low", "Piper VIVOS (nhiều người đọc)",
                         licence="Piper voice trained on VIVOS (AILAB, VNU-HCM; CC BY-NC-SA 4.0)"),
}
"""The Vietnamese voices published for Piper, by the name ``broadcaster voices fetch piper <name>`` takes."""

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


def _json(url: str, opener: Opener, timeout: float) -> Any:
    with _open(url, opener, timeout) as response:
        try:
            return json.loads(response.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise FetchError(f"{url} did not answer with JSON") from None


def _git_blob_id(path: Path) -> str:
    """The id git (and so Hugging Face) gives a file's content."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def fetch_piper(name: str, dest: Path, sha256: str | None = None, *, source: PiperSource | None = None,
                base: str | None = None, tree: str | None = None, opener: Opener = urllib.request.urlopen,
                timeout: float = 60.0, progress: IO[str] | None = sys.stderr) -> Path:
    """Download Piper voice ``name`` (a key of PIPER_VOICES) into ``dest``, verified; returns ``dest``.
    ``base`` and ``tree`` stand in for Hugging Face's addresses (PIPER_BASE, PIPER_TREE)."""
    base, tree = base or PIPER_BASE, tree or PIPER_TREE
    if source is None:
        if name not in PIPER_VOICES:
            raise FetchError(f"no Piper voice named {name!r} can be fetched (known: {', '.join(PIPER_VOICES)})")
        source = PIPER_VOICES[name]
    model, config = source.files
    published: dict[str, dict[str, Any]] = {}
    if not ((sha256 or source.model_sha256) and source.config_sha256):
        listing = _json(f"{tree}/{PIPER_REVISION}/{source.path}", opener, timeout)
        published = {PurePosixPath(str(e.get("path"))).name: e for e in listing if isinstance(e, dict)} \
            if isinstance(listing, list) else {}
    lfs = published.get(model, {}).get("lfs")
    expected_model = (sha256 or source.model_sha256 or (lfs.get("oid") if isinstance(lfs, dict) else "") or "")
    expected_config = source.config_sha256 or str(published.get(config, {}).get("oid") or "")
    if not expected_model or not expected_config:
        raise FetchError(f"no checksum is published for {source.voice_id}; check the model by another channel "
                         "and pass its SHA-256 with --sha256")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{dest.name}-", dir=dest.parent) as tmp:
        staging = Path(tmp) / "voice"
        staging.mkdir()
        for file in (config, model):
            url = f"{base}/resolve/{PIPER_REVISION}/{source.path}/{file}"
            if progress is not None:
                print(f"downloading {url}", file=progress)
            got = _download(url, staging / file, opener, timeout, progress)
            expected = expected_model if file == model else expected_config
            if got != expected.lower() and _git_blob_id(staging / file) != expected.lower():
                raise FetchError(f"checksum mismatch for {file}: expected {expected}, got {got}; the file was "
                                 "damaged or replaced, nothing was installed")
        _validate_piper(staging / model, staging / config)
        (staging / "SHA256SUMS").write_text("".join(f"{_sha256(staging / f)}  {f}\n" for f in (model, config)))
        write_installed(staging, VoiceSettings(engine="piper", model=model, label=source.label,
                                               region=source.region, gender=source.gender))
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    return dest


def _validate_piper(model: Path, config: Path) -> None:
    """A Vietnamese Piper voice: its configuration says so, and piper-tts (where installed) loads it."""
    try:
        settings = json.loads(config.read_text(encoding="utf-8"))
        voice = settings["espeak"]["voice"]
        if not (isinstance(settings["phoneme_id_map"], dict) and int(settings["audio"]["sample_rate"]) > 0):
            raise ValueError("no phoneme map or sample rate")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise FetchError(f"{config.name} is not a Piper voice configuration: {exc}") from None
    if not str(voice).startswith("vi"):
        raise FetchError(f"{config.name} is a voice for {voice!r}, not Vietnamese")
    try:
        from piper import PiperVoice
    except ImportError:
        return  # the engine says "pip install 'loaxa[piper]'" when the voice is used
    try:
        PiperVoice.load(model, config_path=config)
    except Exception as exc:  # onnxruntime raises its own types
        raise FetchError(f"piper-tts cannot load {model.name}: {exc.__class__.__name__}: {exc}") from None


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
        write_installed(staging, VoiceSettings(engine="viettts", model=".", label="Nữ miền Bắc (vietTTS)",
                                               region="north", gender="female"))
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
