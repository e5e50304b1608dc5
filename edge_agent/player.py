"""The local schedule played out: recurring entries expanded into occurrences, what is due played on time
(the most urgent first), an urgent item cutting off a less urgent one (a relay pauses for it and takes up
again), items stopped by the operator dropped, the amplifier on ahead of sound and off after a quiet spell."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from edge_agent.amplifier import Amplifier, AmplifierError
from edge_agent.config import AgentConfig
from edge_agent.live import LiveListener, Session, play_out
from edge_agent.protocol import ScheduleEntry
from edge_agent.protocol.fields import PRIORITY_RANK
from edge_agent.reporter import Reporter
from edge_agent.sinks import AudioSink, PlaybackError
from edge_agent.store import LocalEntry, Store

logger = logging.getLogger(__name__)

IDLE_WAIT_S = 0.2
"""Longest the player sleeps between looks at its schedule when nothing wakes it."""
HORIZON = timedelta(days=7)
"""How far ahead a recurring entry is expanded into occurrences on the device."""


def relay_end(local: LocalEntry) -> datetime:
    """When a relay's window closes: ``window_s`` after it first started."""
    start = local.started_at or local.entry.play_at or local.entry.created_at
    return start + timedelta(seconds=local.entry.window_s or 0)


class Player:
    """Runs on its own thread (``run``); the work thread wakes it, cuts the item playing or asks it to look
    for something more urgent."""

    def __init__(self, config: AgentConfig, sink: AudioSink, store: Store, amplifier: Amplifier,
                 reporter: Reporter, clock: Callable[[], datetime], stopping: threading.Event) -> None:
        self.config = config
        self.sink = sink
        self.store = store
        self.amplifier = amplifier
        self.reporter = reporter
        self.clock = clock
        self.stopping = stopping
        self.enabled = store.setting("enabled") is not False
        """Switched off by an operator: silent for everything but emergencies."""
        self.now_playing: int | None = None
        self._playing: LocalEntry | None = None
        self._last_sound = time.monotonic()
        self._wake = threading.Event()
        self._cut_reason: str | None = None
        self._cut_pauses = False
        """The cut is an urgent item taking the air: a relay playing now pauses and resumes after it."""
        self._item_cut = threading.Event()
        """Set to cut off the item playing now; a fresh one for each item."""
        self._play_lock = threading.Lock()
        """Held while the item playing, its cut event and the cut's reason change together."""
        self.live: LiveListener | None = None
        """Live sessions addressed to this device (set by the agent)."""
        self._live_playing: Session | None = None
        self._live_cut = threading.Event()
        self._live_cut_reason: str | None = None

    @property
    def playing(self) -> LocalEntry | None:
        return self._playing

    def wake(self) -> None:
        """Look at the schedule now (something arrived, changed or came due)."""
        self._wake.set()

    def stop(self) -> None:
        self._item_cut.set()
        self._live_cut.set()
        self._wake.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._play_due()
                self._tend_amplifier()
            except Exception:
                logger.exception("player error")
            self._wake.wait(self._idle_wait())
            self._wake.clear()
        self._switch_amplifier(False)

    def cut(self, item: LocalEntry, reason: str, pause: bool = False) -> None:
        """Cut off ``item`` if it is still the one playing; the player reports it ``interrupted`` with
        ``reason`` (or, with ``pause``, a relay waits to resume). Checked under the player's lock: a cut
        decided as the item ends must not land on the next one (an emergency would be cut off as it starts)."""
        with self._play_lock:
            if self._playing is not item:
                return
            self._cut_reason = reason
            self._cut_pauses = pause
            self._item_cut.set()
        self._wake.set()

    def preempt(self) -> None:
        """An item more urgent than the one playing is ready and due: cut the one playing (within a moment of
        the audio arriving) so the player starts the urgent one."""
        live = self._live_playing
        if live is not None and not self._live_cut.is_set():
            urgent = self._due_above(PRIORITY_RANK[live.start.priority])
            if urgent is not None:
                logger.warning("broadcast %d (%s) cuts off live broadcast %d", urgent.broadcast_id, urgent.priority,
                               live.broadcast_id)
                self._live_cut_reason = f"interrupted by {urgent.priority} broadcast {urgent.broadcast_id}"
                self._live_cut.set()
            return
        playing = self._playing
        if playing is None or self._item_cut.is_set():
            return  # nothing playing, or already being cut off
        entry = self._due_above(PRIORITY_RANK[playing.entry.priority])
        if entry is not None:
            logger.warning("broadcast %d (%s) cuts off broadcast %d", entry.broadcast_id, entry.priority,
                           playing.entry.broadcast_id)
            self.cut(playing, f"interrupted by {entry.priority} broadcast {entry.broadcast_id}", pause=True)

    def _due_above(self, rank: int) -> ScheduleEntry | None:
        """A delivered item, due now, more urgent than ``rank``."""
        now = self.clock()
        for local in self.store.playable():
            entry = local.entry
            if (local.state == "delivered" and PRIORITY_RANK[entry.priority] > rank
                    and (entry.play_at is None or entry.play_at <= now) and now <= entry.deadline()):
                return entry
        return None

    def live_arrived(self, session: Session) -> None:
        """A live session for this device began: it takes the air from what plays now unless that is more
        urgent (an emergency is never cut by another emergency; a relay pauses and takes up again after)."""
        playing = self._playing
        rank = PRIORITY_RANK[session.start.priority]
        if playing is not None:
            theirs = PRIORITY_RANK[playing.entry.priority]
            if theirs < rank or (theirs == rank and session.start.priority != "emergency"):
                logger.warning("live broadcast %d cuts off broadcast %d", session.broadcast_id,
                               playing.entry.broadcast_id)
                self.cut(playing, f"interrupted by {session.start.priority} live broadcast {session.broadcast_id}",
                         pause=True)
        self.wake()

    def expand(self) -> None:
        """Add the occurrences of every recurring entry due within the horizon (the device does this itself,
        so it keeps to a weekly programme through a long outage). Occurrences already known are skipped:
        each plays at most once, across reboots too."""
        now = self.clock()
        for rule in self.store.waiting():
            repeat = rule.entry.repeat
            if repeat is None:
                continue
            grace = timedelta(seconds=rule.entry.grace_s)
            if repeat.ends_before(now - grace):
                logger.info("recurring broadcast %d has had its last day", rule.entry.broadcast_id)
                self.store.update(rule, state="ended")
                continue
            ready = "delivered" if self.store.has_asset(rule.entry.asset) else "pending"
            for at in repeat.occurrences(now - grace, now + HORIZON):
                if self.store.add(rule.entry.occurrence(at), occurrence=at, state=ready) is not None:
                    logger.info("broadcast %d will play at %s", rule.entry.broadcast_id, at.isoformat())
        self.store.prune(now - timedelta(days=2))
        self._wake.set()

    def cancel(self, local: LocalEntry) -> None:
        """The operator stopped ``local``'s broadcast: cut it off if it is playing, else drop it, reported."""
        broadcast_id = local.entry.broadcast_id
        if local.state == "playing" and self._playing is local:
            self.cut(local, "stopped by the operator")
        elif local.state == "paused":
            self.reporter.finish(local, "interrupted",
                                 error="stopped by the operator while paused for a more urgent item")
        elif local.recurring:
            logger.info("recurring broadcast %d stopped by the operator", broadcast_id)
            self.reporter.finish(local, "cancelled", error="stopped by the operator: no further occurrences")
        elif local.occurrence is not None:
            # Covered by the recurring entry's own report: no report for each future occurrence.
            self.store.update(local, state="cancelled", error="stopped by the operator before it played")
        elif local.state != "playing":
            logger.info("broadcast %d cancelled by the operator", broadcast_id)
            self.reporter.finish(local, "cancelled", error="stopped by the operator before it played")

    def _idle_wait(self) -> float:
        """Seconds the player may sleep: at most 0.2 s, and never past the start of the next item, so every
        receiver starts a scheduled broadcast on the same tick of its clock rather than up to 0.2 s late."""
        now = self.clock()
        due = [(local.entry.play_at - now).total_seconds() for local in self.store.playable()
               if local.state == "delivered" and local.entry.play_at is not None and local.entry.play_at > now]
        return max(0.0, min([IDLE_WAIT_S, *due]))

    def _tend_amplifier(self) -> None:
        """On ahead of an item due within the lead time; off when nothing has sounded for the hold time."""
        settings = self.config.amplifier
        now = self.clock()
        live = self.live.current() if self.live is not None else None
        soon = (live is not None and (self.enabled or live.start.priority == "emergency")) or any(
            local.state == "delivered" and (local.entry.play_at is None
                                            or (local.entry.play_at - now).total_seconds() <= settings.lead_s)
            and (self.enabled or local.entry.priority == "emergency")
            for local in self.store.playable()
        )
        if soon:
            self._switch_amplifier(True)
        elif self.amplifier.is_on and self.now_playing is None \
                and time.monotonic() - self._last_sound > settings.hold_s:
            self._switch_amplifier(False)

    def _switch_amplifier(self, on: bool) -> None:
        try:
            self.amplifier.switch(on)
        except AmplifierError as exc:
            logger.error("%s", exc)

    def _play_due(self) -> None:
        session = self.live.current() if self.live is not None else None
        if session is not None and self._due_above(PRIORITY_RANK[session.start.priority]) is None:
            if session.buffer.first is not None:
                self._play_live(session)
            elif time.monotonic() - session.heard_at > self.config.live.silence_s:
                assert self.live is not None
                self.live.finish(session)
                self.reporter.live(session.broadcast_id, "missed", error="none of the live audio came here")
            return  # its audio is on its way: nothing less urgent starts (or resumes) meanwhile
        for local in self.store.playable():
            if self.stopping.is_set():
                return
            entry, now = local.entry, self.clock()
            if local.state == "paused":
                if now < relay_end(local):
                    self._play(local)
                    return
                self.reporter.finish(local, "played", error="the rest of its window went to a more urgent broadcast")
            elif now > entry.deadline():
                why = "too late to play" if local.state == "delivered" else "audio did not arrive in time"
                logger.warning("broadcast %d missed: %s", entry.broadcast_id, why)
                self.reporter.finish(local, "missed", error=why)
            elif local.state == "delivered" and (entry.play_at is None or entry.play_at <= now):
                if not self.enabled and entry.priority != "emergency":
                    logger.info("broadcast %d not played: switched off", entry.broadcast_id)
                    self.reporter.finish(local, "cancelled", error="the cluster was switched off by the operator")
                    continue
                self._play(local)
                return  # re-read the schedule: something more urgent may have arrived

    def _play(self, local: LocalEntry) -> None:
        entry = local.entry
        resuming = local.state == "paused"
        self.store.update(local, state="playing", started_at=local.started_at if resuming else self.clock())
        with self._play_lock:
            self.now_playing, self._playing = entry.broadcast_id, local
            cut = self._item_cut
        if not resuming:
            self.reporter.playing(local)
        logger.info("%s broadcast %d %r", "resuming" if resuming else "playing", entry.broadcast_id, entry.title)
        if self.amplifier.present and not self.amplifier.is_on:
            self._switch_amplifier(True)
            cut.wait(self.config.amplifier.lead_s)
        note = None
        try:
            if cut.is_set():
                completed = False  # cut off while the amplifier warmed up: nothing was heard
            elif entry.stream_url and entry.window_s:
                completed, note = self._relay(entry.stream_url, local, cut)
            else:
                completed = self.sink.play(self.store.asset_path(entry.asset), f"b{entry.broadcast_id}", cut)
        except (PlaybackError, OSError) as exc:
            logger.error("broadcast %d failed: %s", entry.broadcast_id, exc)
            self.reporter.finish(local, "failed", error=str(exc))
        else:
            if self.stopping.is_set():
                self.reporter.finish(local, "failed", error="interrupted: the receiver was stopped")
            elif not completed and self._cut_pauses and entry.stream_url and relay_end(local) > self.clock():
                logger.info("relay %d paused: %s", entry.broadcast_id, self._cut_reason)
                self.store.update(local, state="paused")
            elif not completed:
                self.reporter.finish(local, "interrupted", error=self._cut_reason or "interrupted")
            else:
                self.reporter.finish(local, "played", error=note)
        finally:
            with self._play_lock:
                self.now_playing, self._playing = None, None
                self._cut_reason = None
                self._cut_pauses = False
                self._item_cut = threading.Event()
            self._last_sound = time.monotonic()

    def _play_live(self, session: Session) -> None:
        """Play a live session out here, reported with this device's own start and end times."""
        assert self.live is not None
        if not self.enabled and session.start.priority != "emergency":
            self.live.finish(session)
            self.reporter.live(session.broadcast_id, "cancelled", error="the cluster was switched off by the operator")
            return
        if self.amplifier.present and not self.amplifier.is_on:
            self._switch_amplifier(True)
            session.buffer.extend(self.config.amplifier.lead_s * 1000)  # heard from its first word, a moment later
        self._live_cut, self._live_cut_reason = threading.Event(), None
        self._live_playing, self.now_playing = session, session.broadcast_id
        try:
            play_out(self.live, session, self.sink, self.reporter, self._live_cut, lambda: self._live_cut_reason,
                     self.stopping)
        finally:
            self._live_playing, self.now_playing = None, None
            self._last_sound = time.monotonic()

    def _relay(self, url: str, local: LocalEntry, cut: threading.Event) -> tuple[bool, str | None]:
        """A live stream to the end of its window (which runs from its first start, so a relay paused for an
        emergency takes up again where the station is now): (played to the end, what the operator should
        know)."""
        label = f"b{local.entry.broadcast_id}"
        window_s = (relay_end(local) - self.clock()).total_seconds()
        result = self.sink.relay(url, window_s, f"{label}-relay", self.config.dead_air_s, cut)
        if result.stopped:
            return False, None
        if result.error and result.heard_s < 3:
            logger.error("stream %s failed (%s); playing the fallback item", url, result.error)
            completed = self.sink.play(self.store.asset_path(local.entry.asset), f"{label}-fallback", cut)
            return completed, f"stream failed ({result.error[-200:]}); the fallback item played instead"
        notes = []
        if result.error or result.heard_s < window_s - 2:
            notes.append(f"stream broke off after {result.heard_s:.0f} s of {window_s:.0f} s: "
                         f"{result.error or 'ended'}")
        if result.dead_air_s:
            silent = sum(result.dead_air_s)
            notes.append(f"dead air: {len(result.dead_air_s)} silent stretch(es), {silent:.0f} s in all")
        return True, "; ".join(notes) or None
