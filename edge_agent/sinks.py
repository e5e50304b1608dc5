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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from edge_agent.protocol.opus import OggWriter

logger = logging.getLogger(__name__)


class PlaybackError(Exception):
    """The sink could not play the file; the text says why."""


def _ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise PlaybackError("ffmpeg is not installed (apt-get install ffmpeg)")
    return path


class AudioSink(ABC):
    """Plays one file at a time; ``play`` returns True when the item played to its end, False when it was cut
    off (an emergency, a stop command, shutting down).

    Cutting off: set the ``cancel`` event given to ``play``/``relay`` (one per item, so a cut meant for one
    item can never land on the next), or call ``stop()`` for whatever plays without one.
    """

    def __init__(self, volume: int = 100) -> None:
        self.volume = volume
        self._stop = threading.Event()

    @abstractmethod
    def play(self, path: Path, label: str, cancel: threading.Event | None = None) -> bool: ...

    def stop(self) -> None:
        self._stop.set()

    def _cancel_event(self, cancel: threading.Event | None) -> threading.Event:
        if cancel is not None:
            return cancel
        self._stop.clear()
        return self._stop

    def _run(self, args: list[str], cancel: threading.Event) -> tuple[int, list[str], bool]:
        """Run ffmpeg until it ends or ``cancel`` is set: (exit code, stderr lines, cut off)."""
        lines: list[str] = []
        with subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as proc:
            reader = threading.Thread(target=lambda: lines.extend(proc.stderr or []), daemon=True)
            reader.start()
            cut = False
            while proc.poll() is None:
                if cancel.wait(0.1) or self._stop.is_set():
                    cut = True
                    proc.terminate()
                    break
            proc.wait()
            reader.join(timeout=5)
        return proc.returncode, lines, cut

    def _filter(self) -> list[str]:
        return ["-af", f"volume={self.volume / 100:.2f}"]

    @abstractmethod
    def _output(self, label: str) -> list[str]:
        """ffmpeg output arguments for a live relay."""

    def relay(self, url: str, seconds: float, label: str, dead_air_s: float = 10.0,
              cancel: threading.Event | None = None) -> Relay:
        """Play a live stream (HTTP, Icecast, HLS: what ffmpeg opens) for ``seconds`` or until cut off,
        noting every stretch of silence longer than ``dead_air_s``."""
        event = self._cancel_event(cancel)
        args = [_ffmpeg(), "-nostdin", "-hide_banner", "-nostats", "-rw_timeout", "15000000", "-i", url,
                "-t", f"{seconds:.1f}", "-af",
                f"silencedetect=noise=-45dB:d={dead_air_s:g},volume={self.volume / 100:.2f}",
                *self._output(label)]
        started = time.monotonic()
        code, lines, cut = self._run(args, event)
        heard = time.monotonic() - started
        silences = [float(line.rsplit("silence_duration:", 1)[1]) for line in lines if "silence_duration:" in line]
        open_silence = [line for line in lines if "silence_start:" in line][len(silences):]
        if open_silence:  # silent until the end: count it too
            start = float(open_silence[-1].rsplit("silence_start:", 1)[1].split()[0])
            silences.append(max(0.0, min(seconds, heard) - start))
        problem = None if code == 0 or cut else (
            "".join(line for line in lines if "silence" not in line).strip()[-300:] or f"ffmpeg {code}")
        return Relay(heard_s=heard, stopped=cut, error=problem, dead_air_s=silences)


    def open_stream(self, label: str) -> Stream:
        """Start playing a live stream of Opus packets, written one at a time as their moment comes."""
        args = [_ffmpeg(), "-hide_banner", "-v", "error", "-fflags", "nobuffer", "-probesize", "32",
                "-analyzeduration", "0", "-f", "ogg", "-i", "pipe:0", *self._filter(), *self._output(label)]
        return Stream(args)


class Stream:
    """A live stream going to a sink: ffmpeg decodes the Ogg Opus it is fed on its standard input."""

    def __init__(self, args: list[str]) -> None:
        self._ogg = OggWriter()
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE)
        self._broken: str | None = None
        self._send(self._ogg.header())

    def _send(self, data: bytes) -> None:
        if self._broken is not None or self._proc.stdin is None:
            return
        try:
            self._proc.stdin.write(data)
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            self._broken = f"the decoder stopped: {exc}"

    def write(self, packet: bytes) -> None:
        self._send(self._ogg.packet(packet))

    def close(self) -> str | None:
        """End the stream and wait for the sink to finish; what went wrong, if anything."""
        try:
            _, err = self._proc.communicate(timeout=30)  # closes its input: the decoder plays out and ends
        except subprocess.TimeoutExpired:
            self._proc.kill()
            _, err = self._proc.communicate()
        if self._proc.returncode != 0:
            return self._broken or f"ffmpeg: {err.decode(errors='replace').strip()[-300:]}"
        return self._broken


@dataclass
class Relay:
    heard_s: float
    """How long the stream played."""
    stopped: bool
    """Cut off by stop() (an emergency, an operator)."""
    error: str | None
    """Why the stream could not be played (or broke off), from ffmpeg."""
    dead_air_s: list[float]
    """Lengths of the silent stretches (each longer than the dead-air threshold)."""


class FileSink(AudioSink):
    """Writes every playback as ``<played_dir>/<UTC time>-<label>.wav`` and takes its real duration."""

    def __init__(self, played_dir: Path, volume: int = 100, realtime: bool = True) -> None:
        super().__init__(volume)
        self.played_dir = played_dir
        self.realtime = realtime
        played_dir.mkdir(parents=True, exist_ok=True)
        for stale in played_dir.glob("*.partial.wav"):
            stale.unlink(missing_ok=True)  # a decode cut off by a power loss: never heard, never finished

    def _target(self, label: str) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        return self.played_dir / f"{stamp}-{label}.wav"

    @staticmethod
    def _wav(path: Path) -> list[str]:
        return ["-y", "-ac", "1", "-ar", "22050", "-c:a", "pcm_s16le", str(path)]

    def _output(self, label: str) -> list[str]:
        return self._wav(self._target(label))

    def play(self, path: Path, label: str, cancel: threading.Event | None = None) -> bool:
        event = self._cancel_event(cancel)
        out = self._target(label)
        tmp = out.with_suffix(".partial.wav")
        started = time.monotonic()
        result = subprocess.run(
            [_ffmpeg(), "-nostdin", "-v", "error", "-i", str(path), *self._filter(), *self._wav(tmp)],
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
            if remaining > 0 and (event.wait(remaining) or self._stop.is_set()):
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

    def _output(self, label: str) -> list[str]:
        return ["-f", "alsa", self.device]

    def play(self, path: Path, label: str, cancel: threading.Event | None = None) -> bool:
        event = self._cancel_event(cancel)
        code, lines, cut = self._run([_ffmpeg(), "-nostdin", "-v", "error", "-i", str(path), *self._filter(),
                                      "-f", "alsa", self.device], event)
        if cut:
            return False
        if code != 0:
            raise PlaybackError(f"ALSA playback failed on {self.device!r}: {''.join(lines).strip()[-300:]}")
        return True
