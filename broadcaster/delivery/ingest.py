"""Reports from the receivers, stored in batches: each report kind has its handler (a table from the topic's
kind), every delivery moves forward only (``domain.lifecycle``), and alarms are raised and cleared as the
reports say. A report is acknowledged to the broker only once it is stored."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, object_session

from broadcaster.config import ServerConfig
from broadcaster.database import DB_DOWN, Database
from broadcaster.db import Asset, Delivery, Device, DeviceHealth, OccurrencePlay, RefusalRecord, utcnow
from broadcaster.delivery.publisher import Publisher, ask_refresh
from broadcaster.delivery.resend import MANIFEST, Resends
from broadcaster.domain.alarms import clear_alarms, raise_alarm
from broadcaster.domain.lifecycle import DELIVERY_RANK, FINAL_DELIVERY_STATES, moves_forward
from broadcaster.ops import metrics
from edge_agent.link import Ack
from edge_agent.protocol import ChunkRequest, Heartbeat, Playback, ProtocolError, Refused, Status, Topics
from edge_agent.protocol import Delivery as DeliveryReport

logger = logging.getLogger(__name__)

CLOCK_SKEW_ALARM_S = 30.0
"""A device clock further than this from the server's is reported: it would play at the wrong time."""
HEALTH_FIELDS = ("uptime_s", "load_1m", "cpu_temp_c", "mem_available_mb", "disk_free_mb", "ntp_synced",
                 "clock_offset_ms", "clock_error_ms", "link_quality", "amplifier", "cache_bytes", "pending", "outbox",
                 "enabled")
BATCH_MAX = 500
"""Reports stored in one transaction at most (as many as have arrived, up to this)."""
Inbound = tuple[str, bytes, datetime, Ack]


