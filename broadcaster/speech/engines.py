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
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydub import AudioSegment

from broadcaster.speech.audio import SAMPLE_RATE, AudioError

logger = logging.getLogger(__name__)

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
    label: str = ""
    """What officers see when they choose the voice, e.g. "Nữ miền Bắc (tự nhiên)"; empty: the voice's name."""
    region: str = ""
    """The accent: north, central or south (empty: not said)."""
    gender: str = ""
    """female or male (empty: not said, or several speakers)."""

    def sound(self) -> dict[str, object]:
        """The settings that change what is heard (not how the voice is labelled)."""
        return {k: v for k, v in asdict(self).items() if k not in ("label", "region", "gender")}

    @property
    def natural(self) -> bool:
        """A neural voice that listeners understand; espeak-ng is the robotic fallback."""
        return self.engine != "espeak"

    def at_speed(self, speed: float) -> VoiceSettings:
        """The same voice ``speed`` times as fast (1.0: as configured)."""
        if speed == 1.0:
            return self
        if self.engine == "espeak":
            return replace(self, speed_wpm=max(80, min(450, round(self.speed_wpm * speed))))
        return replace(self, length_scale=round(self.length_scale / speed, 4))


REGIONS = ("north", "central", "south")
GENDERS = ("female", "male")
SPEEDS = (0.8, 0.9, 1.0, 1.1, 1.2)
"""Reading speeds an officer may choose for a bulletin (times the voice's own)."""


def _espeak(voice: str, label: str, region: str, gender: str) -> VoiceSettings:
    # espeak-ng's female variant alone speaks at about 160 Hz; raised, at about 190 Hz as a woman's voice does.
    return VoiceSettings(espeak_voice=voice, label=label, region=region, gender=gender,
                         pitch=65 if gender == "female" else 50)


BUILTIN_VOICES = {
    "vi": _espeak("vi", "Giọng máy, nam miền Bắc", "north", "male"),
    "vi-nu": _espeak("vi+f3", "Giọng máy, nữ miền Bắc", "north", "female"),
    "vi-central": _espeak("vi-vn-x-central", "Giọng máy, nam miền Trung", "central", "male"),
    "vi-central-nu": _espeak("vi-vn-x-central+f3", "Giọng máy, nữ miền Trung", "central", "female"),
    "vi-south": _espeak("vi-vn-x-south", "Giọng máy, nam miền Nam", "south", "male"),
    "vi-south-nu": _espeak("vi-vn-x-south+f3", "Giọng máy, nữ miền Nam", "south", "female"),
}
"""espeak-ng's three Vietnamese accents, each with its male voice and a female variant (``+f3``): always there,
robotic, the fallback of every other voice."""


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
        return json.dumps(self.settings.sound(), sort_keys=True)


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
        if self.settings.espeak_voice.lower().partition("+")[0] not in _espeak_voices():  # "vi+f3": a variant
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
        return json.dumps([self.settings.sound(), stat.st_size, stat.st_mtime_ns], sort_keys=True)


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
        return json.dumps([self.settings.sound(), _stamp(self._files())], sort_keys=True)


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
