"""Measurements of audio files with the real ffmpeg, for assertions a listener would agree with."""

from __future__ import annotations

import array
import math
import re
import subprocess
import wave
from pathlib import Path
from typing import Any


def wav_stats(path: Path) -> tuple[float, float]:
    """(duration in seconds, RMS level in dBFS) of a 16-bit WAV."""
    with wave.open(str(path), "rb") as wav:
        frames = wav.readframes(wav.getnframes())
        duration = wav.getnframes() / wav.getframerate()
    samples = array.array("h", frames)
    if not samples:
        return duration, float("-inf")
    mean_square = sum(s * s for s in samples) / len(samples)
    return duration, 10 * math.log10(mean_square / 32768**2) if mean_square else float("-inf")


def voiced_seconds(path: Path, threshold_db: float = -40.0) -> float:
    """Seconds of the file that are not silence (ffmpeg silencedetect)."""
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(path), "-af",
         f"silencedetect=noise={threshold_db}dB:d=0.3", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    silent = sum(float(x) for x in re.findall(r"silence_duration: ([0-9.]+)", result.stderr))
    return probe_duration(path) - silent


def probe_duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                          str(path)], capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def integrated_loudness(path: Path) -> tuple[float, float]:
    """(integrated loudness in LUFS, true peak in dBTP) by ffmpeg's EBU R128 meter."""
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128=peak=true",
         "-f", "null", "-"], capture_output=True, text=True, check=True,
    )
    summary = result.stderr[result.stderr.rfind("Summary:"):]
    loudness = float(re.search(r"I:\s+(-?[0-9.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s+(-?[0-9.inf]+) dBFS", summary).group(1))  # type: ignore[union-attr]
    return loudness, peak


def render_bulletin(tmp_path: Path, voice: str, voices: dict[str, Any], text: str) -> Any:
    """Render ``text`` through the server's whole speech path with ``voice``; returns the stored Asset."""
    from broadcaster.assets import AssetStore
    from broadcaster.config import SpeechSettings
    from broadcaster.database import Database
    from broadcaster.speech.render import Speech

    db = Database(f"sqlite:///{tmp_path / 'render.db'}")
    db.create_all()
    speech = Speech(SpeechSettings(voice=voice, voices=voices), AssetStore(tmp_path / "assets"))
    engine, problem = speech.engine()
    assert problem is None and engine.name == voice
    with db.session() as session:
        return speech.render(session, text)


def samples(path: Path, rate: int = 16000) -> Any:
    """Any audio file as mono float samples at ``rate`` (decoded by ffmpeg)."""
    import numpy as np

    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(rate),
                          "-f", "s16le", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768


def likeness(heard: Path, spoken: Path, rate: int = 16000, envelope: bool = False) -> tuple[float, float]:
    """How much of ``spoken`` is in ``heard``: the peak of their normalized cross-correlation (1: the same
    sound, whatever the level; about 0.3 or less for another sentence) and where it lies (seconds ``heard``
    lags). ``envelope``: compare the loudness contours (log energy every 10 ms) rather than the waveforms, as a
    listener does, for a codec that keeps the voice but not its waveform (Opus's speech mode)."""
    import numpy as np

    a, b = samples(heard, rate), samples(spoken, rate)
    step = 1.0 / rate
    if envelope:
        a, b, step = _contour(a, rate), _contour(b, rate), 0.01
    if not len(a) or not len(b):
        return 0.0, 0.0
    size = 1 << (len(a) + len(b)).bit_length()
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)
    corr = np.concatenate([corr[-(len(b) - 1):], corr[:len(a)]]) if len(b) > 1 else corr[:len(a)]
    lag = int(np.argmax(np.abs(corr))) - (len(b) - 1)
    overlap_a = a[max(0, lag):max(0, lag) + len(b)]
    overlap_b = b[max(0, -lag):max(0, -lag) + len(overlap_a)]
    overlap_a = overlap_a[:len(overlap_b)]
    energy = float(np.sqrt(np.sum(overlap_a ** 2) * np.sum(overlap_b ** 2)))
    return (float(np.abs(np.dot(overlap_a, overlap_b))) / energy if energy else 0.0), lag * step


def _contour(x: Any, rate: int) -> Any:
    """Log energy every 10 ms, less its mean."""
    import numpy as np

    hop = rate // 100
    frames = len(x) // hop
    energy = np.log(np.sqrt((x[:frames * hop].reshape(frames, hop) ** 2).mean(axis=1)) + 1e-4)
    return energy - energy.mean()
