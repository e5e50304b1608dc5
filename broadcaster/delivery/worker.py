"""The worker process: renders queued broadcasts, distributes them over MQTT, stores what devices report,
and runs periodic housekeeping with APScheduler.

Several may run. One at a time, the leader (:mod:`broadcaster.delivery.leader`), renders, signs and publishes, runs
the housekeeping and stores the reports, acknowledging each to the broker only once committed; the others
stand by and take over, reports' session included, when it goes. (With ``mqtt.shared_subscriptions`` every
worker stores reports, the broker dealing them out: see docs/scale.md before turning it on.) The database is
the source of truth; a worker keeps no state that a restart would lose.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import and_, delete, or_, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload, object_session, selectinload

from broadcaster.assets import AssetStore
from broadcaster.config import ServerConfig
from broadcaster.db import (
    DB_DOWN,
    FINAL_DELIVERY_STATES,
    Alarm,
    Area,
    Asset,
    Broadcast,
    Database,
    Delivery,
    Device,
    DeviceHealth,
    DeviceSetting,
    OccurrencePlay,
    Recurrence,
    RefusalRecord,
    ScheduleRefresh,
    SigningState,
    utcnow,
)
from broadcaster.delivery.leader import Leadership, leadership_for
from broadcaster.speech.audio import AudioError
from broadcaster.speech.render import Speech
from edge_agent.link import Ack, Link
from edge_agent.protocol import (
    Alert,
    ChunkRequest,
    Command,
    Heartbeat,
    Playback,
    ProtocolError,
    Refused,
    Repeat,
    Schedule,
    ScheduleEntry,
    Status,
    Topics,
)
from edge_agent.protocol import (
    Delivery as DeliveryReport,
)
from edge_agent.protocol.messages import MAX_GROUPS, PRIORITY_RANK

logger = logging.getLogger(__name__)

SEQ_SAVE_MARGIN = 3_600_000_000
"""An hour of signing sequence numbers (microseconds) skipped at start, past any issued since the last save."""
CLOCK_SKEW_ALARM_S = 30.0
"""A device clock further than this from the server's is reported: it would play at the wrong time."""
HEALTH_FIELDS = ("uptime_s", "load_1m", "cpu_temp_c", "mem_available_mb", "disk_free_mb", "ntp_synced",
                 "clock_offset_ms", "clock_error_ms", "link_quality", "amplifier", "cache_bytes", "pending", "outbox",
                 "enabled")
STATE_RANK = {"pending": 0, "delivered": 1, "playing": 2, "played": 3, "failed": 3, "missed": 3, "interrupted": 3,
              "cancelled": 3, "ended": 3}
NO_REPORT = "no report from the device by the deadline"
REPUBLISH_GAP_S = 2.0
"""A chunk asked for by many devices at once is published again at most this often."""
MANIFEST_KEY = -1
"""Stands for the manifest among the chunk numbers of an asset last republished."""
LEAD_CHECK_S = 1.0
"""How often the leader checks it still leads, and a standby tries to take the lead."""
DISPATCH_S = 0.05
"""How often the leader looks for queued broadcasts (one indexed query): the wait an emergency may add."""
HOUSEKEEPING_S = 0.2
"""How often dispatch also sends operators' changes and the schedules reports asked for."""
SCHEDULE_BATCH = 500
"""Devices whose schedules are read in one query."""
REFRESH_SCAN = 5000
"""Schedule refreshes looked at in one round."""
REFRESH_AFTER_S = 1.0
"""How long a requested schedule refresh waits, so that the reports of one burst make one republish."""
BATCH_MAX = 500
"""Reports stored in one transaction at most (as many as have arrived, up to this)."""


def share_group(server_password: str | None) -> str:
    """The shared-subscription group of the workers' report links: the broker gives each report to one member.

    Named from the server's MQTT password, which every worker has and no receiver: mosquitto 2.0 lets any user
    join any group, and a receiver that joined the workers' group would be dealt its share of every device's
    reports and, not allowed to read them, lose them (a third of them with two workers, docs/reliability.md)."""
    digest = hashlib.sha256(b"loaxa share group\n" + (server_password or "").encode("utf-8")).hexdigest()
    return f"w{digest[:24]}"
ALERT_TTL_MARGIN_S = 900
"""An alert's signature outlives the entry's grace by this (a receiver's clock may be a few minutes off)."""
Inbound = tuple[str, bytes, datetime, Ack]


