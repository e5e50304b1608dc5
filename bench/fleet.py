"""Lightweight simulated receivers for load tests and benchmarks: one MQTT client each, speaking the whole protocol.

Each verifies the signed schedule and manifest against the pinned key, checks every chunk and the whole file
against the manifest, reports ``delivered``, ``playing`` and ``played`` (after the item's length, without making
sound) and sends heartbeats. Thousands run in one process on one thread: paho's external-loop callbacks feed an
epoll selector (a network thread per client would use select(), which stops at descriptor 1024), and every
paho call, timers included, happens on that thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import itertools
import selectors
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.protocol import (
    Alert,
    ChunkRequest,
    Delivery,
    Heartbeat,
    Manifest,
    Playback,
    ProtocolError,
    Schedule,
    ScheduleEntry,
    Status,
    Topics,
)
from edge_agent.protocol.fields import load_object
from edge_agent.protocol.signing import Verifier

RETRY_S = 5.0
"""A download with no new chunk for this long asks for the missing ones again."""


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Fetch:
    manifest: Manifest | None = None
    chunks: dict[int, bytes] = field(default_factory=dict)
    progress_at: float = field(default_factory=time.monotonic)
    subscribed: bool = True
    """On the asset's retained topics; not when its chunks follow a group's alert (until it stalls)."""


class Receiver:
    """One simulated receiver. ``started`` holds each broadcast's start (device clock); ``errors`` what went wrong."""

    def __init__(self, fleet: Fleet, device_id: str, password: str, client_id: str | None = None) -> None:
        self.fleet, self.id = fleet, device_id
        topics = fleet.topics
        self.schedule_topic = topics.schedule(device_id)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or device_id, clean_session=True)
        self.client.username_pw_set(device_id, password)
        self.client.will_set(topics.status(device_id), Status("offline").to_bytes(), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = lambda *args: self.connected.clear()
        fleet.watch(self.client)
        self.ever_connected = False
        """A TCP connection was made once (later ones are reconnections)."""
        self.connect_tried = 0.0
        self.connect_failures: list[str] = []
        """Attempts that failed before a connection (retried; reported only if it never connects)."""
        self.lock = threading.Lock()
        self.entries: dict[int, ScheduleEntry] = {}
        self.fetches: dict[str, Fetch] = {}
        self.complete: set[str] = set()
        self.started: dict[int, datetime] = {}
        self.scheduled: dict[int, datetime] = {}
        """When each broadcast first appeared in this receiver's schedule."""
        self.delivered: dict[int, datetime] = {}
        """When its audio was complete and checked."""
        self.played: dict[int, datetime] = {}
        self.errors: list[str] = []
        self.newest_seq = 0
        self.groups: list[str] = []
        self.alert_seqs: dict[str, int] = {}
        self.connected = threading.Event()
        self.received_bytes = 0
        """Topics and payloads of every message received (MQTT's own framing adds a few bytes each)."""

    def connect(self) -> None:
        """(Re)connect; on the fleet's thread. A failure is retried by the fleet after a pause."""
        self.connect_tried = time.monotonic()
        try:
            if not self.ever_connected:
                self.client.connect(self.fleet.host, self.fleet.port, keepalive=30)
                self.ever_connected = True
            else:
                self.client.reconnect()
        except OSError as exc:  # a busy broker's backlog full, a refused port: the fleet tries again
            self.connect_failures.append(f"cannot connect: {exc}")

    def retry_due(self, moment: float) -> bool:
        """Whether to try connecting again (``moment``: time.monotonic()): 2 s after the last try."""
        return bool(self.connect_tried) and moment - self.connect_tried > 2.0

    def stop(self) -> None:
        self.client.publish(self.fleet.topics.status(self.id), Status("offline", now()).to_bytes(), qos=1,
                            retain=True)
        self.client.disconnect()

    def _send(self, topic: str, payload: bytes, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.errors.append(f"connect refused: {reason}")
            return
        client.publish(self.fleet.topics.status(self.id), Status("online", now(), "sim").to_bytes(), qos=1,
                       retain=True)
        client.subscribe(self.schedule_topic, qos=1)
        with self.lock:
            for group in self.groups:
                client.subscribe(self.fleet.topics.group(group), qos=1)
            for asset, fetch in self.fetches.items():
                if fetch.subscribed:
                    client.subscribe(self.fleet.topics.blob_all(asset), qos=1)
        self.connected.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.received_bytes += len(message.topic) + len(message.payload)
        try:
            if message.topic == self.schedule_topic:
                self._on_schedule(message.payload)
            elif blob := self.fleet.topics.blob_of(message.topic):
                self._on_blob(*blob, message.payload)
            elif group := self.fleet.topics.group_of(message.topic):
                self._on_group(message.topic, *group, message.payload)
        except ProtocolError as exc:
            self.errors.append(f"{message.topic}: {exc}")

    def _on_schedule(self, payload: bytes) -> None:
        if not payload:
            return
        data = load_object(payload)
        self.newest_seq = self.fleet.verifier.verify(self.schedule_topic, data, now(), self.newest_seq)
        schedule = Schedule.from_dict(data)
        with self.lock:
            for group in set(self.groups) - set(schedule.groups):
                self.client.unsubscribe(self.fleet.topics.group(group))
            for group in set(schedule.groups) - set(self.groups):
                self.client.subscribe(self.fleet.topics.group(group), qos=1)
            self.groups = schedule.groups
            for entry in schedule.entries:
                self._add(entry)

    def _add(self, entry: ScheduleEntry, manifest: Manifest | None = None) -> None:
        """A new entry; its audio comes on the asset's retained topics, or behind the alert that had
        ``manifest``."""
        if entry.broadcast_id in self.entries:
            return
        self.entries[entry.broadcast_id] = entry
        self.scheduled[entry.broadcast_id] = now()
        if entry.asset in self.complete:
            self._delivered(entry)
        elif entry.asset not in self.fetches:
            self.fetches[entry.asset] = Fetch(manifest, subscribed=manifest is None)
            if manifest is None:
                self.client.subscribe(self.fleet.topics.blob_all(entry.asset), qos=1)

    def _on_group(self, topic: str, group: str, asset: str | None, part: str, payload: bytes) -> None:
        with self.lock:
            if group not in self.groups or not payload:
                return
            if asset is None and part != "alert":
                self.on_live(topic, part, payload)
            elif asset is None:
                data = load_object(payload)
                self.alert_seqs[topic] = self.fleet.verifier.verify(topic, data, now(), self.alert_seqs.get(topic, 0))
                alert = Alert.from_dict(data)
                self._add(alert.entry, alert.manifest)
            elif (fetch := self.fetches.get(asset)) is not None:
                fetch.chunks[int(part)] = payload
                fetch.progress_at = time.monotonic()
                self._check(asset, fetch)

    def on_live(self, topic: str, part: str, payload: bytes) -> None:
        """A live session's start, stop or audio (bench/live.py's receivers listen; these do not)."""

    def _on_blob(self, asset: str, part: str, payload: bytes) -> None:
        with self.lock:
            fetch = self.fetches.get(asset)
            if fetch is None or not payload:
                return
            if part == "manifest":
                topic = self.fleet.topics.manifest(asset)
                data = load_object(payload)
                self.fleet.verifier.verify(topic, data, now())
                fetch.manifest = Manifest.from_dict(data)
            elif part.isdigit():
                fetch.chunks[int(part)] = payload
            fetch.progress_at = time.monotonic()
            self._check(asset, fetch)

    def _check(self, asset: str, fetch: Fetch) -> None:
        manifest = fetch.manifest
        if manifest is None or len(fetch.chunks) < len(manifest.chunks):
            return
        bad = [s for s, c in fetch.chunks.items() if s >= len(manifest.chunks)
               or hashlib.sha256(c).hexdigest() != manifest.chunks[s]]
        for seq in bad:
            del fetch.chunks[seq]
        if bad:
            return  # asked for again by the timer
        whole = b"".join(fetch.chunks[s] for s in range(len(manifest.chunks)))
        if hashlib.sha256(whole).hexdigest() != asset:
            self.errors.append(f"asset {asset[:12]}: the whole file does not match its name")
            fetch.chunks.clear()
            return
        del self.fetches[asset]
        self.complete.add(asset)
        self.fleet.durations[asset] = manifest.duration_s or 0.0
        self.fleet.sizes[asset] = len(whole)
        if fetch.subscribed:
            self.client.unsubscribe(self.fleet.topics.blob_all(asset))
        for entry in self.entries.values():
            if entry.asset == asset:
                self._delivered(entry)

    def _delivered(self, entry: ScheduleEntry) -> None:
        self.delivered[entry.broadcast_id] = now()
        self._send(self.fleet.topics.event(self.id, "delivery"),
                   Delivery(entry.broadcast_id, entry.asset, "delivered", now()).to_bytes())
        self.fleet.at(entry.play_at or now(), lambda: self._play(entry))

    def _play(self, entry: ScheduleEntry) -> None:
        if entry.broadcast_id in self.started:
            self.errors.append(f"broadcast {entry.broadcast_id} would play twice")
            return
        started = now()
        self.started[entry.broadcast_id] = started
        self._send(self.fleet.topics.event(self.id, "playback"),
                   Playback(entry.broadcast_id, "playing", started, started).to_bytes())
        length = self.fleet.durations.get(entry.asset, 0.0) if self.fleet.realtime else 0.0

        def played() -> None:
            finished = now()
            self.played[entry.broadcast_id] = finished
            self._send(self.fleet.topics.event(self.id, "playback"),
                       Playback(entry.broadcast_id, "played", finished, started, finished).to_bytes())

        self.fleet.at(started + timedelta(seconds=length), played)

    def retry(self) -> None:
        """Ask again for what a stalled download still lacks."""
        with self.lock:
            for asset, fetch in self.fetches.items():
                if time.monotonic() - fetch.progress_at < RETRY_S:
                    continue
                fetch.progress_at = time.monotonic()
                if not fetch.subscribed:
                    fetch.subscribed = True
                    self.client.subscribe(self.fleet.topics.blob_all(asset), qos=1)
                missing = [] if fetch.manifest is None else \
                    [s for s in range(len(fetch.manifest.chunks)) if s not in fetch.chunks]
                self._send(self.fleet.topics.request(self.id), ChunkRequest(asset, missing).to_bytes())

    def heartbeat(self, started: float) -> None:
        if self.client.is_connected():
            beat = Heartbeat(now(), round(time.monotonic() - started, 1), "sim", 80, None, 0, 0)
            self._send(self.fleet.topics.heartbeat(self.id), beat.to_bytes(), qos=0)


class Fleet:
    """``receivers`` (device id to password) against one broker; heartbeats every ``heartbeat_s``, spread out."""

    def __init__(self, host: str, port: int, root: str, trusted_keys: list[str], receivers: dict[str, str],
                 heartbeat_s: float = 30.0, realtime: bool = True,
                 make: Callable[[Fleet, str, str], Receiver] | None = None) -> None:
        """``make`` builds each client (default :class:`Receiver`), for clients that speak less."""
        self.host, self.port, self.topics = host, port, Topics(root)
        self.verifier = Verifier(trusted_keys)
        self.heartbeat_s, self.realtime = heartbeat_s, realtime
        self.durations: dict[str, float] = {}
        self.sizes: dict[str, int] = {}
        self.selector = selectors.DefaultSelector()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleet", daemon=True)
        self.started = time.monotonic()
        self.receivers = {d: (make or Receiver)(self, d, p) for d, p in receivers.items()}

    def watch(self, client: mqtt.Client) -> None:
        """Let the selector drive ``client``'s socket (paho's external event loop)."""
        read, both = selectors.EVENT_READ, selectors.EVENT_READ | selectors.EVENT_WRITE

        def quietly(action: Callable[..., object], *args: object) -> None:
            with contextlib.suppress(KeyError, ValueError, OSError):  # a socket closed after the fleet stopped
                action(*args)

        client.on_socket_open = lambda c, u, sock: quietly(self.selector.register, sock, read, c)
        client.on_socket_close = lambda c, u, sock: quietly(self.selector.unregister, sock)
        client.on_socket_register_write = lambda c, u, sock: quietly(self.selector.modify, sock, both, c)
        client.on_socket_unregister_write = lambda c, u, sock: quietly(self.selector.modify, sock, read, c)

    def at(self, when: datetime, action: Callable[[], None]) -> None:
        """Run ``action`` on the fleet's thread at ``when`` (or at once)."""
        delay = max(0.0, (when - now()).total_seconds())
        with self._lock:
            heapq.heappush(self._timers, (time.monotonic() + delay, next(self._order), action))

    def start(self, connect_per_s: float = 200.0) -> None:
        """Connect every receiver, at most ``connect_per_s`` a second (a fleet does not all boot at once)."""
        for n, receiver in enumerate(self.receivers.values()):
            self.at(now() + timedelta(seconds=n / connect_per_s), receiver.connect)
        self._thread.start()

    def wait_connected(self, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        return all(r.connected.wait(max(0.0, deadline - time.monotonic())) for r in self.receivers.values())

    def not_connected(self) -> str:
        """Which receivers are not connected now, and why (for a run that cannot start)."""
        missing = [r for r in self.receivers.values() if not r.connected.is_set()]
        why = [f"{r.id}: {(r.errors or r.connect_failures or ['no answer'])[-1]}" for r in missing[:5]]
        return f"{len(missing)} of {len(self.receivers)} simulated receivers not connected ({'; '.join(why)})"

    def _run(self) -> None:
        beats = itertools.cycle(list(self.receivers.values()))
        gap = self.heartbeat_s / max(1, len(self.receivers))
        next_beat = next_misc = time.monotonic()
        while not self._stop.is_set():
            for key, mask in self.selector.select(timeout=0.01) if self.selector.get_map() else ():
                client: mqtt.Client = key.data
                if mask & selectors.EVENT_READ:
                    client.loop_read()
                if mask & selectors.EVENT_WRITE:
                    client.loop_write()
            moment = time.monotonic()
            while True:
                with self._lock:
                    if not self._timers or self._timers[0][0] > moment:
                        break
                    _, _, action = heapq.heappop(self._timers)
                action()
            while next_beat <= moment:
                next(beats).heartbeat(self.started)
                next_beat += gap
            if moment >= next_misc:  # keepalives, QoS retries, reconnections, stalled downloads
                for receiver in self.receivers.values():
                    if receiver.client.loop_misc() == mqtt.MQTT_ERR_NO_CONN and receiver.retry_due(moment):
                        receiver.connect()
                    receiver.retry()
                next_misc = moment + 1.0
            if not self.selector.get_map():
                self._stop.wait(0.01)

    def errors(self) -> list[str]:
        return [f"{r.id}: {e}" for r in self.receivers.values() for e in r.errors]

    def stop(self) -> None:
        done = threading.Event()

        def goodbye() -> None:
            for receiver in self.receivers.values():
                receiver.stop()
            done.set()

        self.at(now(), goodbye)
        done.wait(10)
        time.sleep(0.5)  # the goodbyes leave
        self._stop.set()
        self._thread.join(timeout=5)
        self.selector.close()
