"""The receiver: follows its schedule, fetches audio, plays on time and reports what happened."""

from __future__ import annotations

import http.client
import logging
import queue
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from edge_agent import __version__, health
from edge_agent.amplifier import Amplifier, AmplifierError, NoAmplifier
from edge_agent.config import AgentConfig
from edge_agent.link import Link, Will
from edge_agent.outbox import Outbox
from edge_agent.protocol import (
    Alert,
    ChunkRequest,
    Command,
    Delivery,
    Heartbeat,
    Manifest,
    Message,
    Playback,
    ProtocolError,
    Refused,
    Schedule,
    ScheduleEntry,
    Status,
    Topics,
)
from edge_agent.protocol.fields import PRIORITY_RANK, utcnow
from edge_agent.protocol.signing import Verifier, open_signed
from edge_agent.protocol.topics import GROUP_RE
from edge_agent.settings import read_secret
from edge_agent.sinks import AudioSink, PlaybackError
from edge_agent.store import FINAL_STATES, DiskFull, LocalEntry, Store
from edge_agent.transfer import Download, TransferError

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)

MAX_EARLY_CHUNKS = 256
"""Chunks kept in memory when they arrive before their manifest (retained messages come in any order)."""
IDLE_WAIT_S = 0.2
"""Longest the player sleeps between looks at its schedule when nothing wakes it."""
HORIZON = timedelta(days=7)
"""How far ahead a recurring entry is expanded into occurrences on the device."""
EXPAND_EVERY_S = 60.0
"""How often the device looks for new occurrences of its recurring entries (and forgets old ones)."""
REFUSAL_REPORT_GAP_S = 60.0
"""The same refusal (topic and reason) is reported to the server at most this often."""
HTTP_TIMEOUT_S = 20.0
"""An HTTP(S) download of audio that stalls this long gives way to asking for the chunks over MQTT."""


@dataclass
class Fetch:
    """An asset this device still needs."""

    asset: str
    download: Download | None = None
    early: dict[int, bytes] = field(default_factory=dict)
    progress_at: float = field(default_factory=time.monotonic)
    http: threading.Thread | None = None
    """Fetching the file from the manifest's URL, if it has one (once per asset)."""
    subscribed: bool = False
    """Subscribed to the asset's retained chunks; not when they come behind a group's alert (until it stalls)."""


