"""What the receiver tells the server about its work: deliveries, playbacks and refused messages, each kept in
the outbox until the broker has it (heartbeats and status, which are worthless late, go straight out)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from edge_agent import __version__, health
from edge_agent.outbox import Outbox
from edge_agent.protocol import Delivery, Heartbeat, Playback, Refused, Topics
from edge_agent.protocol.fields import PLAYBACK_STATES
from edge_agent.store import LocalEntry, Store

logger = logging.getLogger(__name__)

REFUSAL_REPORT_GAP_S = 60.0
"""The same refusal (topic and reason) is reported to the server at most this often."""


class Reporter:
    def __init__(self, device_id: str, topics: Topics, outbox: Outbox, store: Store,
                 clock: Callable[[], datetime]) -> None:
        self.device_id = device_id
        self.topics = topics
        self.outbox = outbox
        self.store = store
        self.clock = clock
        self._refusals: dict[tuple[str, str], float] = {}

    def refused(self, topic: str, reason: str, detail: str) -> None:
        logger.error("refused message on %s: %s", topic, detail)
        key = (topic, reason)
        now = time.monotonic()
        if now - self._refusals.get(key, -REFUSAL_REPORT_GAP_S) < REFUSAL_REPORT_GAP_S:
            return  # a flood of forged messages gets one report a minute, not one each
        self._refusals[key] = now
        report = Refused(self.clock(), topic, reason, detail[:500])
        self.outbox.put(self.topics.event(self.device_id, "refused"), report.to_dict())

    def delivery(self, broadcast_id: int, asset: str, state: str, error: str | None = None) -> None:
        report = Delivery(broadcast_id, asset, state, self.clock(), error)
        self.outbox.put(self.topics.event(self.device_id, "delivery"), report.to_dict())

    def playing(self, local: LocalEntry) -> None:
        report = Playback(local.entry.broadcast_id, "playing", self.clock(), local.started_at,
                          occurrence=local.occurrence)
        self.outbox.put(self.topics.event(self.device_id, "playback"), report.to_dict())

    def heartbeat(self, cache_dir: Path, uptime_s: float, volume: int, now_playing: int | None, outbox: int,
                  amplifier: str | None, enabled: bool) -> None:
        """The device's health now, straight to the broker (a stale heartbeat is worthless: none while offline)."""
        if not self.outbox.link.connected.is_set():
            return
        beat = Heartbeat(ts=self.clock(), uptime_s=round(uptime_s, 1), version=__version__, volume=volume,
                         now_playing=now_playing, cache_bytes=self.store.cache_bytes(),
                         pending=len(self.store.waiting()), **asdict(health.read(cache_dir)), outbox=outbox,
                         amplifier=amplifier, enabled=enabled)
        self.outbox.link.publish(self.topics.heartbeat(self.device_id), beat.to_bytes(), qos=0)

    def live(self, broadcast_id: int, state: str, started_at: datetime | None = None,
             finished_at: datetime | None = None, error: str | None = None) -> None:
        """What this device did with a live session: playing (from ``started_at``), then how it ended."""
        report = Playback(broadcast_id, state, self.clock(), started_at, finished_at, error)
        self.outbox.put(self.topics.event(self.device_id, "playback"), report.to_dict())

    def finish(self, local: LocalEntry, state: str, error: str | None = None) -> None:
        """Record that ``local`` ended in ``state`` (played, missed, failed...) and report it."""
        finished = self.clock() if state != "missed" else None
        self.store.update(local, state=state, finished_at=finished, error=error)
        report = Playback(local.entry.broadcast_id, state, self.clock(), local.started_at, finished, error,
                          occurrence=local.occurrence)
        self.outbox.put(self.topics.event(self.device_id, "playback"), report.to_dict())

    def again(self, local: LocalEntry) -> None:
        """Send once more how ``local`` ended, with the times recorded then (``historical``: not news)."""
        if local.state not in PLAYBACK_STATES:
            return
        report = Playback(local.entry.broadcast_id, local.state, self.clock(), local.started_at, local.finished_at,
                          local.error, historical=True)
        self.outbox.put(self.topics.event(self.device_id, "playback"), report.to_dict())