class Ingest:
    """Stores what arrives in ``inbox``; its thread runs until ``stop`` is set."""

    def __init__(self, config: ServerConfig, db: Database, publisher: Publisher, stop: threading.Event) -> None:
        self.config, self.db, self.publisher, self._stop = config, db, publisher, stop
        self.topics = Topics(config.mqtt.topic_root)
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        metrics.INGEST_QUEUE.set_function(self.inbox.qsize)
        """Reports handed over by the broker but not yet stored. Each is acknowledged to the broker only once
        stored, so whatever is here when the process dies comes again on the next connection."""
        self.resends = Resends()
        """What was published again at whose request, so a weak link's asks do not pile copies up."""
        self._refresh: set[str] = set()
        """Devices whose schedules the reports being stored changed, to publish again once they are committed
        (ingest thread only)."""
        self.handlers: dict[str, Callable[[Session, Device, bytes, datetime], None]] = {
            "status": lambda session, device, payload, at: self._on_status(device, Status.from_bytes(payload)),
            "hb": lambda session, device, payload, at: self._on_heartbeat(session, device,
                                                                          Heartbeat.from_bytes(payload), at),
            "evt/delivery": self._on_delivery,
            "evt/playback": self._on_playback,
            "evt/refused": self._on_refused,
            "req": lambda session, device, payload, at: self._on_request(session, device,
                                                                         ChunkRequest.from_bytes(payload)),
        }
        """What to do with a report, by the kind of topic it came on (``dev/{id}/<kind>``)."""

    def received(self, topic: str, payload: bytes, ack: Ack) -> None:
        self.inbox.put((topic, payload, utcnow(), ack))

    def loop(self) -> None:
        while not self._stop.is_set():
            try:
                batch = [self.inbox.get(timeout=0.5)]
            except queue.Empty:
                continue
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self.inbox.get_nowait())
                except queue.Empty:
                    break
            try:
                if self.store_with_retry(batch):
                    for *_, ack in batch:
                        ack()
            finally:
                for _ in batch:
                    self.inbox.task_done()

    def store_with_retry(self, batch: list[Inbound]) -> bool:
        """Store reports (all in one transaction); while the database is unreachable, keep them and try
        again. True when they are done with (stored, or refused for good) and may be acknowledged."""
        delay = 0.5
        while not self._stop.is_set():
            try:
                self.store(batch)
                return True
            except DB_DOWN as exc:
                logger.warning("database unavailable (%s); %d report(s) kept, retrying in %.0f s",
                               exc.__class__.__name__, len(batch), delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 30.0)
            except Exception:
                if len(batch) > 1:  # one bad report must not sink the others: one at a time
                    return all([self.store_with_retry([item]) for item in batch])
                # Acknowledged all the same: a report that breaks the code would otherwise come back forever.
                logger.exception("could not store report on %s", batch[0][0])
                return True
        logger.warning("stopping with %d unstored report(s): the broker hands them over again", len(batch))
        return False

    def store(self, batch: list[Inbound]) -> None:
        self._store_batch(batch)
        stored = utcnow()
        for topic, _, received_at, _ in batch:
            report = self.topics.report_of(topic)
            metrics.REPORTS.labels(report[1] if report else "unknown").inc()
            metrics.INGEST_WAIT.observe((stored - received_at).total_seconds())

    def _store_batch(self, batch: list[Inbound]) -> None:
        self._refresh.clear()
        with self.db.session() as session, session.no_autoflush:
            # No flush before each read: the batch's changes go out together at the commit (a device's row
            # once, not once per report), and reads of the same rows come from the session.
            held = self._prefetch(session, batch)  # the session keeps rows only while someone holds them
            for topic, payload, received_at, _ in batch:
                self._store_one(session, topic, payload, received_at)
            if self._refresh:
                # The leader publishes these devices' schedules again once this commits.
                ask_refresh(session, sorted(self._refresh))
            del held
        self._refresh.clear()

    def _prefetch(self, session: Session, batch: list[Inbound]) -> list[object]:
        """Load the rows the batch's reports touch in three queries, so each report finds them in the session
        instead of asking the database once per report. Returns them: hold on to them meanwhile."""
        devices = {d for topic, *_ in batch if (d := self.topics.device_of(topic))}
        if len(batch) < 2 or not devices:
            return []
        broadcasts: set[int] = set()
        for topic, payload, *_ in batch:
            if (report := self.topics.report_of(topic)) and report[1].startswith("evt/"):
                with contextlib.suppress(ValueError, AttributeError, TypeError):
                    broadcast_id = json.loads(payload).get("broadcast_id")
                    if isinstance(broadcast_id, int):
                        broadcasts.add(broadcast_id)
        rows: list[object] = [*session.query(Device).filter(Device.id.in_(devices)),
                              *session.query(DeviceHealth).filter(DeviceHealth.device_id.in_(devices))]
        if broadcasts:
            rows += session.query(Delivery).filter(Delivery.device_id.in_(devices),
                                                   Delivery.broadcast_id.in_(broadcasts)).all()
        return rows

    def _store_one(self, session: Session, topic: str, payload: bytes, received_at: datetime) -> None:
        report = self.topics.report_of(topic)
        if report is None or not payload:
            if report is None:
                logger.warning("ignored report on unknown topic %s", topic)
            return
        device_id, kind = report
        try:
            device = session.get(Device, device_id)
            if device is None:
                logger.warning("refused report from unknown device %r on %s", device_id, topic)
                return
            handler = self.handlers.get(kind)
            if handler is None:
                logger.warning("ignored report on unknown topic %s", topic)
                return
            handler(session, device, payload, received_at)
        except ProtocolError as exc:
            logger.warning("refused malformed %s from %s: %s", kind, device_id, exc)

    # one handler per kind of report -----------------------------------------------------------------

    def _on_status(self, device: Device, status: Status) -> None:
        came_online = status.state == "online" and not device.online
        device.online = status.state == "online"
        if came_online:
            # Its schedule again, with the groups it belongs to now: a new device has had none, a moved one
            # listens for the wrong area's alerts until it has it.
            self._refresh.add(device.id)
        if device.online:
            self._heard(device)
            device.version = status.version or device.version
        else:
            device.now_playing = None

    def _on_heartbeat(self, session: Session, device: Device, beat: Heartbeat, received_at: datetime) -> None:
        device.online = True
        self._heard(device)
        device.version, device.volume, device.now_playing = beat.version, beat.volume, beat.now_playing
        skew = round((beat.ts - received_at).total_seconds(), 1)
        record = session.get(DeviceHealth, device.id)
        if record is None:
            record = DeviceHealth(device_id=device.id, reported="{}")
            session.add(record)
        was_off = record.clock_skew_s is not None and abs(record.clock_skew_s) > CLOCK_SKEW_ALARM_S
        if abs(skew) > CLOCK_SKEW_ALARM_S and not was_off:
            logger.error("device %s clock is %+.0f s off the server's (NTP synchronized: %s): it will play at "
                         "the wrong time", device.id, skew, beat.ntp_synced)
        if abs(skew) > CLOCK_SKEW_ALARM_S:
            raise_alarm(session, device.id, "clock", f"the clock is {skew:+.0f} s off the server's: it will play "
                                                     "at the wrong time (check NTP on the receiver)")
        elif was_off:
            clear_alarms(session, device.id, "clock")
        record.clock_skew_s, record.updated_at = skew, received_at
        record.reported = json.dumps({name: getattr(beat, name) for name in HEALTH_FIELDS})

    def _heard(self, device: Device) -> None:
        """A device spoke: it was last seen now, and its inactivity alarm, if it had been quiet long enough to
        have one, is over (no database write on the heartbeats of a device that never went quiet)."""
        now = utcnow()
        quiet_since = device.last_seen
        device.last_seen = now
        session = object_session(device)
        if session is not None and (quiet_since is None or
                                    (now - quiet_since).total_seconds() >= self.config.inactivity_alarm_s):
            clear_alarms(session, device.id, "offline")

    def _on_delivery(self, session: Session, device: Device, payload: bytes, received_at: datetime) -> None:
        report = DeliveryReport.from_bytes(payload)
        self._advance(session, device, report.broadcast_id, report.state, error=report.error)

    def _on_playback(self, session: Session, device: Device, payload: bytes, received_at: datetime) -> None:
        playback = Playback.from_bytes(payload)
        if playback.occurrence is not None:
            self._on_occurrence(session, device, playback)
            return
        self._advance(session, device, playback.broadcast_id, playback.state, playback.error,
                      playback.started_at, playback.finished_at)

    def _on_refused(self, session: Session, device: Device, payload: bytes, received_at: datetime) -> None:
        refused = Refused.from_bytes(payload)
        logger.error("device %s refused a message on %s: %s (%s)", device.id, refused.topic,
                     refused.reason, refused.detail)
        session.add(RefusalRecord(device_id=device.id, topic=refused.topic, reason=refused.reason,
                                  detail=refused.detail, reported_at=refused.ts))
        raise_alarm(session, device.id, "refused", f"refused a message on {refused.topic}: "
                                                   f"{refused.reason}", ref=refused.reason)

    def _advance(self, session: Session, device: Device, broadcast_id: int, state: str, error: str | None,
                 started_at: datetime | None = None, finished_at: datetime | None = None) -> None:
        row = session.get(Delivery, (broadcast_id, device.id))
        if row is None:
            logger.warning("device %s reported on broadcast %d it was not sent", device.id, broadcast_id)
            return
        device.last_seen = utcnow()
        if not moves_forward(row.state, state, row.error):
            return
        row.state, row.error, row.updated_at = state, error, utcnow()
        row.started_at = started_at or row.started_at
        row.finished_at = finished_at or row.finished_at
        _now_playing(device, broadcast_id, state)
        if state in ("failed", "missed"):
            raise_alarm(session, device.id, "playback", f"broadcast {broadcast_id} '{row.broadcast.bulletin.title}' "
                                                        f"{state}: {error or 'no reason given'}", ref=str(broadcast_id))
        if state in FINAL_DELIVERY_STATES:
            self._refresh.add(device.id)  # its schedule is published once this report is committed

    def _on_occurrence(self, session: Session, device: Device, playback: Playback) -> None:
        """One play of a recurring broadcast: its own row, moving forward only, like deliveries."""
        assert playback.occurrence is not None
        if session.get(Delivery, (playback.broadcast_id, device.id)) is None:
            logger.warning("device %s reported on broadcast %d it was not sent", device.id, playback.broadcast_id)
            return
        device.last_seen = utcnow()
        key = (playback.broadcast_id, device.id, playback.occurrence)
        row = session.get(OccurrencePlay, key)
        if row is None:
            row = OccurrencePlay(broadcast_id=key[0], device_id=key[1], occurrence=key[2], state=playback.state)
            session.add(row)
        elif DELIVERY_RANK[playback.state] <= DELIVERY_RANK[row.state]:
            return
        row.state, row.error, row.updated_at = playback.state, playback.error, utcnow()
        row.started_at = playback.started_at or row.started_at
        row.finished_at = playback.finished_at or row.finished_at
        _now_playing(device, playback.broadcast_id, playback.state)

    def _on_request(self, session: Session, device: Device, request: ChunkRequest) -> None:
        asset = session.get(Asset, request.asset)
        if asset is None or not self.publisher.store.path(asset.id).exists():
            logger.warning("device %s asked for unknown asset %s", device.id, request.asset[:12])
            return
        chunk_size = self.publisher.chunk_size
        wanted = request.seqs or ([] if self.config.asset_url else list(range(-(-asset.size // chunk_size))))
        fresh = self.resends.to_publish(device.id, asset.id, wanted, chunk_size, time.monotonic())
        if not fresh:
            return  # sent a moment ago (to it, or to all): still on its way, or published less than 2 s ago
        chunks = [s for s in fresh if s != MANIFEST]
        logger.info("device %s asked again for %s: publishing the manifest and %d chunk(s)", device.id,
                    asset.id[:12], len(chunks))
        self.publisher.publish_asset(asset.id, asset.duration_s, chunks)


def _now_playing(device: Device, broadcast_id: int, state: str) -> None:
    """What the device plays, from the playback report itself (the dashboard showed it a heartbeat late, and a
    10 s emergency between two heartbeats never): playing now, or no longer once this one ended."""
    if state == "playing":
        device.now_playing = broadcast_id
    elif device.now_playing == broadcast_id and state in FINAL_DELIVERY_STATES:
        device.now_playing = None
