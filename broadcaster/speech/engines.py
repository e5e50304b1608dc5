"""Speech engines behind one interface, and voices configured by name.

espeak-ng is always there and is the fallback; neural engines (vietTTS, Piper) plug in here. A voice that is
configured but cannot be used is reported with the reason, and speech falls back to the default voice.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydub import AudioSegment

from broadcaster.speech.audio import SAMPLE_RATE, AudioError

logger = logging.getLogger(__name__)

DEFAULT_VOICE = "vi"


class EngineUnavailable(Exception):
    """This voice cannot speak here; the text says why (missing program, voice data or model files)."""


@dataclass(frozen=True)
class VoiceSettings:
    engine: str = "espeak"
    """Speech engine: espeak, viettts or piper."""
    espeak_voice: str = "vi"
    """espeak-ng voice: vi (northern), vi-vn-x-central or vi-vn-x-south."""
    speed_wpm: int = 140
    """Speaking rate in words per minute."""
    pitch: int = 50
    """espeak-ng pitch, 0-99."""
    model: str | None = None
    """vietTTS: the checkpoint folder (broadcaster voices fetch viettts); Piper: the voice's .onnx file."""
    model_config: str | None = None
    """Piper: its .onnx.json (defaults to the model path + .json)."""
    speaker: int | None = None
    """Piper: speaker number of a multi-speaker voice."""
    length_scale: float = 1.0
    """vietTTS and Piper: above 1 speaks slower, below 1 faster."""


BUILTIN_VOICES = {
    "vi": VoiceSettings(espeak_voice="vi"),
    "vi-central": VoiceSettings(espeak_voice="vi-vn-x-central"),
    "vi-south": VoiceSettings(espeak_voice="vi-vn-x-south"),
}


class Engine(ABC):
    """Speaks one sentence at a time."""

    def __init__(self, name: str, settings: VoiceSettings) -> None:
        self.name = name
        self.settings = settings

    @abstractmethod
    def check(self) -> None:
        """Raise EngineUnavailable if this voice cannot speak on this machine."""

    @abstractmethod
    def synthesize(self, sentence: str) -> AudioSegment:
        """One sentence as mono audio at SAMPLE_RATE."""

    def key(self) -> str:
        """What makes this voice's output differ (part of the render cache key)."""
        return json.dumps(asdict(self.settings), sort_keys=True)


@lru_cache(maxsize=1)
def _espeak_voices() -> frozenset[str]:
    binary = shutil.which("espeak-ng")
    if binary is None:
        return frozenset()
    out = subprocess.run([binary, "--voices"], capture_output=True, text=True, check=False).stdout
    names = set()
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5:
            names.update({parts[1].lower(), parts[4].lower(), parts[4].rsplit("/", 1)[-1].lower()})
    return frozenset(names)


class EspeakEngine(Engine):
    def check(self) -> None:
        if shutil.which("espeak-ng") is None:
            raise EngineUnavailable("espeak-ng is not installed (apt-get install espeak-ng)")
        if self.settings.espeak_voice.lower() not in _espeak_voices():
            raise EngineUnavailable(f"espeak-ng has no voice {self.settings.espeak_voice!r}")

    def synthesize(self, sentence: str) -> AudioSegment:
        s = self.settings
        with tempfile.TemporaryDirectory(prefix="tts-") as tmp:
            out = Path(tmp) / "speech.wav"
            result = subprocess.run(
                ["espeak-ng", "-v", s.espeak_voice, "-s", str(s.speed_wpm), "-p", str(s.pitch), "-b", "1",
                 "-w", str(out), "--stdin"],
                input=sentence.encode("utf-8"), capture_output=True, check=False, timeout=120,
            )
            if result.returncode != 0 or not out.exists():
                raise AudioError(f"espeak-ng failed: {result.stderr.decode(errors='replace').strip()[-300:]}")
            with out.open("rb") as fh:
                segment = AudioSegment.from_wav(fh)
        return segment.set_channels(1).set_frame_rate(SAMPLE_RATE)


class PiperEngine(Engine):
    """A Piper voice (``pip install 'loaxa[piper]'``) from an operator-supplied .onnx and .onnx.json."""

    def __init__(self, name: str, settings: VoiceSettings) -> None:
        super().__init__(name, settings)
        self._voice: Any = None

    def check(self) -> None:
        try:
            from piper import PiperVoice
        except ImportError:
            raise EngineUnavailable("Piper is not installed (pip install 'loaxa[piper]')") from None
        s = self.settings
        if not s.model:
            raise EngineUnavailable("no model file is configured (model = \"/path/to/voice.onnx\")")
        model = Path(s.model)
        config = Path(s.model_config) if s.model_config else Path(f"{s.model}.json")
        for path in (model, config):
            if not path.is_file():
                raise EngineUnavailable(f"{path} not found")
        try:
            self._voice = PiperVoice.load(model, config_path=config)
        except Exception as exc:  # onnxruntime and JSON errors come in many types; say which
            raise EngineUnavailable(f"cannot load {model.name}: {exc.__class__.__name__}: {exc}") from None

    def synthesize(self, sentence: str) -> AudioSegment:
        from piper import SynthesisConfig

        if self._voice is None:
            self.check()
        config = SynthesisConfig(speaker_id=self.settings.speaker, length_scale=self.settings.length_scale)
        pcm, rate = b"", 22050
        for chunk in self._voice.synthesize(sentence, syn_config=config):
            pcm += chunk.audio_int16_bytes
            rate = chunk.sample_rate
        if not pcm:
            raise AudioError(f"voice {self.name!r} produced no audio for this sentence")
        segment = AudioSegment(data=pcm, sample_width=2, frame_rate=rate, channels=1)
        return segment.set_frame_rate(SAMPLE_RATE)

    def key(self) -> str:
        # The model's bytes define the voice: name them by size and modification time, cheaply.
        stat = Path(self.settings.model or "").stat()
        return json.dumps([asdict(self.settings), stat.st_size, stat.st_mtime_ns], sort_keys=True)


