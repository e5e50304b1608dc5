"""The leader's dispatch: queued broadcasts rendered and sent, emergencies first; operators' stops and settings
passed on; the schedules that stored reports asked for published again."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import delete, tuple_

from broadcaster.assets import AssetStore
from broadcaster.config import ServerConfig
from broadcaster.database import Database
from broadcaster.db import Broadcast, Delivery, DeviceSetting, ScheduleRefresh, utcnow
from broadcaster.delivery.publisher import Publisher, ask_refresh
from broadcaster.domain.lifecycle import FINAL_DELIVERY_STATES
from broadcaster.domain.voices import reading_of
from broadcaster.ops import metrics
from broadcaster.speech.audio import AudioError
from broadcaster.speech.render import Speech
from edge_agent.protocol.fields import PRIORITY_RANK

logger = logging.getLogger(__name__)

REFRESH_SCAN = 5000
"""Schedule refreshes looked at in one round."""
REFRESH_AFTER_S = 1.0
"""How long a requested schedule refresh waits, so that the reports of one burst make one republish."""


class Dispatcher:
    def __init__(self, config: ServerConfig, db: Database, publisher: Publisher) -> None:
        self.config, self.db, self.publisher = config, db, publisher
        self.speech = Speech(config.speech, publisher.store)
        self.uploads = AssetStore(config.upload_dir, suffix="")
        self.lock = threading.Lock()
        """Held while a dispatch runs: a worker that steps down waits for it to finish."""
        self.resync = threading.Event()
        """Set when the leader's link (re)connects: every open schedule is published again."""
        self._refresh_seen: dict[str, float] = {}
        """When this leader first saw each device's pending schedule refresh."""

    def dispatch(self) -> None:
        """Render and send every queued broadcast, emergencies first."""
        with self.lock:
            if self.resync.is_set():
                self.resync.clear()
                try:
                    self.publisher.republish_schedules()
                except BaseException:
                    self.resync.set()  # the database failed us: the next tick republishes instead
                    raise
            with self.db.session() as session:
                queued = session.query(Broadcast.id, Broadcast.priority).filter_by(state="queued").all()
            for broadcast_id, _ in sorted(queued, key=lambda row: (-PRIORITY_RANK[row[1]], row[0])):
                self.send(broadcast_id)
            # Then, every round (woken, or the polling tick), what operators changed and reports asked for.
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
            self.publisher.publish_schedules(session, [device_id for device_id, _ in wanted])
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
                        self.publisher.publish_schedule(session, delivery.device_id)
                broadcast.state = "stopped"
                logger.info("broadcast %d stopped", broadcast.id)
            for setting in session.query(DeviceSetting).filter(DeviceSetting.sent_at.is_(None)):
                self.publisher.publish_setting(setting)

    def send(self, broadcast_id: int) -> None:
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
            rendering = time.monotonic()
            try:
                if recording is not None:
                    asset = self.speech.render_recording(session, recording, self.uploads,
                                                         self.config.speech.max_recording_s)
                else:
                    voice, speed = reading_of(session, broadcast.bulletin)
                    asset = self.speech.render(session, broadcast.bulletin.text, voice, speed)
            except AudioError as exc:
                logger.error("broadcast %d cannot be rendered: %s", broadcast_id, exc)
                broadcast.state, broadcast.error = "failed", str(exc)
                for delivery in broadcast.deliveries:
                    delivery.state, delivery.error, delivery.updated_at = "failed", str(exc), utcnow()
                return
            metrics.RENDER.observe(time.monotonic() - rendering)
            broadcast.asset_id = asset.id
            # The clusters' ids alone: an emergency to a thousand is on the wire sooner without building a thousand
            # delivery objects first.
            devices = [d for (d,) in session.query(Delivery.device_id).filter(Delivery.broadcast_id == broadcast.id)
                       .order_by(Delivery.device_id)]
            with metrics.PUBLISH.labels("alert").time():
                alerted = (self.publisher.alert(session, broadcast, asset, devices)
                           if broadcast.priority == "emergency" else set())
            if asset.published_at is None:
                with metrics.PUBLISH.labels("asset").time():
                    self.publisher.publish_asset(asset.id, asset.duration_s)
                asset.published_at = utcnow()
            broadcast.state, broadcast.sent_at = "sent", utcnow()
            metrics.DISPATCH.labels(broadcast.priority).observe((broadcast.sent_at - broadcast.created_at)
                                                                .total_seconds())
            if alerted:
                # Their schedules follow in the next rounds (committed with the send, so a leader that
                # takes over publishes them), leaving the broker and the receivers to the alert first.
                ask_refresh(session, sorted(alerted))
        with self.db.session() as session, metrics.PUBLISH.labels("schedules").time():
            self.publisher.publish_schedules(session, [d for d in devices if d not in alerted])
        logger.info("broadcast %d sent to %d device(s)", broadcast_id, len(devices))