def _pending_alarms(session: Session, device_id: str, kind: str) -> list[Alarm]:
    """Alarms added in this session and not yet written (reports are stored in batches, without autoflush)."""
    return [a for a in session.new if isinstance(a, Alarm) and a.device_id == device_id and a.kind == kind]


def raise_alarm(session: Session, device_id: str, kind: str, message: str, ref: str | None = None) -> None:
    """Raise an alarm unless the same one (device, kind, ref) is still open."""
    if any(a.ref == ref and a.cleared_at is None for a in _pending_alarms(session, device_id, kind)):
        return
    open_one = session.query(Alarm.id).filter_by(device_id=device_id, kind=kind, ref=ref, cleared_at=None).first()
    if open_one is None:
        session.add(Alarm(device_id=device_id, kind=kind, ref=ref, message=message[:2000]))
        logger.warning("alarm on %s (%s): %s", device_id, kind, message)


def clear_alarms(session: Session, device_id: str, kind: str) -> None:
    for alarm in _pending_alarms(session, device_id, kind):
        alarm.cleared_at = alarm.cleared_at or utcnow()
    session.execute(update(Alarm).where(Alarm.device_id == device_id, Alarm.kind == kind,
                                        Alarm.cleared_at.is_(None)).values(cleared_at=utcnow()))


def group_name(area_id: int) -> str:
    return f"a{area_id}"


def _ancestry(area_id: int | None, parents: dict[int, int | None]) -> list[int]:
    """The area and every area above it, nearest first."""
    chain: list[int] = []
    while area_id is not None and area_id not in chain and len(chain) < MAX_GROUPS:
        chain.append(area_id)
        area_id = parents.get(area_id)
    return chain


def _parents(session: Session) -> dict[int, int | None]:
    return dict(session.query(Area.id, Area.parent_id).all())


def groups_of(session: Session, device_ids: list[str]) -> dict[str, list[str]]:
    """Each device's groups: its village and every area above it."""
    parents = _parents(session)
    villages = dict(session.query(Device.id, Device.village_id).filter(Device.id.in_(device_ids)).all())
    return {d: [group_name(a) for a in _ancestry(villages.get(d), parents)] for d in device_ids}


def areas_covering(session: Session, device_ids: list[str]) -> dict[str, set[str]]:
    """The groups of the largest areas all of whose devices are among ``device_ids``, with their devices."""
    parents = _parents(session)
    members: dict[int, set[str]] = {}
    for device_id, village_id in session.query(Device.id, Device.village_id).filter(Device.village_id.is_not(None)):
        for area_id in _ancestry(village_id, parents):
            members.setdefault(area_id, set()).add(device_id)
    wanted = set(device_ids)
    whole = {area_id for area_id, inside in members.items() if inside <= wanted}
    return {group_name(a): members[a] for a in sorted(whole)
            if not any(p in whole for p in _ancestry(a, parents)[1:])}


def _not_busy(record: logging.LogRecord) -> bool:
    return "maximum number of running instances reached" not in record.getMessage()


