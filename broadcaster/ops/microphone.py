"""``broadcaster live speak``: speak live from a PC's microphone (ALSA) or play a file live, through the API: it
starts a session, sends the Opus frames ffmpeg encodes to the worker's live endpoint as they come, and stops it.

The same client drives the tests and ``bench/live.py``: a file is sent at its natural pace, as a voice would
be, and ``sent`` records when each frame left.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from edge_agent.protocol.opus import OpusError, stream_packets

FRAME_US = 20_000


class MicrophoneError(Exception):
    """The session could not be started or spoken to; the text says why."""


def encoder(source: str, bitrate_kbps: int = 24) -> list[str]:
    """ffmpeg reading ``source`` (an ALSA device such as ``default`` or ``hw:1``, or a file, sent at its own
    pace) and writing Ogg Opus of 20 ms frames on its standard output."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise MicrophoneError("ffmpeg is not installed (apt-get install ffmpeg)")
    device = not ("/" in source or "." in source)
    reading = ["-f", "alsa", "-i", source] if device else ["-re", "-i", source]
    return [ffmpeg, "-nostdin", "-hide_banner", "-v", "error", *reading, "-ac", "1", "-ar", "48000",
            "-c:a", "libopus", "-b:a", f"{bitrate_kbps}k", "-frame_duration", "20", "-application", "voip",
            "-page_duration", "20000", "-f", "ogg", "pipe:1"]


def start_session(api: str, token: str, request: dict[str, Any]) -> dict[str, Any]:
    """``POST /api/v1/live``: the session, its one-time ticket and where the microphone connects."""
    data = json.dumps(request).encode()
    call = urllib.request.Request(f"{api.rstrip('/')}/live", data=data, method="POST",
                                  headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(call, timeout=30) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read())["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = exc.reason
        raise MicrophoneError(f"the server refused the session ({exc.code}): {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise MicrophoneError(f"cannot reach {api}: {exc}") from None


@dataclass
class Speaking:
    """A session being spoken to: frames go out as the encoder gives them."""

    url: str
    ticket: str
    sent: list[float] = field(default_factory=list)
    """When each frame left (time.time()), by frame number."""
    answers: list[dict[str, Any]] = field(default_factory=list)
    """What the endpoint said (started, ended, errors)."""
    ended: threading.Event = field(default_factory=threading.Event)
    _connection: ClientConnection | None = None
    _listener: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def open(self) -> dict[str, Any]:
        try:
            self._connection = connect(f"{self.url}?ticket={self.ticket}", open_timeout=10, max_size=4096)
            first: dict[str, Any] = json.loads(self._connection.recv(timeout=10))
        except (OSError, TimeoutError, ConnectionClosed, ValueError) as exc:
            raise MicrophoneError(f"cannot connect the microphone to {self.url}: {exc}") from None
        self.answers.append(first)
        if first.get("type") != "started":
            raise MicrophoneError(f"the live endpoint refused the microphone: {first.get('message', first)}")
        self._listener = threading.Thread(target=self._listen, name="microphone-answers", daemon=True)
        self._listener.start()
        return first

    def _listen(self) -> None:
        """What the endpoint says while we speak: an error, or that the session ended (an operator stopped it)."""
        assert self._connection is not None
        try:
            for message in self._connection:
                answer = json.loads(message)
                self.answers.append(answer)
                if answer.get("type") == "ended":
                    self.ended.set()
        except (ConnectionClosed, ValueError):
            pass
        self.ended.set()

    def send(self, packets: Callable[[], Any], limit_s: float | None = None) -> None:
        """Send every Opus packet ``packets()`` yields (until the session ends, ``stop()`` or ``limit_s``), then
        say stop."""
        assert self._connection is not None
        started = time.monotonic()
        for number, packet in enumerate(packets()):
            if self._stop.is_set() or self.ended.is_set() or (
                    limit_s is not None and time.monotonic() - started > limit_s):
                break
            try:
                self._connection.send(struct.pack(">Q", number * FRAME_US) + packet)
            except ConnectionClosed:
                break
            self.sent.append(time.time())
        self.close()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Say stop, and wait for the endpoint to say the session ended."""
        if self._connection is None:
            return
        with contextlib.suppress(ConnectionClosed):
            self._connection.send(json.dumps({"type": "stop"}))
        self.ended.wait(10)
        self._connection.close()
        self._connection = None


def encoded(source: str, bitrate_kbps: int = 24) -> Callable[[], Any]:
    """The Opus packets of ``source`` as ffmpeg encodes them (its two header packets left out)."""

    def packets() -> Any:
        with subprocess.Popen(encoder(source, bitrate_kbps), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) as proc:
            assert proc.stdout is not None
            try:
                for index, packet in enumerate(stream_packets(proc.stdout)):
                    if index >= 2:
                        yield packet.data
            except OpusError as exc:
                raise MicrophoneError(f"the encoder's output is not Ogg Opus: {exc}") from None
            finally:
                proc.kill()

    return packets
