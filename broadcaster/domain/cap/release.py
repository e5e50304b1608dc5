"""Releasing a held alert: an officer airs it (held for approval), with the Vietnamese text they wrote when it
came without one (held for language). It is judged again at release: an alert that has expired meanwhile, or
that its issuer cancelled, does not air."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from broadcaster.db import CapAlert, Device, User, utcnow
from broadcaster.domain import airtime
from broadcaster.domain.access import require
from broadcaster.domain.bulletins import MAX_TEXT
from broadcaster.domain.cap.importer import EMERGENCY_EVERY_MIN, EMERGENCY_PLAYS, LATE, ImportSettings
from broadcaster.domain.cap.language import clean
from broadcaster.domain.cap.records import mark_released, recording_bulletin, stop_references, visible_alert
from broadcaster.domain.emergency import Sent, air, approved_bulletin
from broadcaster.domain.errors import Refusal


def release_alert(session: Session, user: User, alert_id: int, data: dict[str, Any], settings: ImportSettings
                  ) -> tuple[CapAlert, list[Sent], list[int]]:
    """Air a held alert: ``{}`` for one held for approval; ``{"text": "..."}`` (the Vietnamese announcement an
    officer wrote) for one held for want of a Vietnamese text. Returns the record, what aired and what it
    stopped (the alerts it updates)."""
    require(user, "emergency")
    record = visible_alert(session, user, alert_id)
    if record.outcome != "held":
        raise Refusal("not_held", f"alert {alert_id} is {record.outcome}, not held", status=409)
    now = settings.now or utcnow()
    if record.expires is not None and record.expires <= now:
        raise Refusal("expired", "the alert has expired since it was held: it no longer airs", status=409)
    written = data.get("text")
    if written is not None and (not isinstance(written, str) or len(written) > MAX_TEXT or "\x00" in written):
        raise Refusal("invalid_text", "'text' must be the Vietnamese text to read", field="text")
    parts = json.loads(record.report or "{}").get("parts", [])
    if any(p.get("source") == "held" for p in parts) and not (written or "").strip():
        raise Refusal("missing_field", "this alert came without a Vietnamese text: write the text to read",
                      field="text")
    sent, zone = [], ZoneInfo(settings.timezone)
    for part in parts:
        text = clean(written) if written and written.strip() else part.get("text", "")
        if part.get("recording") and not (written and written.strip()):
            bulletin = recording_bulletin(session, user, part.get("title") or "", part.get("language", "vi"),
                                          part["recording"], float(part.get("recording_s") or 0), part["priority"],
                                          now)
        else:
            bulletin = approved_bulletin(session, user, part.get("title") or "Cảnh báo", text, part["priority"], now)
        play_at = None
        if part["priority"] != "emergency":
            devices = session.query(Device).filter(Device.id.in_(part["devices"])).all()
            allowed = airtime.next_allowed(session, devices, now, airtime.estimate_s(bulletin), zone)
            play_at = allowed if allowed is not None and allowed > now + LATE else None
        count = EMERGENCY_PLAYS if part["priority"] == "emergency" else 1
        sent.append(air(session, user, bulletin, part["devices"], count, EMERGENCY_EVERY_MIN, settings.grace_s,
                        settings.timezone, part["priority"], now=now, play_at=play_at))
    mine = {b.id for s in sent for b in s.broadcasts}
    references = [(r[0], r[1]) for r in json.loads(record.referenced or "[]")]
    stopped, _ = stop_references(session, user, references, mine)
    mark_released(session, user, record, sent[0].bulletin.id if sent else None, sorted(mine), stopped)
    return record, sent, stopped
