"""The listening check: an offline Vietnamese speech recognizer listens to a bulletin before it airs.

The share of the intended words it recognizes is a repeatable stand-in for how well a villager will
understand the loudspeaker; the words it missed show where the voice stumbles (a place name, a number).
Needs the optional ``asr`` extra (``viet-asr``, which carries its model in its wheel); without it the check
says it is not installed and nothing else changes.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """Lower-case words without punctuation, in NFC (how both sides are compared)."""
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


@dataclass(frozen=True)
class Heard:
    understood: float
    """Share of the intended words the recognizer got right: 1 - word error rate, floored at 0."""
    missed: list[str]
    """Intended words it did not recognize, in order (each once)."""
    heard: str
    """What it heard."""

    def as_json(self) -> dict[str, Any]:
        return {"understood": round(self.understood, 3), "missed": self.missed, "heard": self.heard}


def compare(intended: str, heard: str) -> Heard:
    """Word error rate by edit distance over words; the intended words that were substituted or deleted."""
    ref, hyp = words(intended), words(heard)
    if not ref:
        return Heard(1.0, [], heard)
    # cost[i][j]: edits to turn ref[:i] into hyp[:j]
    cost = [[0] * (len(hyp) + 1) for _ in range(len(ref) + 1)]
    for i in range(len(ref) + 1):
        cost[i][0] = i
    for j in range(len(hyp) + 1):
        cost[0][j] = j
    for i in range(1, len(ref) + 1):
        for j in range(1, len(hyp) + 1):
            same = ref[i - 1] == hyp[j - 1]
            cost[i][j] = min(cost[i - 1][j - 1] + (0 if same else 1), cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    missed: list[str] = []
    i, j = len(ref), len(hyp)
    while i > 0:
        if j > 0 and ref[i - 1] == hyp[j - 1] and cost[i][j] == cost[i - 1][j - 1]:
            i, j = i - 1, j - 1
            continue
        if j > 0 and cost[i][j] == cost[i - 1][j - 1] + 1:
            missed.append(ref[i - 1])
            i, j = i - 1, j - 1
        elif cost[i][j] == cost[i - 1][j] + 1:
            missed.append(ref[i - 1])
            i -= 1
        else:
            j -= 1
    unique = list(dict.fromkeys(reversed(missed)))
    return Heard(max(0.0, 1.0 - cost[-1][-1] / len(ref)), unique, heard)


class ListenerUnavailable(Exception):
    pass


class Listener:
    """The recognizer, loaded once per process; one transcription at a time (the native engine is shared)."""

    _lock = threading.Lock()
    _pipeline: Any = None

    @classmethod
    def problem(cls) -> str | None:
        """Why the check cannot run here, or None."""
        try:
            import vietasr  # noqa: F401
        except ImportError:
            return "the listening check is not installed (pip install 'loaxa[asr]')"
        except OSError as exc:  # the native library failed to load
            return f"the listening check cannot start: {exc}"
        return None

    @classmethod
    def transcribe(cls, audio: bytes) -> str:
        """What the recognizer hears in encoded audio (any format ffmpeg reads)."""
        problem = cls.problem()
        if problem:
            raise ListenerUnavailable(problem)
        with tempfile.TemporaryDirectory(prefix="listen-") as tmp:
            wav = _as_16k_wav(audio, Path(tmp))
            with cls._lock:
                if cls._pipeline is None:
                    import vietasr

                    cls._pipeline = vietasr.Pipeline.new().add("vietasr").build()
                return str(cls._pipeline.transcribe(str(wav)).text)


def _as_16k_wav(audio: bytes, folder: Path) -> Path:
    """Encoded audio (any format ffmpeg reads) as the mono 16 kHz WAV the recognizer takes, in ``folder``."""
    source, wav = folder / "in", folder / "16k.wav"
    source.write_bytes(audio)
    done = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(source), "-ac", "1", "-ar", "16000",
                           "-c:a", "pcm_s16le", str(wav)], capture_output=True, check=False)
    if done.returncode != 0:
        raise ListenerUnavailable(f"cannot decode the audio: {done.stderr.decode(errors='replace')[-200:]}")
    return wav


def transcribe_long(audio: bytes, window_s: int = 30) -> str:
    """What the recognizer hears in a recording of any length (a live session, an upload): ``window_s`` at a
    time, so a long one never loads whole into the recognizer."""
    import io
    import wave

    with tempfile.TemporaryDirectory(prefix="transcribe-") as tmp:
        wav = _as_16k_wav(audio, Path(tmp))
        parts = []
        with wave.open(str(wav), "rb") as whole:
            frames = whole.getframerate() * window_s
            while block := whole.readframes(frames):
                piece = io.BytesIO()
                with wave.open(piece, "wb") as out:
                    out.setparams(whole.getparams())
                    out.writeframes(block)
                parts.append(Listener.transcribe(piece.getvalue()).strip())
    return " ".join(p for p in parts if p)


def listen(audio: bytes, intended: str) -> Heard:
    """Transcribe ``audio`` and compare with the ``intended`` (normalized) text."""
    return compare(intended, Listener.transcribe(audio))