def relay_end(local: LocalEntry) -> datetime:
    """When a relay's window closes: ``window_s`` after it first started."""
    start = local.started_at or local.entry.play_at or local.entry.created_at
    return start + timedelta(seconds=local.entry.window_s or 0)


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
        self.amplifier = amplifier or NoAmplifier()
        self._last_sound = time.monotonic()
        self.clock = clock
        self.topics = Topics(config.mqtt.topic_root)
        self.store = Store(Path(config.cache_dir))
        self.verifier = Verifier(config.trusted_keys)
        self._refusals: dict[tuple[str, str], float] = {}
        self.fetches: dict[str, Fetch] = {}
        self._unstored: set[int] = set()
        """Broadcasts reported failed because the card was full when they came."""
        self.inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.now_playing: int | None = None
        self._playing: LocalEntry | None = None
        self._expanded_at = -EXPAND_EVERY_S
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._wake = threading.Event()
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
        self.enabled = self.store.setting("enabled") is not False
        """Switched off by an operator: silent for everything but emergencies."""
        self._cut_reason: str | None = None
        self._cut_pauses = False
        """The cut is an urgent item taking the air: a relay playing now pauses and resumes after it."""
        self._item_cut = threading.Event()
        """Set to cut off the item playing now; a fresh one for each item."""
        self._play_lock = threading.Lock()
        """Held while the item playing, its cut event and the cut's reason change together."""

    # lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        # Entries left from before a restart: one cut off mid-playback is reported, the rest resume.
        for local in self.store.waiting():
            if local.state == "playing" and local.entry.stream_url and relay_end(local) > self.clock():
                self.store.update(local, state="paused")  # a live relay takes up again where the station is
            elif local.state == "playing":
                self._finish(local, "failed", error="interrupted: the receiver restarted during playback")
            elif local.state == "pending":
                self._need(local)
        self._expand()
        self.link.start()
        self.outbox.start()
        for target, name in ((self._work, "inbox"), (self._play_loop, "player"), (self._beat, "heartbeat")):
            thread = threading.Thread(target=target, name=f"agent-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        logger.info("agent %s started (version %s)", self.id, __version__)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._item_cut.set()
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
                self._retry_stalled()
                self.store.save_unsaved()
                self._preempt()  # a scheduled emergency may just have come due
            except Exception:
                logger.exception("error while handling %s", topic or "retries")

    def _open(self, topic: str, payload: bytes, kind: type[M], replay_check: bool) -> M | None:
        """The message in ``payload`` if the server signed it for ``topic`` and it is current; else None,
        with the refusal logged and reported."""
        try:
            newest = self.store.newest_seq(topic) if replay_check else 0
            message, seq = open_signed(self.verifier, topic, payload, kind, self.clock(), newest, self.id)
        except ProtocolError as exc:  # a SignatureError too: each carries the reason to report
            self._refuse(topic, exc.reason, str(exc))
            return None
        if replay_check:
            self.store.accept_seq(topic, seq)
        return message

    def _refuse(self, topic: str, reason: str, detail: str) -> None:
        logger.error("refused message on %s: %s", topic, detail)
        key = (topic, reason)
        now = time.monotonic()
        if now - self._refusals.get(key, -REFUSAL_REPORT_GAP_S) < REFUSAL_REPORT_GAP_S:
            return  # a flood of forged messages gets one report a minute, not one each
        self._refusals[key] = now
        report = Refused(self.clock(), topic, reason, detail[:500])
        self.outbox.put(self.topics.event(self.id, "refused"), report.to_dict())

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
        asset, part = blob
        fetch = self.fetches.get(asset)
        if fetch is None or not payload:
            return
        if part == "manifest":
            self._on_manifest(fetch, payload)
        elif part.isdigit():
            self._on_chunk(fetch, int(part), payload)

    def _handle_group(self, topic: str, payload: bytes) -> None:
        """An alert for one of this device's groups, or a chunk of the audio that follows it."""
        parsed = self.topics.group_of(topic)
        if parsed is None or parsed[0] not in self.groups:
            logger.warning("message on unexpected topic %s ignored", topic)
            return
        group, asset, part = parsed
        if asset is None:
            alert = self._open(topic, payload, Alert, replay_check=True) if payload else None
            if alert is not None and alert.group != group:
                self._refuse(topic, "malformed", f"an alert for group {alert.group!r} on group {group!r}'s topic")
            elif alert is not None:
                self._on_alert(alert)
            return
        fetch = self.fetches.get(asset)
        if fetch is not None and payload:
            self._on_chunk(fetch, int(part), payload)

    def _on_alert(self, alert: Alert) -> None:
        """An emergency for a whole group: taken like an entry of this device's own schedule, its audio read
        from the chunks that follow on the group's topic (the manifest came with the alert)."""
        local = self._add(alert.entry)
        if local is None:
            return  # known already (from the schedule, or another group's alert)
        asset = alert.entry.asset
        if self.store.has_asset(asset) or asset in self.fetches:
            self._need(local)
            return
        fetch = self.fetches[asset] = Fetch(asset)
        self._begin(fetch, alert.manifest)

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
                self._need(local)
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
        report = Delivery(entry.broadcast_id, entry.asset, "failed", self.clock(), error)
        self.outbox.put(self.topics.event(self.id, "delivery"), report.to_dict())

    def _expand(self) -> None:
        """Add the occurrences of every recurring entry due within the horizon (the device does this itself,
        so it keeps to a weekly programme through a long outage). Occurrences already known are skipped:
        each plays at most once, across reboots too."""
        now = self.clock()
        self._expanded_at = time.monotonic()
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

    def _on_command(self, command: Command) -> None:
        changed = False
        if command.volume is not None and command.volume != self.sink.volume:
            self.sink.volume = command.volume
            self.store.set_setting("volume", command.volume)
            logger.info("volume set to %d%% by the server", command.volume)
            changed = True
        if command.action == "settings" and command.enabled is not None and command.enabled != self.enabled:
            self.enabled = command.enabled
            self.store.set_setting("enabled", command.enabled)
            logger.warning("switched %s by the operator", "on" if command.enabled else "off")
            playing = self._playing
            if not self.enabled and playing is not None and playing.entry.priority != "emergency":
                self._cut(playing, "the cluster was switched off by the operator")
            changed = True
        if changed:
            self._wake.set()
            self._send_heartbeat()

    def _cancel(self, broadcast_id: int) -> None:
        for local in self.store.of_broadcast(broadcast_id):
            if local.state not in FINAL_STATES:
                self._cancel_one(local)

    def _cancel_one(self, local: LocalEntry) -> None:
        broadcast_id = local.entry.broadcast_id
        if local.state == "playing" and self._playing is local:
            self._cut(local, "stopped by the operator")
        elif local.state == "paused":
            self._finish(local, "interrupted", error="stopped by the operator while paused for a more urgent item")
        elif local.recurring:
            logger.info("recurring broadcast %d stopped by the operator", broadcast_id)
            self._finish(local, "cancelled", error="stopped by the operator: no further occurrences")
        elif local.occurrence is not None:
            # Covered by the recurring entry's own report: no report for each future occurrence.
            self.store.update(local, state="cancelled", error="stopped by the operator before it played")
        elif local.state != "playing":
            logger.info("broadcast %d cancelled by the operator", broadcast_id)
            self._finish(local, "cancelled", error="stopped by the operator before it played")

    def _cut(self, item: LocalEntry, reason: str, pause: bool = False) -> None:
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

    def _preempt(self) -> None:
        """An item more urgent than the one playing is ready and due: cut the one playing (within a moment of
        the audio arriving) so the player starts the urgent one."""
        playing = self._playing
        if playing is None or self._item_cut.is_set():
            return  # nothing playing, or already being cut off
        rank = PRIORITY_RANK[playing.entry.priority]
        now = self.clock()
        for local in self.store.playable():
            entry = local.entry
            if (local.state == "delivered" and PRIORITY_RANK[entry.priority] > rank
                    and (entry.play_at is None or entry.play_at <= now) and now <= entry.deadline()):
                logger.warning("broadcast %d (%s) cuts off broadcast %d", entry.broadcast_id, entry.priority,
                               playing.entry.broadcast_id)
                self._cut(playing, f"interrupted by {entry.priority} broadcast {entry.broadcast_id}", pause=True)
                return

    def _need(self, local: LocalEntry) -> None:
        asset = local.entry.asset
        if self.store.has_asset(asset):
            self._delivered(asset)
        elif asset not in self.fetches:
            self.fetches[asset] = fetch = Fetch(asset)
            self._subscribe(fetch)

    def _subscribe(self, fetch: Fetch) -> None:
        if not fetch.subscribed:
            fetch.subscribed = True
            self.link.subscribe(self.topics.blob_all(fetch.asset))

    def _forget(self, fetch: Fetch) -> None:
        if fetch.subscribed:
            self.link.unsubscribe(self.topics.blob_all(fetch.asset))
        del self.fetches[fetch.asset]

    def _on_manifest(self, fetch: Fetch, payload: bytes) -> None:
        # Content-addressed: an old manifest of the same asset says the same thing, so no replay check.
        manifest = self._open(self.topics.manifest(fetch.asset), payload, Manifest, replay_check=False)
        if manifest is None or manifest.asset != fetch.asset or fetch.download is not None:
            return
        self._begin(fetch, manifest)

    def _begin(self, fetch: Fetch, manifest: Manifest) -> None:
        """Start writing the asset ``manifest`` describes (chunks that came early go in first)."""
        if not self._make_room(manifest.size):
            self._fail_asset(fetch.asset, f"cache full: {manifest.size} bytes do not fit in cache_max_mb = "
                                          f"{self.config.cache_max_mb:g} beside the audio still to play")
            return
        try:
            fetch.download = Download(self.store.partial, manifest)
            fetch.progress_at = time.monotonic()
            for seq, data in sorted(fetch.early.items()):
                fetch.download.accept(seq, data)
        except OSError as exc:
            self._storage_failed(fetch, exc)
            return
        fetch.early.clear()
        if manifest.url and fetch.subscribed and fetch.http is None and not fetch.download.complete():
            # (Not behind an alert: its chunks follow it at once over the group's subscription.)
            fetch.http = threading.Thread(target=self._fetch_over_http, args=(fetch, manifest),
                                          name=f"http-{fetch.asset[:8]}", daemon=True)
            fetch.http.start()
        self._maybe_complete(fetch)

    def _fetch_over_http(self, fetch: Fetch, manifest: Manifest) -> None:
        """Read the file from the manifest's URL, from the first missing chunk on, and hand each chunk to the
        work thread as if it had come over MQTT: the same hash checks, the same bitmap on disk. On any failure
        the work thread asks for the missing chunks over MQTT at once."""
        assert fetch.download is not None
        missing = fetch.download.missing()
        if not missing or manifest.url is None:
            return
        first = missing[0]
        request = urllib.request.Request(manifest.url, headers={
            "Range": f"bytes={first * manifest.chunk_size}-", "User-Agent": f"loaxa-edge/{__version__}"})
        got = 0
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S, context=self._tls()) as answer:
                seq = first if answer.status == 206 else 0  # a server that ignores ranges sends it all
                while data := answer.read(manifest.chunk_size):
                    self.inbox.put((self.topics.chunk(manifest.asset, seq), data))
                    seq, got = seq + 1, got + len(data)
            logger.info("asset %s: %d bytes over HTTP", manifest.asset[:12], got)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            logger.warning("asset %s over HTTP failed after %d bytes (%s): asking over MQTT", manifest.asset[:12],
                           got, exc)
            fetch.progress_at = 0.0  # the work thread's next look at stalled downloads asks at once

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.config.mqtt.ca_file:  # a deployment's own CA signs its web server too, as often as its broker
            context.load_verify_locations(self.config.mqtt.ca_file)
        return context

    def _on_chunk(self, fetch: Fetch, seq: int, data: bytes) -> None:
        if fetch.download is None:
            if len(fetch.early) < MAX_EARLY_CHUNKS:
                fetch.early[seq] = data
            return
        try:
            accepted = fetch.download.accept(seq, data)
        except OSError as exc:
            self._storage_failed(fetch, exc)
            return
        if accepted:
            fetch.progress_at = time.monotonic()
            self._maybe_complete(fetch)

    def _make_room(self, size: int) -> bool:
        """Evict cached audio no waiting entry needs (played, expired: oldest first) until ``size`` more bytes
        fit under cache_max_mb; False if they cannot."""
        limit = int(self.config.cache_max_mb * 1024 * 1024)
        needed = {local.entry.asset for local in self.store.waiting()}
        return self.store.evict(keep=needed, room_for=size, limit=limit)

    def _storage_failed(self, fetch: Fetch, exc: OSError) -> None:
        """The disk refused a write (full, failing): free what is not needed; if that is not enough, report the
        entries failed with the reason instead of retrying forever."""
        needed = {local.entry.asset for local in self.store.waiting()}
        freed = self.store.evict(keep=needed, room_for=0, limit=0)
        if fetch.download is not None:
            fetch.download.discard()
            fetch.download = None
        if freed:
            logger.warning("disk refused audio (%s); freed old audio, fetching %s again", exc.strerror,
                           fetch.asset[:12])
            self._request(fetch, [])
            return
        self._fail_asset(fetch.asset, f"cannot store audio: {exc.strerror or exc}")

    def _maybe_complete(self, fetch: Fetch) -> None:
        download = fetch.download
        if download is None or not download.complete():
            return
        try:
            download.finalize(self.store.asset_path(fetch.asset))
        except TransferError as exc:
            logger.error("%s; fetching again", exc)
            fetch.download = None
            self._request(fetch, [])
            return
        except OSError as exc:
            self._fail_asset(fetch.asset, f"cannot store audio: {exc.strerror}")
            return
        self._forget(fetch)
        logger.info("asset %s complete (%d bytes)", fetch.asset[:12], download.manifest.size)
        self._delivered(fetch.asset)

    def _retry_stalled(self) -> None:
        now = time.monotonic()
        for fetch in list(self.fetches.values()):
            if now - fetch.progress_at < self.config.retry_s:
                continue
            if not any(local.entry.asset == fetch.asset for local in self.store.waiting()):
                # Every entry that needed it was missed or failed: stop asking (a partial file resumes
                # from its bitmap if the asset is scheduled again).
                self._forget(fetch)
                continue
            missing = fetch.download.missing() if fetch.download else []
            logger.info("asking again for %s (%s)", fetch.asset[:12],
                        f"chunks {missing}" if missing else "manifest and all chunks")
            self._request(fetch, missing)
            fetch.progress_at = now

    def _request(self, fetch: Fetch, seqs: list[int]) -> None:
        """Ask the server for chunks again (``seqs``, or everything): they come on the asset's own topics."""
        self._subscribe(fetch)
        self.link.publish(self.topics.request(self.id), ChunkRequest(fetch.asset, seqs).to_bytes())

    # reports ---------------------------------------------------------------------------------------

    def _delivered(self, asset: str) -> None:
        for local in self.store.waiting():
            if local.entry.asset == asset and local.state == "pending":
                self.store.update(local, state="delivered")
                if local.occurrence is None:  # the audio is there for every occurrence: one report
                    report = Delivery(local.entry.broadcast_id, asset, "delivered", self.clock())
                    self.outbox.put(self.topics.event(self.id, "delivery"), report.to_dict())
        self._wake.set()
        self._preempt()

    def _fail_asset(self, asset: str, error: str) -> None:
        for local in self.store.waiting():
            if local.entry.asset == asset:
                if local.occurrence is None:
                    report = Delivery(local.entry.broadcast_id, asset, "failed", self.clock(), error)
                    self.outbox.put(self.topics.event(self.id, "delivery"), report.to_dict())
                self._finish(local, "failed", error=error)

    def _finish(self, local: LocalEntry, state: str, error: str | None = None) -> None:
        finished = self.clock() if state != "missed" else None
        self.store.update(local, state=state, finished_at=finished, error=error)
        report = Playback(local.entry.broadcast_id, state, self.clock(), local.started_at, finished, error,
                          occurrence=local.occurrence)
        self.outbox.put(self.topics.event(self.id, "playback"), report.to_dict())

    # playback --------------------------------------------------------------------------------------

    def _play_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._play_due()
                self._tend_amplifier()
            except Exception:
                logger.exception("player error")
            self._wake.wait(self._idle_wait())
            self._wake.clear()
        self._switch_amplifier(False)

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
        soon = any(
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
        for local in self.store.playable():
            if self._stop.is_set():
                return
            entry, now = local.entry, self.clock()
            if local.state == "paused":
                if now < relay_end(local):
                    self._play(local)
                    return
                self._finish(local, "played", error="the rest of its window went to a more urgent broadcast")
            elif now > entry.deadline():
                why = "too late to play" if local.state == "delivered" else "audio did not arrive in time"
                logger.warning("broadcast %d missed: %s", entry.broadcast_id, why)
                self._finish(local, "missed", error=why)
            elif local.state == "delivered" and (entry.play_at is None or entry.play_at <= now):
                if not self.enabled and entry.priority != "emergency":
                    logger.info("broadcast %d not played: switched off", entry.broadcast_id)
                    self._finish(local, "cancelled", error="the cluster was switched off by the operator")
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
            report = Playback(entry.broadcast_id, "playing", self.clock(), local.started_at,
                              occurrence=local.occurrence)
            self.outbox.put(self.topics.event(self.id, "playback"), report.to_dict())
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
            self._finish(local, "failed", error=str(exc))
        else:
            if self._stop.is_set():
                self._finish(local, "failed", error="interrupted: the receiver was stopped")
            elif not completed and self._cut_pauses and entry.stream_url and relay_end(local) > self.clock():
                logger.info("relay %d paused: %s", entry.broadcast_id, self._cut_reason)
                self.store.update(local, state="paused")
            elif not completed:
                self._finish(local, "interrupted", error=self._cut_reason or "interrupted")
            else:
                self._finish(local, "played", error=note)
        finally:
            with self._play_lock:
                self.now_playing, self._playing = None, None
                self._cut_reason = None
                self._cut_pauses = False
                self._item_cut = threading.Event()
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

    # health ----------------------------------------------------------------------------------------

    def _beat(self) -> None:
        while not self._stop.wait(self.config.heartbeat_s):
            self._send_heartbeat()

    def _send_heartbeat(self) -> None:
        if not self.link.connected.is_set():
            return  # a stale heartbeat is worthless; status and events carry the rest
        state = health.read(Path(self.config.cache_dir))
        beat = Heartbeat(
            ts=self.clock(),
            uptime_s=round(time.monotonic() - self.started, 1),
            version=__version__,
            volume=self.sink.volume,
            now_playing=self.now_playing,
            cache_bytes=self.store.cache_bytes(),
            pending=len(self.store.waiting()),
            **asdict(state),
            outbox=self.outbox.pending(),
            amplifier=self.amplifier.state if self.amplifier.present else None,
            enabled=self.enabled,
        )
        self.link.publish(self.topics.heartbeat(self.id), beat.to_bytes(), qos=0)
