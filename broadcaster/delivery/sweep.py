"""The leader's sweep, every few seconds: devices silent too long marked offline (and an alarm once they have
been quiet long enough), and deliveries nobody reported on by their deadline given the guess they earned."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import and_, or_, update

from broadcaster.config import ServerConfig
from broadcaster.database import Database
from broadcaster.db import Broadcast, Delivery, Device, Recurrence, utcnow
from broadcaster.domain.alarms import raise_alarm
from broadcaster.domain.lifecycle import NO_REPORT
from edge_agent.protocol import Repeat

logger = logging.getLogger(__name__)


def sweep(config: ServerConfig, db: Database) -> None:
    """Mark silent devices offline and deliveries nobody reported on as missed.

    Both are conditional UPDATEs, so a report stored meanwhile by the ingest thread is never overwritten.
    """
    now = utcnow()
    with db.session() as session:
        cutoff = now - timedelta(seconds=config.offline_after_s)
        silent = session.execute(
            update(Device).where(Device.online.is_(True), Device.last_seen < cutoff).values(online=False)
        )
        if silent.rowcount:  # type: ignore[attr-defined]
            logger.warning("%d device(s) silent for %d s: offline", silent.rowcount,  # type: ignore[attr-defined]
                           config.offline_after_s)
        quiet = now - timedelta(seconds=config.inactivity_alarm_s)
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