class VietTTSEngine(Engine):
    """A vietTTS voice from the official checkpoint folder, run by our NumPy implementation of its graph
    (``broadcaster/speech/viettts.py``): no JAX on the server."""

    def __init__(self, name: str, settings: VoiceSettings) -> None:
        super().__init__(name, settings)
        self._voice: Any = None

    def _files(self) -> list[Path]:
        from broadcaster.speech.viettts import FILES

        folder = Path(self.settings.model or "")
        return [folder / name for name in (*FILES, "config.json")]

    def check(self) -> None:
        if not self.settings.model:
            raise EngineUnavailable('no checkpoint folder is configured (model = "/path/to/folder"; '
                                    "get one with: broadcaster voices fetch viettts)")
        try:
            from broadcaster.speech.checkpoints import CheckpointError
        except ImportError:
            raise EngineUnavailable("NumPy is not installed (pip install 'loaxa[viettts]')") from None
        try:
            self._voice = _load_viettts(Path(self.settings.model), _stamp(self._files()))
        except CheckpointError as exc:
            raise EngineUnavailable(str(exc)) from None

    def synthesize(self, sentence: str) -> AudioSegment:
        import numpy as np

        from broadcaster.speech.viettts import SAMPLE_RATE as VIETTTS_RATE

        if self._voice is None:
            self.check()
        samples = self._voice.speak(sentence, self.settings.length_scale)
        if not len(samples):
            return AudioSegment.silent(0, frame_rate=SAMPLE_RATE)
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        segment = AudioSegment(data=pcm, sample_width=2, frame_rate=VIETTTS_RATE, channels=1)
        return segment.set_frame_rate(SAMPLE_RATE)

    def key(self) -> str:
        return json.dumps([asdict(self.settings), _stamp(self._files())], sort_keys=True)


def _stamp(paths: list[Path]) -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time of each file: a changed file is a different voice."""
    stamps = []
    for path in paths:
        try:
            stat = path.stat()
            stamps.append((path.name, stat.st_size, stat.st_mtime_ns))
        except OSError:
            stamps.append((path.name, -1, -1))
    return tuple(stamps)


@lru_cache(maxsize=2)
def _load_viettts(folder: Path, stamp: object) -> Any:
    """A loaded vietTTS voice, kept while its files are unchanged (loading reads some 230 MB)."""
    from broadcaster.speech.viettts import VietTTSVoice

    started = time.monotonic()
    voice = VietTTSVoice.load(folder)
    logger.info("loaded vietTTS voice from %s in %.1f s", folder, time.monotonic() - started)
    return voice


ENGINES: dict[str, type[Engine]] = {"espeak": EspeakEngine, "viettts": VietTTSEngine, "piper": PiperEngine}


def all_voices(configured: dict[str, VoiceSettings] | None = None) -> dict[str, VoiceSettings]:
    return {**BUILTIN_VOICES, **(configured or {})}


def make_engine(name: str, configured: dict[str, VoiceSettings] | None = None) -> Engine:
    """The engine for voice ``name``, checked; raises EngineUnavailable with the reason."""
    voices = all_voices(configured)
    if name not in voices:
        raise EngineUnavailable(f"no voice named {name!r} is configured (known: {', '.join(sorted(voices))})")
    settings = voices[name]
    engine_class = ENGINES.get(settings.engine)
    if engine_class is None:
        raise EngineUnavailable(f"voice {name!r} needs the {settings.engine!r} engine, which is not available")
    engine = engine_class(name, settings)
    engine.check()
    return engine


def resolve(name: str, configured: dict[str, VoiceSettings] | None = None) -> tuple[Engine, str | None]:
    """The engine for ``name``, or the default voice and the reason ``name`` could not be used."""
    try:
        return make_engine(name, configured), None
    except EngineUnavailable as exc:
        reason = f"voice {name!r} is unavailable: {exc}; using {DEFAULT_VOICE!r} instead"
        logger.error(reason)
        return make_engine(DEFAULT_VOICE), reason


_CHECKED: dict[tuple[str, VoiceSettings], tuple[float, str | None]] = {}
CHECK_TTL_S = 60.0
"""Pages and the API ask often; a check may load a whole model, so its answer is kept this long."""


def voice_problem(name: str, configured: dict[str, VoiceSettings] | None = None) -> str | None:
    """Why voice ``name`` cannot speak here, or None if it can (checked at most once a minute)."""
    settings = all_voices(configured).get(name)
    key = (name, settings or VoiceSettings(engine="<none>"))
    now = time.monotonic()
    cached = _CHECKED.get(key)
    if cached is not None and now - cached[0] < CHECK_TTL_S:
        return cached[1]
    try:
        make_engine(name, configured)
        problem = None
    except EngineUnavailable as exc:
        problem = str(exc)
    _CHECKED[key] = (now, problem)
    return problem


def voice_report(configured: dict[str, VoiceSettings] | None = None) -> list[dict[str, object]]:
    """Every voice with whether it can speak here and why not."""
    report = []
    for name, settings in sorted(all_voices(configured).items()):
        problem = voice_problem(name, configured)
        report.append({"name": name, "engine": settings.engine, "available": problem is None, "problem": problem})
    return report
