"""Where audio goes: a loudspeaker through ALSA, or WAV files for the demo and tests.

Both decode with the system ``ffmpeg`` and block for the real duration of the item, so timing,
reports and interruption behave the same whichever sink is used.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
import wave
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)


class PlaybackError(Exception):
    """The sink could not play the file; the text says why."""


def _ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise PlaybackError("ffmpeg is not installed (apt-get install ffmpeg)")
    return path


class AudioSink(ABC):
    """Plays one file at a time; ``play`` returns True when the item played to its end, False when ``stop``
    cut it off (an emergency, a stop command, shutting down)."""

    def __init__(self, volume: int = 100) -> None:
        self.volume = volume
        self._stop = threading.Event()

    @abstractmethod
    def play(self, path: Path, label: str) -> bool: ...

    def stop(self) -> None:
        self._stop.set()

    def _filter(self) -> list[str]:
        return ["-af", f"volume={self.volume / 100:.2f}"]


class FileSink(AudioSink):
    """Writes every playback as ``<played_dir>/<UTC time>-<label>.wav`` and takes its real duration."""

    def __init__(self, played_dir: Path, volume: int = 100, realtime: bool = True) -> None:
        super().__init__(volume)
        self.played_dir = played_dir
        self.realtime = realtime
        played_dir.mkdir(parents=True, exist_ok=True)

    def play(self, path: Path, label: str) -> bool:
        self._stop.clear()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        out = self.played_dir / f"{stamp}-{label}.wav"
        tmp = out.with_suffix(".partial.wav")
        started = time.monotonic()
        result = subprocess.run(
            [_ffmpeg(), "-nostdin", "-v", "error", "-y", "-i", str(path), *self._filter(),
             "-ac", "1", "-ar", "22050", "-c:a", "pcm_s16le", str(tmp)],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise PlaybackError(f"cannot decode audio: {result.stderr.strip()[-300:]}")
        tmp.rename(out)
        with wave.open(str(out), "rb") as wav:
            duration = wav.getnframes() / wav.getframerate()
        if self.realtime:
            remaining = duration - (time.monotonic() - started)
            if remaining > 0 and self._stop.wait(remaining):
                # Cut off: keep only what a listener would have heard.
                _truncate(out, time.monotonic() - started)
                return False
        return True


def _truncate(path: Path, seconds: float) -> None:
    with wave.open(str(path), "rb") as wav:
        params = wav.getparams()
        frames = wav.readframes(max(0, int(seconds * wav.getframerate())))
    with wave.open(str(path), "wb") as wav:
        wav.setparams(params)
        wav.writeframes(frames)


class AlsaSink(AudioSink):
    """Plays through an ALSA device with ffmpeg (``default`` unless configured)."""

    def __init__(self, device: str = "default", volume: int = 100) -> None:
        super().__init__(volume)
        self.device = device
        self._proc: subprocess.Popen[str] | None = None

    def play(self, path: Path, label: str) -> bool:
        self._stop.clear()
        self._proc = subprocess.Popen(
            [_ffmpeg(), "-nostdin", "-v", "error", "-i", str(path), *self._filter(),
             "-f", "alsa", self.device],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        _, err = self._proc.communicate()
        code, self._proc = self._proc.returncode, None
        if self._stop.is_set():
            return False
        if code != 0:
            raise PlaybackError(f"ALSA playback failed on {self.device!r}: {err.strip()[-300:]}")
        return True

    def stop(self) -> None:
        super().stop()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
