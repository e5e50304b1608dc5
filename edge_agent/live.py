"""Live broadcasts on the receiver: a session's signed start and stop, its signed audio packets checked and
held in a small jitter buffer, and the frames played out on time through the same sink as everything else.

Every frame is played ``delay_ms`` after the server had it, by this receiver's clock: receivers whose clocks
are set play the same frame at the same moment. A frame that has not come by its time is concealed (the
decoder fades what was heard), so a lost packet keeps its place and the voice stays in step; a receiver whose
frames keep coming late raises its own delay, up to ``max_delay_ms``. A receiver that joins late, or comes back
after its link dropped, takes the stream up where it is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from edge_agent.config import LiveSettings
from edge_agent.protocol import Message, ProtocolError, Topics
from edge_agent.protocol.fields import load_object
from edge_agent.protocol.live import LivePacket, LiveStart, LiveStop, admit
from edge_agent.protocol.opus import silence_like
from edge_agent.protocol.signing import Verifier, open_packet
from edge_agent.reporter import Reporter
from edge_agent.sinks import AudioSink, PlaybackError

logger = logging.getLogger(__name__)

SKEWED_MS = 3000.0
"""A packet that seems to have arrived this long before (or after) the server had it: this receiver's clock is
off (not yet set after a boot without network), so its timing is taken from arrivals instead."""
LATE_GUARD_MS = 40.0
"""When frames come late, the delay grows past the lateness by this much."""
CATCH_UP_MS = 1000.0
"""A playout this far behind its schedule (the device was busy) jumps ahead rather than play it all late."""
KEEP_ENDED = 64
"""Ended sessions remembered, so their replayed packets are refused as replays."""


def now_ms() -> float:
    return time.time() * 1000.0


class LiveBuffer:
    """The frames of one session by number, and when each is due (ms, this receiver's wall clock)."""

    def __init__(self, frame_ms: int, delay_ms: float, max_delay_ms: float) -> None:
        self.frame_ms = frame_ms
        self.delay_ms = delay_ms
        self.max_delay_ms = max_delay_ms
        self.frames: dict[int, bytes] = {}
        self.first: int | None = None
        """The first frame this receiver had (where it joined)."""
        self.last = -1
        self._base_ms = 0.0
        """When the server had frame 0, in this receiver's clock."""
        self._lock = threading.Lock()

    def add(self, packet: LivePacket, arrived_ms: float) -> None:
        with self._lock:
            if self.first is None:
                self.first = packet.first
                lag = arrived_ms - packet.stamp_ms
                skew = lag if abs(lag) > SKEWED_MS else 0.0
                self._base_ms = packet.stamp_ms + skew - packet.first * self.frame_ms
            late = arrived_ms - self._due(packet.first) + LATE_GUARD_MS
            if late > 0 and self.delay_ms < self.max_delay_ms:
                self.delay_ms = min(self.max_delay_ms, self.delay_ms + late)
                logger.warning("live frames arrive late: playing %.0f ms behind the server", self.delay_ms)
            for index, frame in enumerate(packet.frames):
                number = packet.first + index
                if number >= self.first:
                    self.frames[number] = frame
            self.last = max(self.last, packet.first + len(packet.frames) - 1)

    def _due(self, number: int) -> float:
        return self._base_ms + number * self.frame_ms + self.delay_ms

    def due_ms(self, number: int) -> float:
        with self._lock:
            return self._due(number)

    def number_at(self, moment_ms: float) -> int:
        """The frame due at ``moment_ms``."""
        with self._lock:
            return int((moment_ms - self._base_ms - self.delay_ms) // self.frame_ms)

    def pop(self, number: int) -> bytes | None:
        with self._lock:
            for old in [n for n in self.frames if n < number]:
                del self.frames[old]  # passed: a frame that came too late is not played
            return self.frames.pop(number, None)

    def extend(self, milliseconds: float) -> None:
        """Play everything ``milliseconds`` later (an amplifier still warming up)."""
        with self._lock:
            self.delay_ms += milliseconds


@dataclass
class Session:
    start: LiveStart
    buffer: LiveBuffer
    seqs: dict[str, int] = field(default_factory=dict)
    """The newest packet taken on each topic."""
    heard_at: float = field(default_factory=time.monotonic)
    """When its last packet came (monotonic)."""
    stopped: threading.Event = field(default_factory=threading.Event)
    done: bool = False
    """Played out (or given up) on this device: never again."""

    @property
    def broadcast_id(self) -> int:
        return self.start.broadcast_id


@dataclass
class Outcome:
    state: str
    """played, interrupted or failed (a session this device never played is ``missed``)."""
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = None


OpenSigned = Callable[[str, bytes, type[Message]], Message | None]
Refuse = Callable[[str, str, str], None]


class LiveListener:
    """The live sessions addressed to this device: ``on_control`` and ``on_audio`` take what comes (from any
    thread), the player asks for the session to play (``current``) and plays it (``play``)."""

    def __init__(self, device_id: str, settings: LiveSettings, verifier: Verifier, topics: Topics,
                 open_signed: OpenSigned, refuse: Refuse, on_session: Callable[[Session], None],
                 clock: Callable[[], datetime]) -> None:
        self.device_id = device_id
        self.settings = settings
        self.verifier = verifier
        self.topics = topics
        self._open_signed = open_signed
        self._refuse = refuse
        self._on_session = on_session
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        self._ended: list[str] = []
        self._lock = threading.Lock()

    def on_control(self, topic: str, payload: bytes) -> None:
        """A signed start or stop on a group's live topic (this device is in the group)."""
        if not payload:
            return
        try:
            kind: type[Message] = LiveStop if load_object(payload).get("type") == LiveStop.TYPE else LiveStart
        except ProtocolError:
            kind = LiveStart  # refused, with the reason, by the check below
        message = self._open_signed(topic, payload, kind)
        if isinstance(message, LiveStart):
            self._started(topic, message)
        elif isinstance(message, LiveStop):
            self._stopped(message)

    def _started(self, topic: str, start: LiveStart) -> None:
        if self.topics.live(start.group) != topic:
            self._refuse(topic, "malformed", f"a live start for group {start.group!r} on another group's topic")
            return
        if not start.for_device(self.device_id):
            return
        if start.started_at + timedelta(seconds=start.max_s) < self.clock():
            return  # long over: a retained start whose stop was lost
        with self._lock:
            if start.session in self.sessions or start.session in self._ended:
                return  # the same start again (retained, after a reconnection), or from another group
            session = Session(start, LiveBuffer(start.frame_ms, self.settings.delay_ms, self.settings.max_delay_ms))
            self.sessions[start.session] = session
        logger.warning("live broadcast %d %r (%s) begins", start.broadcast_id, start.title, start.priority)
        self._on_session(session)

    def _stopped(self, stop: LiveStop) -> None:
        with self._lock:
            session = self.sessions.get(stop.session)
        if session is not None:
            logger.info("live broadcast %d ends", stop.broadcast_id)
            session.stopped.set()
            if session.buffer.first is None:
                self.finish(session)  # none of it came here: nothing to play out (the server counts it missed)

    def on_audio(self, topic: str, payload: bytes) -> None:
        """A signed audio packet (on the network thread: quick)."""
        arrived = now_ms()
        try:
            packet = open_packet(self.verifier, topic, payload)
        except ProtocolError as exc:
            self._refuse(topic, exc.reason, str(exc))
            return
        with self._lock:
            session = self.sessions.get(packet.session)
            if packet.session in self._ended or (session is not None and session.done):
                return  # the tail of a session this device has finished: nothing to play, nothing forged
        try:
            admit(packet, session.seqs.get(topic, -1) if session is not None else None)
        except ProtocolError as exc:
            self._refuse(topic, exc.reason, str(exc))
            return
        assert session is not None
        if self.topics.live_audio(session.start.group) != topic:
            self._refuse(topic, "malformed", "live audio of a session on another group's topic")
            return
        session.seqs[topic] = packet.seq
        session.heard_at = time.monotonic()
        session.buffer.add(packet, arrived)

    def current(self) -> Session | None:
        """The session on air for this device now (begun, not yet played out), with or without its audio yet."""
        with self._lock:
            for session in self.sessions.values():
                if not session.done:
                    return session
            return None

    def finish(self, session: Session) -> None:
        with self._lock:
            session.done = True
            self.sessions.pop(session.start.session, None)
            self._ended = [*self._ended[-KEEP_ENDED + 1:], session.start.session]

    def play(self, session: Session, write: Callable[[bytes], None], cut: threading.Event,
             on_start: Callable[[datetime], None]) -> Outcome:
        """Play ``session`` out through ``write`` (one Opus packet at a time) until it ends, its audio stops
        coming, or ``cut`` is set; ``on_start`` is told when the first frame went to the sink."""
        buffer, start = session.buffer, session.start
        assert buffer.first is not None
        number, template = buffer.first, b""
        started: datetime | None = None
        ends_at = time.monotonic() + start.max_s
        error = None
        while True:
            wait = (buffer.due_ms(number) - now_ms()) / 1000
            if wait > 0 and cut.wait(wait):
                break
            if cut.is_set():
                break
            if now_ms() - buffer.due_ms(number) > CATCH_UP_MS:
                number = buffer.number_at(now_ms())  # the device was busy: take the stream up where it is
            frame = buffer.pop(number)
            if frame is None:
                if session.stopped.is_set() and number > buffer.last:
                    break
                if time.monotonic() - session.heard_at > self.settings.silence_s:
                    error = f"the live audio stopped arriving for {self.settings.silence_s:g} s"
                    break
                if time.monotonic() > ends_at:
                    error = "the live session reached its longest allowed length"
                    break
                if not template:
                    number += 1
                    continue
                frame = silence_like(template)
            else:
                template = frame
            write(frame)
            if started is None:
                started = self.clock()
                on_start(started)
            number += 1
        state = "interrupted" if cut.is_set() else "played"
        return Outcome(state, started, self.clock() if started else None, error)


def play_out(listener: LiveListener, session: Session, sink: AudioSink, reporter: Reporter, cut: threading.Event,
             cut_reason: Callable[[], str | None], stopping: threading.Event) -> None:
    """Play ``session`` through ``sink`` and report how it went (``cut_reason``: why ``cut`` was set)."""
    broadcast_id = session.broadcast_id
    logger.info("playing live broadcast %d %r", broadcast_id, session.start.title)
    try:
        stream = sink.open_stream(f"b{broadcast_id}-live")
    except PlaybackError as exc:
        listener.finish(session)
        reporter.live(broadcast_id, "failed", error=str(exc))
        return
    try:
        outcome = listener.play(session, stream.write, cut,
                                lambda at: reporter.live(broadcast_id, "playing", started_at=at))
    finally:
        problem = stream.close()
        listener.finish(session)
    if stopping.is_set():
        reporter.live(broadcast_id, "failed", outcome.started_at, outcome.finished_at,
                      "interrupted: the receiver was stopped")
    elif outcome.started_at is None:
        reporter.live(broadcast_id, "missed", error=cut_reason() or outcome.error
                      or "the live session ended before this receiver could play it")
    elif problem is not None:
        reporter.live(broadcast_id, "failed", outcome.started_at, outcome.finished_at, problem)
    else:
        error = (cut_reason() or "interrupted") if outcome.state == "interrupted" else outcome.error
        reporter.live(broadcast_id, outcome.state, outcome.started_at, outcome.finished_at, error)
