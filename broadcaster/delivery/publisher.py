"""What the leading worker sends to the receivers, signed: audio (manifests and chunks), each device's schedule,
emergency alerts to whole areas, and the operators' settings. It owns the signing key's sequence and the lock
that keeps one device's schedules in signing order."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload, selectinload

from broadcaster.assets import AssetStore
from broadcaster.config import ServerConfig
from broadcaster.database import Database
from broadcaster.db import Asset, Broadcast, Delivery, DeviceSetting, ScheduleRefresh, SigningState, utcnow
from broadcaster.domain.areas import areas_covering, groups_of
from broadcaster.domain.lifecycle import FINAL_DELIVERY_STATES
from edge_agent.link import Link
from edge_agent.protocol import Alert, Command, Schedule, ScheduleEntry, Topics

logger = logging.getLogger(__name__)

SEQ_SAVE_MARGIN = 3_600_000_000
"""An hour of signing sequence numbers (microseconds) skipped at start, past any issued since the last save."""
SCHEDULE_BATCH = 500
"""Devices whose schedules are read in one query."""
ALERT_TTL_MARGIN_S = 900
"""An alert's signature outlives the entry's grace by this (a receiver's clock may be a few minutes off)."""


def ask_refresh(session: Session, device_ids: list[str]) -> None:
    """Have the leader publish these devices' schedules again once this session commits (any worker may ask;
    only the leader signs)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ScheduleRefresh).values([{"device_id": d, "version": 1} for d in device_ids])
    session.execute(statement.on_conflict_do_update(
        index_elements=[ScheduleRefresh.device_id],
        set_={"version": ScheduleRefresh.version + 1}))


def schedule_entry(b: Broadcast, now: datetime) -> ScheduleEntry | None:
    """The broadcast as a schedule entry, or None when it has no audio yet or is long over."""
    if b.asset_id is None:
        return None
    entry = ScheduleEntry(b.id, b.asset_id, b.bulletin.title, b.priority, b.play_at, b.created_at,
                          b.grace_s, b.relay.url if b.relay else None, b.relay.window_s if b.relay else None,
                          repeat=b.repeat())
    if entry.repeat is not None:
        return None if entry.repeat.ends_before(now - timedelta(seconds=b.grace_s)) else entry
    return entry if entry.deadline() > now - timedelta(minutes=10) else None


class Publisher:
    """Signs and publishes on the leader's link (``link``, replaced whenever the worker takes the lead)."""

    def __init__(self, config: ServerConfig, db: Database, link: Link) -> None:
        self.config, self.db, self.link = config, db, link
        self.topics = Topics(config.mqtt.topic_root)
        self.store = AssetStore(config.asset_dir)
        self.signer = config.signer()
        self.chunk_size = config.mqtt.chunk_kib * 1024
        self._saved_seq = -1
        self._schedule_lock = threading.Lock()
        """Held from reading a device's schedule to publishing it: two threads (dispatch, ingest) publish
        schedules, and one signed later but published earlier would make the receiver refuse the other as a
        replay, and miss what only that one carried."""

    # the signing sequence ----------------------------------------------------------------------------

    def resume_signing(self, session: Session) -> None:
        """On taking the lead: sign past every number the leaders before issued. Up to one sweep's worth may
        have been issued after the last save (by this worker or the leader before it): skip past them."""
        state = session.get(SigningState, self.signer.kid)
        if state is not None:
            self.signer.raise_floor(state.last_seq + SEQ_SAVE_MARGIN)

    def save_signing_state(self) -> None:
        if self.signer.last_seq == self._saved_seq:
            return  # nothing signed since the last save
        with self.db.session() as session:
            state = session.get(SigningState, self.signer.kid)
            if state is None:
                session.add(SigningState(kid=self.signer.kid, last_seq=self.signer.last_seq))
            else:
                state.last_seq = max(state.last_seq, self.signer.last_seq)
        self._saved_seq = self.signer.last_seq

    # audio -------------------------------------------------------------------------------------------

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

    def alert(self, session: Session, broadcast: Broadcast, asset: Asset, devices: list[str]) -> set[str]:
        """An emergency to whole areas: to each, one alert and the audio behind it on the group's topics, which
        every receiver there holds a subscription to. Devices outside those areas (or that have not yet heard
        their groups) get it through their schedules, published next as for any broadcast. Returns the devices
        alerted."""
        entry = schedule_entry(broadcast, utcnow())
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

    # schedules and settings --------------------------------------------------------------------------

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
                made[b.id] = schedule_entry(b, now)
            entry = made[b.id]
            if entry is not None:
                entries[device_id].append(entry)
        ttl = timedelta(days=self.config.signing.schedule_ttl_days)
        groups = groups_of(session, device_ids)
        for device_id in device_ids:
            topic = self.topics.schedule(device_id)
            message = Schedule(device_id, now, entries[device_id], cancelled[device_id], groups[device_id])
            self.link.publish(topic, self.signer.sign(topic, message.to_dict(), ttl), qos=1, retain=True)

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

    def publish_setting(self, setting: DeviceSetting) -> None:
        """A device's volume and on/off, whole, retained: a receiver offline now gets the latest when it
        reconnects."""
        topic = self.topics.command(setting.device_id)
        command = Command("settings", utcnow(), volume=setting.volume, enabled=setting.enabled)
        ttl = timedelta(days=self.config.signing.schedule_ttl_days)
        self.link.publish(topic, self.signer.sign(topic, command.to_dict(), ttl), qos=1, retain=True)
        setting.sent_at = utcnow()
