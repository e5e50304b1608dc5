"""Alarms for operators: raised once while a condition lasts (one open alarm per device, kind and reference),
cleared when it ends or when an operator acknowledges it."""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.orm import Session

from broadcaster.db import Alarm, utcnow

logger = logging.getLogger(__name__)


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