class Worker:
    def __init__(self, config: ServerConfig, db: Database, name: str | None = None) -> None:
        """``name`` tells apart the workers of one deployment (their MQTT client ids); one worker needs none."""
        self.config = config
        self.db = db
        self.client_id = f"{config.mqtt.client_id}-{name}" if name else config.mqtt.client_id
        self.topics = Topics(config.mqtt.topic_root)
        self.store = AssetStore(config.asset_dir)
        self.speech = Speech(config.speech, self.store)
        self.signer = config.signer()
        self._saved_seq = -1
        self.chunk_size = config.mqtt.chunk_kib * 1024
        self.uploads = AssetStore(config.upload_dir, suffix="")
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        """Reports handed over by the broker but not yet stored. Each is acknowledged to the broker only once
        stored, so whatever is here when the process dies comes again on the next connection."""
        self._republished: dict[tuple[str, int], float] = {}
        self._refresh: set[str] = set()
        """Devices whose schedules the reports being stored changed, to publish again once they are committed
        (ingest thread only)."""
        self._refresh_seen: dict[str, float] = {}
        """When this leader first saw each device's pending schedule refresh."""
        self._housekept_at = 0.0
        self._stop = threading.Event()
        self._dispatch_lock = threading.Lock()
        self._resync = threading.Event()
        self._database_down = threading.Event()
        self._schedule_lock = threading.Lock()
        """Held from reading a device's schedule to publishing it: two threads (dispatch, ingest) publish
        schedules, and one signed later but published earlier would make the receiver refuse the other as a
        replay, and miss what only that one carried."""
        self.leadership: Leadership = leadership_for(db)
        self.leading = threading.Event()
        self.shared = config.mqtt.shared_subscriptions
        self.reports = self._reports_link()
        self.link = self._leader_link()
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self._ingest_thread = threading.Thread(target=self._ingest_loop, name="ingest", daemon=True)
        self._lead_thread = threading.Thread(target=self._lead_loop, name="lead", daemon=True)

    def _received(self, topic: str, payload: bytes, ack: Ack) -> None:
        self.inbox.put((topic, payload, utcnow(), ack))

    def _reports_link(self) -> Link:
        """The reports, kept by the broker in a persistent session until acknowledged, i.e. stored.

        Shared subscriptions: each worker has a session of its own, and the broker deals the reports out.
        Otherwise the leader alone stores them, in the one session of the deployment (the same client id
        whichever worker leads): a worker that takes the lead takes over that session, with what the broker
        kept for it and what the last leader had not acknowledged."""
        client_id = f"{self.client_id}-reports" if self.shared else f"{self.config.mqtt.client_id}-reports"
        link = Link(client_id, self.config.mqtt.host, self.config.mqtt.port, self.config.mqtt.username,
                    self.config.mqtt_password(), self._received, clean_session=False,
                    ca_file=self.config.mqtt.ca_file, manual_ack=True)
        share = f"$share/{share_group(self.config.mqtt_password())}/" if self.shared else ""
        for topic in self.topics.server_subscriptions():
            if not topic.endswith("/req"):
                link.subscribe(f"{share}{topic}")
        return link

    def _leader_link(self) -> Link:
        """The leader's connection: it publishes what is signed, and takes the devices' requests for audio
        (not shared: only the leader publishes). A clean session: a standby must not collect requests."""
        link = Link(
            self.client_id, self.config.mqtt.host, self.config.mqtt.port, self.config.mqtt.username,
            self.config.mqtt_password(), lambda topic, payload: self._received(topic, payload, lambda: None),
            on_connect=self._resync.set, ca_file=self.config.mqtt.ca_file)
        link.subscribe(self.topics.chunk_requests())
        return link

    def start(self) -> None:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        # A dispatch that runs past its interval (a long render) is normal; the skipped tick is not news.
        logging.getLogger("apscheduler.scheduler").addFilter(_not_busy)
        if self.shared:
            self.reports.start()
        self._ingest_thread.start()
        self.scheduler.add_job(self._guarded, "interval", args=[self.dispatch], seconds=DISPATCH_S, id="dispatch",
                               max_instances=1, coalesce=True)
        self.scheduler.add_job(self._guarded, "interval", args=[self.sweep], seconds=10, id="sweep",
                               max_instances=1, coalesce=True)
        self.scheduler.start()
        self._try_to_lead()
        self._lead_thread.start()
        logger.info("worker started as %s; broker %s:%d; %s", self.client_id, self.config.mqtt.host,
                    self.config.mqtt.port, "leading" if self.leading.is_set() else "standing by")

    # leadership ------------------------------------------------------------------------------------

    def _lead_loop(self) -> None:
        while not self._stop.wait(LEAD_CHECK_S if self.leading.is_set() else LEAD_CHECK_S * random.uniform(1, 2)):
            if self.leading.is_set():
                if not self.leadership.holds():
                    logger.error("worker %s lost the lead (database unreachable?): standing by", self.client_id)
                    self._step_down()
            else:
                self._try_to_lead()

    def _try_to_lead(self) -> None:
        if not self.leadership.acquire():
            return
        try:
            with self.db.session() as session:
                state = session.get(SigningState, self.signer.kid)
                if state is not None:
                    # Up to one sweep's worth of numbers may have been issued after the last save (by this
                    # worker or the leader before it): skip past them.
                    self.signer.raise_floor(state.last_seq + SEQ_SAVE_MARGIN)
        except DB_DOWN:
            self.leadership.release()
            return
        self.link.start()
        if not self.shared:
            self.reports.start()
        self.leading.set()
        logger.warning("worker %s leads: it renders, signs and publishes", self.client_id)

    def _step_down(self) -> None:
        self.leading.clear()
        with self._dispatch_lock:  # a dispatch under way finishes first
            self.link.stop()
            self.link = self._leader_link()  # whatever the old one still queued is not sent by a standby
        if not self.shared:
            # Let the next leader have the reports' session (unacknowledged reports go with it).
            self.reports.stop()
            self.reports = self._reports_link()
        self.leadership.release()

    def _guarded(self, job: Callable[[], None]) -> None:
        """Run a periodic job if this worker leads; while the database is away, say so once (not a traceback
        every tick) and let the next tick try again: queued work waits in the database, nothing is lost."""
        if not self.leading.is_set():
            return
        try:
            job()
        except DB_DOWN as exc:
            if not self._database_down.is_set():
                self._database_down.set()
                logger.error("database unavailable (%s); dispatch and sweep wait for it", exc.__class__.__name__)
            return
        if self._database_down.is_set():
            self._database_down.clear()
            logger.warning("database answering again; dispatch and sweep carry on")

    def _save_signing_state(self) -> None:
        if self.signer.last_seq == self._saved_seq:
            return  # nothing signed since the last save
        with self.db.session() as session:
            state = session.get(SigningState, self.signer.kid)
            if state is None:
                session.add(SigningState(kid=self.signer.kid, last_seq=self.signer.last_seq))
            else:
                state.last_seq = max(state.last_seq, self.signer.last_seq)
        self._saved_seq = self.signer.last_seq

    def stop(self, drain_s: float = 5.0) -> None:
        """Stop the jobs, leave the reports' group, store what is already in the inbox (for up to ``drain_s``),
        then disconnect.

        Reports left unstored are not lost: they were never acknowledged, so the broker keeps them in this
        worker's session and hands them to the next start."""
        self.scheduler.shutdown(wait=True)
        try:
            if self.leading.is_set():
                self._save_signing_state()
        except DB_DOWN:
            logger.warning("could not save the signing sequence; the next start skips ahead anyway")
        if self.shared:
            # Leave the group first, so the broker hands new reports to the other workers (a killed worker
            # stays in it: its share waits in its session until it starts again, as systemd makes it). One
            # worker keeps its subscriptions: what comes while it is away waits in its session.
            for topic in self.reports.subscriptions():
                self.reports.unsubscribe(topic)
        deadline = time.monotonic() + drain_s
        while self._ingest_thread.is_alive() and self.inbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.inbox.unfinished_tasks:
            logger.warning("stopping with %d report(s) not stored: the broker hands them over at the next start",
                           self.inbox.unfinished_tasks)
        self._stop.set()
        self._ingest_thread.join(timeout=5)
        if self._lead_thread.is_alive():
            self._lead_thread.join(timeout=5)
        self.reports.stop()
        if self.leading.is_set():
            self.leading.clear()
            self.link.stop()
            self.leadership.release()

    # distribution ----------------------------------------------------------------------------------

    def dispatch(self) -> None:
        """Render and send every queued broadcast, emergencies first."""
        with self._dispatch_lock:
            if self._resync.is_set():
                self._resync.clear()
                try:
                    self.republish_schedules()
                except BaseException:
                    self._resync.set()  # the database failed us: the next tick republishes instead
                    raise
            with self.db.session() as session:
                queued = session.query(Broadcast.id, Broadcast.priority).filter_by(state="queued").all()
            for broadcast_id, _ in sorted(queued, key=lambda row: (-PRIORITY_RANK[row[1]], row[0])):
                self._send(broadcast_id)
            if time.monotonic() - self._housekept_at >= HOUSEKEEPING_S:
                self._housekept_at = time.monotonic()
                self._send_operator_changes()
                self._refresh_schedules()

    def _refresh_schedules(self) -> None:
        """Publish again the schedules that stored reports asked for (any worker may have stored them), each
        once it has been asked for REFRESH_AFTER_S: a device finishing several broadcasts in a burst of reports
        gets one new schedule, not one a report."""
        with self.db.session() as session:
            asked = session.query(ScheduleRefresh.device_id, ScheduleRefresh.version).limit(REFRESH_SCAN).all()
        now = time.monotonic()
        self._refresh_seen = {device_id: self._refresh_seen.get(device_id, now) for device_id, _ in asked}
        wanted = [(d, v) for d, v in asked if now - self._refresh_seen[d] >= REFRESH_AFTER_S]
        if not wanted:
            return
        with self.db.session() as session:  # fresh: it sees what the reports' workers committed
            self.publish_schedules(session, [device_id for device_id, _ in wanted])
            # A request made meanwhile has another version: it stays, for the next round.
            session.execute(delete(ScheduleRefresh).where(
                tuple_(ScheduleRefresh.device_id, ScheduleRefresh.version).in_(wanted)))
        for device_id, _ in wanted:
            del self._refresh_seen[device_id]

    def _send_operator_changes(self) -> None:
        """Stops, volumes and on/off set in the web app since the last round, in one database session."""
        with self.db.session() as session:
            # A stopped broadcast: each device's schedule now lists it as cancelled.
            for broadcast in session.query(Broadcast).filter_by(state="stopping"):
                for delivery in broadcast.deliveries:
                    if delivery.state not in FINAL_DELIVERY_STATES:
                        self.publish_schedule(session, delivery.device_id)
                broadcast.state = "stopped"
                logger.info("broadcast %d stopped", broadcast.id)
            for setting in session.query(DeviceSetting).filter(DeviceSetting.sent_at.is_(None)):
                topic = self.topics.command(setting.device_id)
                command = Command("settings", utcnow(), volume=setting.volume, enabled=setting.enabled)
                # Retained: a receiver offline now gets the latest setting when it reconnects.
                ttl = timedelta(days=self.config.signing.schedule_ttl_days)
                self.link.publish(topic, self.signer.sign(topic, command.to_dict(), ttl), qos=1, retain=True)
                setting.sent_at = utcnow()

    def _send(self, broadcast_id: int) -> None:
        with self.db.session() as session:
            # Locked (PostgreSQL) while it is rendered: even two leaders would not both send it.
            broadcast = session.get(Broadcast, broadcast_id, with_for_update={"skip_locked": True})
            if broadcast is None or broadcast.state != "queued":
                return
            if broadcast.bulletin.state != "approved":
                # Edited after it was scheduled: what the approver read is gone, so nothing airs.
                error = "the bulletin was changed after approval and awaits approval again"
                logger.error("broadcast %d not sent: %s", broadcast_id, error)
                broadcast.state, broadcast.error = "failed", error
                for delivery in broadcast.deliveries:
                    delivery.state, delivery.error, delivery.updated_at = "failed", error, utcnow()
                return
            recording = broadcast.bulletin.recording
            try:
                if recording is not None:
                    asset = self.speech.render_recording(session, recording, self.uploads,
                                                         self.config.speech.max_recording_s)
                else:
                    asset = self.speech.render(session, broadcast.bulletin.text)
            except AudioError as exc:
                logger.error("broadcast %d cannot be rendered: %s", broadcast_id, exc)
                broadcast.state, broadcast.error = "failed", str(exc)
                for delivery in broadcast.deliveries:
                    delivery.state, delivery.error, delivery.updated_at = "failed", str(exc), utcnow()
                return
            broadcast.asset_id = asset.id
            devices = [d.device_id for d in broadcast.deliveries]
            alerted = self._alert(session, broadcast, asset, devices) if broadcast.priority == "emergency" else set()
            if asset.published_at is None:
                self.publish_asset(asset.id, asset.duration_s)
                asset.published_at = utcnow()
            broadcast.state, broadcast.sent_at = "sent", utcnow()
            if alerted:
                # Their schedules follow in the next rounds (committed with the send, so a leader that
                # takes over publishes them), leaving the broker and the receivers to the alert first.
                self._ask_refresh(session, sorted(alerted))
        with self.db.session() as session:
            self.publish_schedules(session, [d for d in devices if d not in alerted])
        logger.info("broadcast %d sent to %d device(s)", broadcast_id, len(devices))

    def _alert(self, session: Session, broadcast: Broadcast, asset: Asset, devices: list[str]) -> set[str]:
        """An emergency to whole areas: to each, one alert and the audio behind it on the group's topics, which
        every receiver there holds a subscription to. Devices outside those areas (or that have not yet heard
        their groups) get it through their schedules, published next as for any broadcast. Returns the devices
        alerted."""
        entry = self._entry(broadcast, utcnow())
        groups = areas_covering(session, devices)
        if entry is None or not groups:
            return set()
        manifest = self.store.manifest(asset.id, asset.duration_s, self.chunk_size, self.config.asset_url)
        chunks = self.store.chunks(asset.id, manifest.chunk_size)
        ttl = timedelta(seconds=broadcast.grace_s + ALERT_TTL_MARGIN_S)
        for group in groups:
            topic = self.topics.alert(group)
            self.link.publish(topic, self.signer.sign(topic, Alert(group, entry, manifest).to_dict(), ttl), qos=1)
            for seq, chunk in enumerate(chunks):
                self.link.publish(self.topics.group_chunk(group, asset.id, seq), chunk, qos=1)
        logger.info("broadcast %d alerted to %s", broadcast.id, ", ".join(groups))
        return set().union(*groups.values())

    def republish_schedules(self) -> None:
        """After every (re)connection: the broker may have lost what we published, or never got it
        (queued in memory when the worker stopped). Retained schedules make this idempotent."""
        with self.db.session() as session:
            devices = [
                d for (d,) in session.query(Delivery.device_id).join(Broadcast)
                .filter(Broadcast.state.in_(("sent", "stopping", "stopped")),
                        Delivery.state.not_in(FINAL_DELIVERY_STATES)).distinct()
            ]
            self.publish_schedules(session, devices)
        if devices:
            logger.info("republished the schedules of %d device(s) after connecting", len(devices))

    def publish_asset(self, asset: str, duration_s: float, seqs: list[int] | None = None) -> None:
        """Publish chunks (all, or ``seqs``) and the manifest, retained, so late devices get them too. With
        ``asset_url`` the receivers fetch the file over HTTP(S): chunks only when asked for (``seqs``); an empty
        ``seqs`` publishes the manifest alone."""
        manifest = self.store.manifest(asset, duration_s, self.chunk_size, self.config.asset_url)
        chunks = self.store.chunks(asset, manifest.chunk_size)
        for seq in seqs if seqs is not None else ([] if self.config.asset_url else range(len(chunks))):
            if 0 <= seq < len(chunks):
                self.link.publish(self.topics.chunk(asset, seq), chunks[seq], qos=1, retain=True)
        topic = self.topics.manifest(asset)
        signed = self.signer.sign(topic, manifest.to_dict(), timedelta(days=self.config.signing.manifest_ttl_days))
        self.link.publish(topic, signed, qos=1, retain=True)

    def publish_schedule(self, session: Session, device_id: str) -> None:
        self.publish_schedules(session, [device_id])

    def publish_schedules(self, session: Session, device_ids: list[str]) -> None:
        """Each device's whole upcoming schedule, retained on its schedule topic; read, signed and published
        under one lock, so a receiver gets its schedules in the order of their sequence numbers. Read for many
        devices at once (two queries, however many): an emergency to a province is one such call."""
        with self._schedule_lock:
            for start in range(0, len(device_ids), SCHEDULE_BATCH):
                self._publish_schedules(session, device_ids[start:start + SCHEDULE_BATCH])

    def _publish_schedules(self, session: Session, device_ids: list[str]) -> None:
        now = utcnow()
        rows = (
            session.query(Delivery.device_id, Broadcast)
            .join(Broadcast, Delivery.broadcast_id == Broadcast.id)
            .options(joinedload(Broadcast.bulletin), selectinload(Broadcast.relay),
                     selectinload(Broadcast.recurrence))
            .filter(Delivery.device_id.in_(device_ids), Broadcast.state == "sent",
                    Delivery.state.not_in(FINAL_DELIVERY_STATES))
            .order_by(Broadcast.id)
            .all()
        )
        cancelled: dict[str, list[int]] = {d: [] for d in device_ids}
        for device_id, broadcast_id in (
                session.query(Delivery.device_id, Delivery.broadcast_id).join(Broadcast)
                .filter(Delivery.device_id.in_(device_ids), Broadcast.state.in_(("stopping", "stopped")),
                        Delivery.state.not_in(FINAL_DELIVERY_STATES))
                .order_by(Delivery.broadcast_id)):
            cancelled[device_id].append(broadcast_id)
        made: dict[int, ScheduleEntry | None] = {}
        entries: dict[str, list[ScheduleEntry]] = {d: [] for d in device_ids}
        for device_id, b in rows:
            if b.id not in made:
                made[b.id] = self._entry(b, now)
            entry = made[b.id]
            if entry is not None:
                entries[device_id].append(entry)
        ttl = timedelta(days=self.config.signing.schedule_ttl_days)
        groups = groups_of(session, device_ids)
        for device_id in device_ids:
            topic = self.topics.schedule(device_id)
            message = Schedule(device_id, now, entries[device_id], cancelled[device_id], groups[device_id])
            self.link.publish(topic, self.signer.sign(topic, message.to_dict(), ttl), qos=1, retain=True)

    @staticmethod
    def _entry(b: Broadcast, now: datetime) -> ScheduleEntry | None:
        """The broadcast as a schedule entry, or None when it has no audio yet or is long over."""
        if b.asset_id is None:
            return None
        entry = ScheduleEntry(b.id, b.asset_id, b.bulletin.title, b.priority, b.play_at, b.created_at,
                              b.grace_s, b.relay.url if b.relay else None, b.relay.window_s if b.relay else None,
                              repeat=b.repeat())
        if entry.repeat is not None:
            return None if entry.repeat.ends_before(now - timedelta(seconds=b.grace_s)) else entry
        return entry if entry.deadline() > now - timedelta(minutes=10) else None

    # reports from devices --------------------------------------------------------------------------

    def _ingest_loop(self) -> None:
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
                if self._store_with_retry(batch):
                    for *_, ack in batch:
                        ack()
            finally:
                for _ in batch:
                    self.inbox.task_done()

    def _store_with_retry(self, batch: list[Inbound]) -> bool:
        """Store reports (all in one transaction); while the database is unreachable, keep them and try
        again. True when they are done with (stored, or refused for good) and may be acknowledged."""
        delay = 0.5
        while not self._stop.is_set():
            try:
                self._store(batch)
                return True
            except DB_DOWN as exc:
                logger.warning("database unavailable (%s); %d report(s) kept, retrying in %.0f s",
                               exc.__class__.__name__, len(batch), delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 30.0)
            except Exception:
                if len(batch) > 1:  # one bad report must not sink the others: one at a time
                    return all([self._store_with_retry([item]) for item in batch])
                # Acknowledged all the same: a report that breaks the code would otherwise come back forever.
                logger.exception("could not store report on %s", batch[0][0])
                return True
        logger.warning("stopping with %d unstored report(s): the broker hands them over again", len(batch))
        return False

    def _ingest_with_retry(self, topic: str, payload: bytes, received_at: datetime) -> bool:
        return self._store_with_retry([(topic, payload, received_at, lambda: None)])

    def ingest(self, topic: str, payload: bytes, received_at: datetime | None = None) -> None:
        """Store one report; ``received_at`` is when the broker handed it over (for the clock check)."""
        self._store([(topic, payload, received_at or utcnow(), lambda: None)])

    def _store(self, batch: list[Inbound]) -> None:
        self._refresh.clear()
        with self.db.session() as session, session.no_autoflush:
            # No flush before each read: the batch's changes go out together at the commit (a device's row
            # once, not once per report), and reads of the same rows come from the session.
            held = self._prefetch(session, batch)  # the session keeps rows only while someone holds them
            for topic, payload, received_at, _ in batch:
                self._store_one(session, topic, payload, received_at)
            if self._refresh:
                # The leader publishes these devices' schedules again once this commits.
                self._ask_refresh(session, sorted(self._refresh))
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
            if "/evt/" in topic:
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

    @staticmethod
    def _ask_refresh(session: Session, device_ids: list[str]) -> None:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(ScheduleRefresh).values([{"device_id": d, "version": 1} for d in device_ids])
        session.execute(statement.on_conflict_do_update(
            index_elements=[ScheduleRefresh.device_id],
            set_={"version": ScheduleRefresh.version + 1}))

    def _store_one(self, session: Session, topic: str, payload: bytes, received_at: datetime) -> None:
        device_id = self.topics.device_of(topic)
        if device_id is None or not payload:
            return
        kind = topic.split("/", 3)[3]
        try:
            device = session.get(Device, device_id)
            if device is None:
                logger.warning("refused report from unknown device %r on %s", device_id, topic)
                return
            if kind == "status":
                self._on_status(device, Status.from_bytes(payload))
            elif kind == "hb":
                self._on_heartbeat(session, device, Heartbeat.from_bytes(payload), received_at)
            elif kind == "evt/delivery":
                report = DeliveryReport.from_bytes(payload)
                self._advance(session, device, report.broadcast_id, report.state, error=report.error)
            elif kind == "evt/playback":
                playback = Playback.from_bytes(payload)
                if playback.occurrence is not None:
                    self._on_occurrence(session, device, playback)
                    return
                self._advance(session, device, playback.broadcast_id, playback.state, playback.error,
                              playback.started_at, playback.finished_at)
            elif kind == "req":
                self._on_request(session, device, ChunkRequest.from_bytes(payload))
            elif kind == "evt/refused":
                refused = Refused.from_bytes(payload)
                logger.error("device %s refused a message on %s: %s (%s)", device.id, refused.topic,
                             refused.reason, refused.detail)
                session.add(RefusalRecord(device_id=device.id, topic=refused.topic, reason=refused.reason,
                                          detail=refused.detail, reported_at=refused.ts))
                raise_alarm(session, device.id, "refused", f"refused a message on {refused.topic}: "
                                                           f"{refused.reason}", ref=refused.reason)
            else:
                logger.warning("ignored report on unknown topic %s", topic)
        except ProtocolError as exc:
            logger.warning("refused malformed %s from %s: %s", kind, device_id, exc)

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

    def _advance(self, session: Session, device: Device, broadcast_id: int, state: str, error: str | None,
                 started_at: datetime | None = None, finished_at: datetime | None = None) -> None:
        row = session.get(Delivery, (broadcast_id, device.id))
        if row is None:
            logger.warning("device %s reported on broadcast %d it was not sent", device.id, broadcast_id)
            return
        device.last_seen = utcnow()
        overriding_guess = row.state in ("missed", "cancelled") and row.error == NO_REPORT
        if STATE_RANK[state] <= STATE_RANK[row.state] and not overriding_guess:
            return  # never move backwards (reports on two topics may arrive out of order)
        row.state, row.error, row.updated_at = state, error, utcnow()
        row.started_at = started_at or row.started_at
        row.finished_at = finished_at or row.finished_at
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
        elif STATE_RANK[playback.state] <= STATE_RANK[row.state]:
            return
        row.state, row.error, row.updated_at = playback.state, playback.error, utcnow()
        row.started_at = playback.started_at or row.started_at
        row.finished_at = playback.finished_at or row.finished_at

    def _on_request(self, session: Session, device: Device, request: ChunkRequest) -> None:
        asset = session.get(Asset, request.asset)
        if asset is None or not self.store.path(asset.id).exists():
            logger.warning("device %s asked for unknown asset %s", device.id, request.asset[:12])
            return
        now = time.monotonic()
        wanted = request.seqs or ([] if self.config.asset_url else list(range(-(-asset.size // self.chunk_size))))
        fresh = [s for s in [MANIFEST_KEY, *wanted]
                 if now - self._republished.get((asset.id, s), 0.0) > REPUBLISH_GAP_S]
        if not fresh:
            return  # every chunk asked for (an empty list: all of them) went out less than 2 s ago
        for seq in fresh:
            self._republished[(asset.id, seq)] = now
        chunks = [s for s in fresh if s != MANIFEST_KEY]
        logger.info("device %s asked again for %s: publishing the manifest and %d chunk(s)", device.id,
                    asset.id[:12], len(chunks))
        self.publish_asset(asset.id, asset.duration_s, chunks)

    # housekeeping ----------------------------------------------------------------------------------

    def sweep(self) -> None:
        """Mark silent devices offline and deliveries nobody reported on as missed.

        Both are conditional UPDATEs, so a report stored meanwhile by the ingest thread is never overwritten.
        """
        now = utcnow()
        self._save_signing_state()
        with self.db.session() as session:
            cutoff = now - timedelta(seconds=self.config.offline_after_s)
            silent = session.execute(
                update(Device).where(Device.online.is_(True), Device.last_seen < cutoff).values(online=False)
            )
            if silent.rowcount:  # type: ignore[attr-defined]
                logger.warning("%d device(s) silent for %d s: offline", silent.rowcount,  # type: ignore[attr-defined]
                               self.config.offline_after_s)
            quiet = now - timedelta(seconds=self.config.inactivity_alarm_s)
            for device in session.query(Device).filter(
                    or_(Device.last_seen < quiet, and_(Device.last_seen.is_(None), Device.created_at < quiet))):
                since = f"since {device.last_seen:%Y-%m-%d %H:%M} UTC" if device.last_seen else "ever"
                raise_alarm(session, device.id, "offline", f"no word from {device.name} {since}")
            open_rows = (
                session.query(Delivery.broadcast_id, Delivery.device_id, Delivery.state, Broadcast.play_at,
                              Broadcast.created_at, Broadcast.grace_s, Broadcast.state, Recurrence.rule)
                .select_from(Delivery)
                .join(Broadcast, Delivery.broadcast_id == Broadcast.id)
                .outerjoin(Recurrence, Recurrence.broadcast_id == Broadcast.id)
                .filter(Broadcast.state.in_(("sent", "stopped")), Delivery.state.in_(("pending", "delivered")))
                .all()
            )
            for broadcast_id, device_id, reached, play_at, created_at, grace_s, state, rule in open_rows:
                late = now - timedelta(seconds=grace_s + 60)
                error: str | None = NO_REPORT
                if rule is not None and state == "sent":
                    if not Repeat.from_dict(json.loads(rule)).ends_before(late):
                        continue
                    # Past its last day. Each occurrence has its own report; the broadcast is over here.
                    guess, error = ("ended", None) if reached == "delivered" else ("missed", NO_REPORT)
                elif (play_at or created_at) < late:
                    # A stopped broadcast that the device never reported on did not play: cancelled.
                    guess = "missed" if state == "sent" else "cancelled"
                else:
                    continue
                session.execute(
                    update(Delivery)
                    .where(Delivery.broadcast_id == broadcast_id, Delivery.device_id == device_id,
                           Delivery.state.in_(("pending", "delivered")))
                    .values(state=guess, error=error, updated_at=now)
                )
