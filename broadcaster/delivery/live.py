"""Live sessions, on the leading worker: the speaker's microphone connects over a WebSocket with the one-time
ticket its session was started with, sends Opus frames, and they go out at once, a few at a time, signed, on
the live topic of each group the session is for; the broker makes the copies. The session ends when the
speaker stops, an operator stops it, the microphone goes quiet or away, or it reaches its length; the
recording is kept for an approver to let it air again.

What the microphone sends (docs/live.md): binary messages of an 8-byte big-endian timestamp (microseconds, the
capture's own clock) followed by one Opus packet; a text message ``{"type": "stop"}`` to end. What it hears
back: text messages ``{"type": "started"|"ended"|"error", ...}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.exc import SQLAlchemyError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from broadcaster.assets import AssetStore
from broadcaster.config import ServerConfig
from broadcaster.database import Database
from broadcaster.db import Broadcast, LiveSession, utcnow
from broadcaster.delivery.publisher import Publisher
from broadcaster.domain import live as rules
from broadcaster.domain.errors import Refusal
from broadcaster.speech.render import Speech
from edge_agent.protocol.live import LivePacket, LiveStart, LiveStop
from edge_agent.protocol.opus import OggWriter, OpusError, packet_samples, silence_like

logger = logging.getLogger(__name__)

FRAME_MS = 20
GROUP_FRAMES = 8
"""Frames a packet carries: 160 ms, so a signature and a header per 160 ms (about 40 KB a minute)."""
FLUSH_S = 0.2
"""A packet goes at the latest this long after its first frame came, however few frames it has."""
MIC_QUIET_S = 10.0
"""A microphone that sends nothing for this long has gone away: the session ends."""
MAX_MESSAGE = 4096
STOP_TTL = timedelta(days=30)
CLEAR_AFTER_S = 600.0
"""A session's retained stop is cleared from its topics this long after it ended."""
RETRY_BIND_S = 3.0
"""How often a leader whose live port is taken tries it again."""


class Relay:
    """One session's frames in, signed packets out to its groups, and its recording."""

    def __init__(self, publisher: Publisher, live: LiveSession, broadcast: Broadcast) -> None:
        self.publisher = publisher
        self.session = live.session
        self.broadcast_id = broadcast.id
        self.groups: dict[str, list[str] | None] = json.loads(live.groups)
        self.start = {g: LiveStart(live.session, broadcast.id, g, broadcast.priority, broadcast.bulletin.title,
                                   live.started_at or utcnow(), live.max_s, FRAME_MS, devices)
                      for g, devices in self.groups.items()}
        self.max_s = live.max_s
        self._origin_us: int | None = None
        self._pending: list[bytes] = []
        self._first = 0
        self._stamp_ms = 0
        self._since = 0.0
        self._next = 0
        self._seq = 0
        self.frames: dict[int, bytes] = {}
        """Every frame by number: the recording."""
        self._lock = threading.Lock()

    def begin(self) -> None:
        topics, signer = self.publisher.topics, self.publisher.signer
        ttl = timedelta(seconds=self.max_s + 900)
        for group, start in self.start.items():
            topic = topics.live(group)
            self.publisher.link.publish(topic, signer.sign(topic, start.to_dict(), ttl), qos=1, retain=True)
        logger.warning("live broadcast %d on air to %s", self.broadcast_id, ", ".join(self.groups) or "nobody")

    def frame(self, timestamp_us: int, data: bytes) -> None:
        """One Opus frame from the microphone, with its capture time."""
        if packet_samples(data) != FRAME_MS * 48:
            raise OpusError(f"frames must be {FRAME_MS} ms of Opus")
        with self._lock:
            if self._origin_us is None:
                self._origin_us = timestamp_us
            number = round((timestamp_us - self._origin_us) / (FRAME_MS * 1000))
            if number < self._next:
                return  # repeated or out of order: its time has gone
            if self._pending and (number != self._next or len(self._pending) >= GROUP_FRAMES):
                self._flush()
            if not self._pending:
                self._first, self._stamp_ms, self._since = number, int(time.time() * 1000), time.monotonic()
            self._pending.append(data)
            self.frames[number] = data
            self._next = number + 1

    def tick(self) -> None:
        """Send what waits if it has waited long enough."""
        with self._lock:
            if self._pending and time.monotonic() - self._since >= FLUSH_S:
                self._flush()

    def _flush(self) -> None:
        packet = LivePacket(self.session, self._seq, self._first, self._stamp_ms, self._pending)
        self._seq += 1
        self._pending = []
        topics, signer, link = self.publisher.topics, self.publisher.signer, self.publisher.link
        for group in self.groups:
            topic = topics.live_audio(group)
            link.publish(topic, signer.sign_packet(topic, packet), qos=0)

    def end(self) -> None:
        with self._lock:
            if self._pending:
                self._flush()
        topics, signer = self.publisher.topics, self.publisher.signer
        for group in self.groups:
            topic = topics.live(group)
            stop = LiveStop(self.session, self.broadcast_id, group, utcnow())
            self.publisher.link.publish(topic, signer.sign(topic, stop.to_dict(), STOP_TTL), qos=1, retain=True)

    def recording(self) -> bytes:
        """The session as an Ogg Opus file, a lost frame's place kept by a concealed one."""
        with self._lock:
            numbers = sorted(self.frames)
            if not numbers:
                return b""
            writer = OggWriter()
            out = [writer.header()]
            previous = self.frames[numbers[0]]
            for number in range(numbers[0], numbers[-1] + 1):
                frame = self.frames.get(number)
                previous = frame or previous
                out.append(writer.packet(frame or silence_like(previous), last=number == numbers[-1]))
            return b"".join(out)

    @property
    def seconds(self) -> float:
        return len(self.frames) * FRAME_MS / 1000


