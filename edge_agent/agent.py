"""The receiver: keeps the schedule the server sends, fetches its audio (``fetcher``), plays it on time
(``player``) and reports what happened (``reporter``). This module wires those together and handles what
comes in: schedules, alerts, commands."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from edge_agent import __version__
from edge_agent.amplifier import Amplifier, NoAmplifier
from edge_agent.config import AgentConfig
from edge_agent.fetcher import Fetch, Fetcher
from edge_agent.link import Link, Will
from edge_agent.live import LiveListener
from edge_agent.outbox import Outbox
from edge_agent.player import Player, relay_end
from edge_agent.protocol import (
    Alert,
    Command,
    Manifest,
    Message,
    ProtocolError,
    Schedule,
    ScheduleEntry,
    Status,
    Topics,
)
from edge_agent.protocol.fields import utcnow
from edge_agent.protocol.signing import Verifier, open_signed
from edge_agent.protocol.topics import GROUP_RE
from edge_agent.reporter import Reporter
from edge_agent.settings import read_secret
from edge_agent.sinks import AudioSink
from edge_agent.store import FINAL_STATES, DiskFull, LocalEntry, Store

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)

EXPAND_EVERY_S = 60.0
"""How often the device looks for new occurrences of its recurring entries (and forgets old ones)."""


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        sink: AudioSink,
        clock: Callable[[], datetime] = utcnow,
        amplifier: Amplifier | None = None,
    ) -> None:
        self.config = config
        self.id = config.device_id
        self.sink = sink
        self.clock = clock
        self.topics = Topics(config.mqtt.topic_root)
        self.store = Store(Path(config.cache_dir))
        self.verifier = Verifier(config.trusted_keys)
        self._unstored: set[int] = set()
        """Broadcasts reported failed because the card was full when they came."""
        self.inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._expanded_at = -EXPAND_EVERY_S
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        password = read_secret(config.mqtt.password, config.mqtt.password_file)
        self.link = Link(
            self.id,
            config.mqtt.host,
            config.mqtt.port,
            config.mqtt.username or self.id,
            password,
            self._receive,
            keepalive=config.mqtt.keepalive_s,
            will=Will(self.topics.status(self.id), Status("offline").to_bytes()),
            on_connect=self._on_connect,
            ca_file=config.mqtt.ca_file,
        )
        self.outbox = Outbox(Path(config.cache_dir) / "outbox", self.link)
        self.reporter = Reporter(self.id, self.topics, self.outbox, self.store, clock)
        self.amplifier = amplifier or NoAmplifier()
        self.player = Player(config, sink, self.store, self.amplifier, self.reporter, clock, self._stop)
        self.live = LiveListener(self.id, config.live, self.verifier, self.topics,
                                 lambda topic, payload, kind: self._open(topic, payload, kind, replay_check=True),
                                 self.reporter.refused, self.player.live_arrived, clock)
        self.player.live = self.live
        self.fetcher = Fetcher(
            config, self.store, self.link, self.topics, self.inbox,
            # Content-addressed: an old manifest of the same asset says the same thing, so no replay check.
            open_manifest=lambda topic, payload: self._open(topic, payload, Manifest, replay_check=False),
            on_delivered=self._delivered, on_failed=self._fail_asset)
        self.link.subscribe(self.topics.schedule(self.id))
        self.link.subscribe(self.topics.command(self.id))
        groups = self.store.setting("groups")
        self.groups: list[str] = [g for g in groups if isinstance(g, str) and GROUP_RE.match(g)] \
            if isinstance(groups, list) else []
        """The groups of the newest schedule (kept across reboots), each a standing subscription for alerts."""
        for group in self.groups:
            self.link.subscribe(self.topics.group(group))
        volume = self.store.setting("volume")
        if isinstance(volume, int) and 0 <= volume <= 100:
            self.sink.volume = volume  # set remotely before a reboot: it outlasts the config file's value

    @property
    def fetches(self) -> dict[str, Fetch]:
        """The assets still on their way."""
        return self.fetcher.fetches

    @property
    def enabled(self) -> bool:
        """False when an operator switched the cluster off: silent for everything but emergencies."""
        return self.player.enabled

    # lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        # Entries left from before a restart: one cut off mid-playback is reported, the rest resume.
        for local in self.store.waiting():
            if local.state == "playing" and local.entry.stream_url and relay_end(local) > self.clock():
                self.store.update(local, state="paused")  # a live relay takes up again where the station is
            elif local.state == "playing":
                self.reporter.finish(local, "failed", error="interrupted: the receiver restarted during playback")
            elif local.state == "pending":
                self.fetcher.need(local.entry.asset)
        self._expand()
        self.link.start()
        self.outbox.start()
        for target, name in ((self._work, "inbox"), (self.player.run, "player"), (self._beat, "heartbeat")):
            thread = threading.Thread(target=target, name=f"agent-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        logger.info("agent %s started (version %s)", self.id, __version__)

    def stop(self) -> None:
        self._stop.set()
        self.player.stop()
        self.sink.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self.outbox.stop()
        self.link.stop(final=(self.topics.status(self.id), Status("offline", self.clock()).to_bytes()))
        self.store.close()

    # inbound ---------------------------------------------------------------------------------------

    def _on_connect(self) -> None:
        status = Status("online", self.clock(), __version__)
        self.link.publish(self.topics.status(self.id), status.to_bytes(), qos=1, retain=True)
        self._send_heartbeat()

    def _receive(self, topic: str, payload: bytes) -> None:
        parsed = self.topics.group_of(topic) if topic.endswith("/live/audio") else None
        if parsed is not None and parsed[0] in self.groups:
            self.live.on_audio(topic, payload)  # live audio: checked and buffered at once, not queued
            return
        self.inbox.put((topic, payload))

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                topic, payload = self.inbox.get(timeout=0.5)
            except queue.Empty:
                topic = ""
            try:
                if topic:
                    self._handle(topic, payload)
                if time.monotonic() - self._expanded_at >= EXPAND_EVERY_S:
                    self._expand()
                self.fetcher.retry_stalled()
                self.store.save_unsaved()
                self.player.preempt()  # a scheduled emergency may just have come due
            except Exception:
                logger.exception("error while handling %s", topic or "retries")

    def _open(self, topic: str, payload: bytes, kind: type[M], replay_check: bool) -> M | None:
        """The message in ``payload`` if the server signed it for ``topic`` and it is current; else None,
        with the refusal logged and reported."""
        try:
            newest = self.store.newest_seq(topic) if replay_check else 0
            message, seq = open_signed(self.verifier, topic, payload, kind, self.clock(), newest, self.id)
        except ProtocolError as exc:  # a SignatureError too: each carries the reason to report
            self.reporter.refused(topic, exc.reason, str(exc))
            return None
        if replay_check:
            self.store.accept_seq(topic, seq)
        return message

    def _handle(self, topic: str, payload: bytes) -> None:
        if topic == self.topics.schedule(self.id):
            if not payload:
                return
            schedule = self._open(topic, payload, Schedule, replay_check=True)
            if schedule is not None:
                self._merge(schedule)
            return
        if topic == self.topics.command(self.id):
            command = self._open(topic, payload, Command, replay_check=True) if payload else None
            if command is not None:
                self._on_command(command)
            return
        blob = self.topics.blob_of(topic)
        if blob is None:
            self._handle_group(topic, payload)
            return
        self.fetcher.on_blob(*blob, payload)

    def _handle_group(self, topic: str, payload: bytes) -> None:
        """An alert for one of this device's groups, or a chunk of the audio that follows it."""
        parsed = self.topics.group_of(topic)
        if parsed is None or parsed[0] not in self.groups:
            logger.warning("message on unexpected topic %s ignored", topic)
            return
        group, asset, part = parsed
        if part == "live":
            self.live.on_control(topic, payload)
            return
        if part == "live/audio":
            return  # taken on arrival (_receive); one for a group this device left is nothing to it
        if asset is None:
            alert = self._open(topic, payload, Alert, replay_check=True) if payload else None
            if alert is not None and alert.group != group:
                self.reporter.refused(topic, "malformed",
                                      f"an alert for group {alert.group!r} on group {group!r}'s topic")
            elif alert is not None:
                self._on_alert(alert)
            return
        self.fetcher.on_chunk(asset, int(part), payload)

    def _on_alert(self, alert: Alert) -> None:
        """An emergency for a whole group: taken like an entry of this device's own schedule, its audio read
        from the chunks that follow on the group's topic (the manifest came with the alert)."""
        local = self._add(alert.entry)
        if local is not None:  # (else known already: from the schedule, or another group's alert)
            self.fetcher.follow(alert.entry.asset, alert.manifest)

    def _add(self, entry: ScheduleEntry) -> LocalEntry | None:
        """The entry kept on the card, or None if it was known already or the card cannot keep it."""
        try:
            local = self.store.add(entry)
        except DiskFull as exc:
            self._unstorable(entry, str(exc))
            return None
        if local is not None:
            logger.info("new %sentry: broadcast %d %r", "recurring " if entry.repeat else "",
                        entry.broadcast_id, entry.title)
        return local

    def _merge(self, schedule: Schedule) -> None:
        self._join(schedule.groups)
        for entry in schedule.entries:
            local = self._add(entry)
            if local is not None:
                self.fetcher.need(local.entry.asset)
            elif entry.repeat is None:
                self._report_again(entry.broadcast_id)
        for broadcast_id in schedule.cancelled:
            self._cancel(broadcast_id)
        self._expand()

    def _join(self, groups: list[str]) -> None:
        """Hold a subscription to each group the server says this device belongs to, and to no other."""
        if groups == self.groups:
            return
        for group in set(self.groups) - set(groups):
            self.link.unsubscribe(self.topics.group(group))
        for group in set(groups) - set(self.groups):
            self.link.subscribe(self.topics.group(group))
        logger.info("groups: %s", ", ".join(groups) or "none")
        self.groups = list(groups)
        self.store.set_setting("groups", self.groups)

    def _unstorable(self, entry: ScheduleEntry, error: str) -> None:
        """An entry the full card cannot keep: reported failed once, with the reason (the server then takes it
        off this receiver's schedule; the operator frees the card and sends it again)."""
        if entry.broadcast_id in self._unstored:
            return
        self._unstored.add(entry.broadcast_id)
        logger.error("broadcast %d %r cannot be kept: %s", entry.broadcast_id, entry.title, error)
        self.reporter.delivery(entry.broadcast_id, entry.asset, "failed", error)

    def _expand(self) -> None:
        self._expanded_at = time.monotonic()
        self.player.expand()

    def _on_command(self, command: Command) -> None:
        changed = False
        if command.volume is not None and command.volume != self.sink.volume:
            self.sink.volume = command.volume
            self.store.set_setting("volume", command.volume)
            logger.info("volume set to %d%% by the server", command.volume)
            changed = True
        if command.action == "settings" and command.enabled is not None and command.enabled != self.enabled:
            self.player.enabled = command.enabled
            self.store.set_setting("enabled", command.enabled)
            logger.warning("switched %s by the operator", "on" if command.enabled else "off")
            playing = self.player.playing
            if not command.enabled and playing is not None and playing.entry.priority != "emergency":
                self.player.cut(playing, "the cluster was switched off by the operator")
            changed = True
        if changed:
            self.player.wake()
            self._send_heartbeat()

    def _report_again(self, broadcast_id: int) -> None:
        """The server lists a broadcast this device has finished: it lacks the report (lost with a database
        restored from a backup older than it), so send it again. The server never moves a delivery back."""
        for local in self.store.of_broadcast(broadcast_id):
            if local.state in FINAL_STATES and local.occurrence is None:
                self.reporter.again(local)

    def _cancel(self, broadcast_id: int) -> None:
        for local in self.store.of_broadcast(broadcast_id):
            if local.state not in FINAL_STATES:
                self.player.cancel(local)

    # reports ---------------------------------------------------------------------------------------

    def _delivered(self, asset: str) -> None:
        for local in self.store.waiting():
            if local.entry.asset == asset and local.state == "pending":
                self.store.update(local, state="delivered")
                if local.occurrence is None:  # the audio is there for every occurrence: one report
                    self.reporter.delivery(local.entry.broadcast_id, asset, "delivered")
        self.player.wake()
        self.player.preempt()

    def _fail_asset(self, asset: str, error: str) -> None:
        for local in self.store.waiting():
            if local.entry.asset == asset:
                if local.occurrence is None:
                    self.reporter.delivery(local.entry.broadcast_id, asset, "failed", error)
                self.reporter.finish(local, "failed", error=error)

    # health ----------------------------------------------------------------------------------------

    def _beat(self) -> None:
        while not self._stop.wait(self.config.heartbeat_s):
            self._send_heartbeat()

    def _send_heartbeat(self) -> None:
        self.reporter.heartbeat(Path(self.config.cache_dir), time.monotonic() - self.started, self.sink.volume,
                                self.player.now_playing, self.outbox.pending(),
                                self.amplifier.state if self.amplifier.present else None, self.enabled)