class LiveServer:
    """The WebSocket endpoint microphones connect to (on the leader only)."""

    def __init__(self, config: ServerConfig, db: Database, publisher: Publisher) -> None:
        self.config, self.db, self.publisher = config, db, publisher
        self.speech = Speech(config.speech, publisher.store)
        self.uploads = AssetStore(config.upload_dir, suffix="")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._timers: list[threading.Timer] = []
        self._stopping = threading.Event()
        self._state = threading.Lock()
        """Guards ``_loop`` and ``_server`` between the listening thread and :meth:`stop`."""
        self.port = config.live.port
        """The port it listens on (the configured one, or the one the system gave for port 0)."""

    def start(self) -> None:
        self._end_orphans()
        self._ready.clear()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="live", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            logger.error("the live endpoint did not start")

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()  # the next leader clears what this one left
        self._timers.clear()
        self._stopping.set()
        with self._state:
            loop, server = self._loop, self._server
            if loop is not None and server is not None and not loop.is_closed():
                loop.call_soon_threadsafe(server.close)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def _run(self) -> None:
        """Listen until stopped. A port taken by someone else (a restart while the old socket lingers, another
        program) is tried again every few seconds: microphones reconnect once it answers."""
        said = False
        while not self._stopping.is_set():
            loop = asyncio.new_event_loop()
            with self._state:
                self._loop = loop
            try:
                loop.run_until_complete(self._serve())
                return
            except OSError as exc:
                if not said:
                    logger.error("the live endpoint cannot listen on %s:%d (%s); trying again every %g s",
                                 self.config.live.host, self.port, exc, RETRY_BIND_S)
                    said = True
                self._ready.set()
            finally:
                with self._state:
                    self._loop, self._server = None, None
                loop.close()
            self._stopping.wait(RETRY_BIND_S)

    async def _serve(self) -> None:
        async with serve(self._handle, self.config.live.host, self.port, max_size=MAX_MESSAGE,
                         ping_interval=10, ping_timeout=20) as server:
            with self._state:
                self._server = server
            if self._stopping.is_set():
                server.close()
            self.port = next(iter(server.sockets)).getsockname()[1]
            logger.info("live endpoint listening on %s:%d", self.config.live.host, self.port)
            self._ready.set()
            await server.wait_closed()

    def _end_orphans(self) -> None:
        """Sessions a worker left on air when it stopped: their microphones are gone; say so to the receivers."""
        with self.db.session() as session:
            for live in session.query(LiveSession).filter(LiveSession.state.in_(("live", "stopping"))):
                broadcast = session.get(Broadcast, live.broadcast_id)
                assert broadcast is not None
                Relay(self.publisher, live, broadcast).end()
                rules.ended(session, live, live.frames, "the server restarted during the session")

    async def _handle(self, connection: ServerConnection) -> None:
        query = parse_qs(urlsplit(connection.request.path if connection.request else "").query)
        ticket = (query.get("ticket") or [""])[0]
        try:
            relay, stop_check = await asyncio.to_thread(self._open, ticket)
        except Refusal as exc:
            await connection.send(json.dumps({"type": "error", "code": exc.code, "message": str(exc)}))
            await connection.close(4403, exc.code)
            return
        await asyncio.to_thread(relay.begin)
        await connection.send(json.dumps({"type": "started", "broadcast_id": relay.broadcast_id,
                                          "session": relay.session, "frame_ms": FRAME_MS}))
        reason = await self._pump(connection, relay, stop_check)
        await asyncio.to_thread(relay.end)  # the loudspeakers first, then the speaker, then the records
        try:
            await connection.send(json.dumps({"type": "ended", "reason": reason or "stopped"}))
            await connection.close()
        except ConnectionClosed:
            pass
        await asyncio.to_thread(self._close, relay, reason)

    def _open(self, ticket: str) -> tuple[Relay, Callable[[], bool]]:
        with self.db.session() as session:
            claimed = rules.claim(session, ticket)
            claimed_id = claimed if isinstance(claimed, str) else claimed.broadcast_id
        if isinstance(claimed_id, str):
            raise Refusal("invalid_ticket", claimed_id, status=403)
        with self.db.session() as session:
            live = session.get(LiveSession, claimed_id)
            assert live is not None
            broadcast = session.get(Broadcast, live.broadcast_id)
            assert broadcast is not None
            relay = Relay(self.publisher, live, broadcast)
        broadcast_id = relay.broadcast_id

        def stopping() -> bool:
            with self.db.session() as session:
                row = session.get(LiveSession, broadcast_id)
                return row is None or row.state != "live"

        return relay, stopping

    async def _pump(self, connection: ServerConnection, relay: Relay, stopping: Callable[[], bool]) -> str | None:
        """Frames in until the session ends; why it ended (None: the speaker stopped)."""
        started = heard = time.monotonic()
        checked = 0.0
        while True:
            now = time.monotonic()
            if now - started > relay.max_s:
                return "the session reached its longest allowed length"
            if now - heard > MIC_QUIET_S:
                return f"the microphone sent nothing for {MIC_QUIET_S:g} s"
            if now - checked > 1.0:
                checked = now
                if await asyncio.to_thread(stopping):
                    return "stopped by an operator"
            try:
                message = await asyncio.wait_for(connection.recv(), FLUSH_S / 2)
            except TimeoutError:
                relay.tick()
                continue
            except ConnectionClosed:
                return "the microphone's connection closed"
            if isinstance(message, str):
                try:
                    if json.loads(message).get("type") == "stop":
                        return None
                except (ValueError, AttributeError):
                    pass
                continue
            if len(message) < 9:
                continue
            try:
                relay.frame(struct.unpack(">Q", message[:8])[0], bytes(message[8:]))
            except OpusError as exc:
                await connection.send(json.dumps({"type": "error", "code": "bad_audio", "message": str(exc)}))
                continue
            heard = time.monotonic()
            relay.tick()

    def _close(self, relay: Relay, reason: str | None) -> None:
        with self.db.session() as session:
            live = session.get(LiveSession, relay.broadcast_id)
            assert live is not None
            rules.ended(session, live, len(relay.frames), reason)
        logger.warning("live broadcast %d ended after %.0f s: %s", relay.broadcast_id, relay.seconds,
                       reason or "the speaker stopped")
        recording = relay.recording()
        if recording:
            threading.Thread(target=self.keep, args=(relay.broadcast_id, recording), name="live-keep",
                             daemon=True).start()
        timer = threading.Timer(CLEAR_AFTER_S, self._clear, args=(list(relay.groups),))
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    def keep(self, broadcast_id: int, ogg: bytes) -> None:
        """The recording kept as the session's bulletin, and rendered as it would air again (loudness and all)."""
        try:
            source = self.uploads.put(ogg)
            with self.db.session() as session:
                live = session.get(LiveSession, broadcast_id)
                assert live is not None
                seconds = live.frames * FRAME_MS / 1000
                recording = rules.keep_recording(session, live, source, seconds)
                asset = self.speech.render_recording(session, recording, self.uploads,
                                                     max(seconds + 60, self.config.speech.max_recording_s))
                live.asset_id = asset.id
            logger.info("live broadcast %d kept: %.0f s, asset %s", broadcast_id, seconds, asset.id[:12])
        except Exception:  # a recording that cannot be kept must not take the worker down
            logger.exception("the recording of live broadcast %d could not be kept", broadcast_id)

    def _clear(self, groups: list[str]) -> None:
        """Clear a finished session's retained stop, unless a newer session holds the group's topic now."""
        try:
            with self.db.session() as session:
                busy = {g for (text,) in session.query(LiveSession.groups)
                        .filter(LiveSession.state.in_(("ready", "live", "stopping"))) for g in json.loads(text)}
        except SQLAlchemyError as exc:  # a timer's thread must not die on it
            logger.warning("the live topics of %s stay as they are: %s", groups, exc.__class__.__name__)
            return
        for group in groups:
            if group not in busy:
                self.publisher.link.publish(self.publisher.topics.live(group), b"", qos=1, retain=True)
