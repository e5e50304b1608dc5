"""The alerts received, as the operators see them: listed, looked up by reference, stopped by an Update or a
Cancel, and a held alert released (aired) by an officer, with the Vietnamese text written for it if needed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from broadcaster.db import Broadcast, Bulletin, CapAlert, Device, Recording, User, utcnow
from broadcaster.domain.access import Denied, audit, home_area, require, scope_of
from broadcaster.domain.broadcasts import stop_broadcast
from broadcaster.domain.cap.parse import Alert
from broadcaster.domain.errors import Refusal


@dataclass
class Part:
    """What one ``<info>`` of an alert airs: to which clusters, at which priority, saying what."""

    language: str
    priority: str
    title: str
    text: str
    source: str
    """vietnamese (its text read), recording (its audio), built (a Vietnamese announcement), held (to write)."""
    devices: list[str]
    areas: str
    """Our names of the areas it reaches, for the announcement and the page."""
    play_at: datetime | None = None
    expires: datetime | None = None
    bulletin_id: int | None = None
    broadcast_ids: list[int] = field(default_factory=list)
    recording: str | None = None
    """The SHA-256 of its audio resource in the uploads store, when that airs instead of the text."""
    recording_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {"language": self.language, "priority": self.priority, "title": self.title, "text": self.text,
                "source": self.source, "devices": self.devices, "areas": self.areas,
                "play_at": self.play_at.isoformat() if self.play_at else None,
                "expires": self.expires.isoformat() if self.expires else None,
                "bulletin_id": self.bulletin_id, "broadcast_ids": self.broadcast_ids,
                "recording": self.recording, "recording_s": self.recording_s}


def recording_bulletin(session: Session, user: User, title: str, language: str, sha256: str, duration_s: float,
                       priority: str, now: datetime) -> Bulletin:
    """The approved bulletin of an alert's audio resource (kept in the uploads store by its SHA-256): it airs as
    an uploaded recording does, with the chime and the loudness of every recording."""
    bulletin = Bulletin(title=title[:200] or "Cảnh báo", text="", state="approved", created_by=user.id,
                        created_at=now, approved_by=user.id, approved_at=now, submitted_at=now,
                        area_id=home_area(user),
                        review_comment=f"{priority}: CAP alert's recording, sent without separate approval")
    session.add(bulletin)
    session.flush()
    session.add(Recording(bulletin_id=bulletin.id, language=language[:40], source_sha256=sha256,
                          filename="cap-resource", duration_s=duration_s))
    session.flush()
    session.refresh(bulletin)
    return bulletin


def find_record(session: Session, sender: str, identifier: str) -> CapAlert | None:
    """The alert received from ``sender`` with ``identifier``; by identifier alone when the sender was written
    differently in a reference and only one alert has that identifier."""
    found = session.query(CapAlert).filter_by(sender=sender[:200], identifier=identifier[:200]).one_or_none()
    if found is None:
        same = session.query(CapAlert).filter_by(identifier=identifier[:200]).limit(2).all()
        found = same[0] if len(same) == 1 else None
    return found


def references_of(alert: Alert) -> list[tuple[str, str]]:
    return [(r.sender, r.identifier) for r in alert.references]


def stop_references(session: Session, user: User, references: list[tuple[str, str]], keep: set[int]
                    ) -> tuple[list[int], list[str]]:
    """Stop what the alerts ``references`` (sender, identifier) still have to play (a held one is cancelled);
    what could not be stopped (another user's areas) is said, not hidden."""
    stopped: list[int] = []
    problems: list[str] = []
    for sender, identifier in references:
        earlier = find_record(session, sender, identifier)
        if earlier is None:
            continue
        if earlier.outcome == "held":
            earlier.outcome, earlier.reason = "cancelled", "cancel"
            continue
        for broadcast_id in json.loads(earlier.broadcast_ids or "[]"):
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast_id in keep or broadcast is None or broadcast.state not in ("queued", "sent"):
                continue
            try:
                stop_broadcast(session, user, broadcast_id)
            except (Refusal, Denied) as exc:
                problems.append(f"broadcast {broadcast_id} not stopped: {exc.message}")
                continue
            stopped.append(broadcast_id)
    return stopped, problems


def visible(session: Session, user: User, record: CapAlert) -> bool:
    scope = scope_of(session, user)
    if scope.everywhere or record.received_by == user.id:
        return True
    devices = json.loads(record.targets or "[]")
    return bool(devices) and all(scope.has_device(d) for d in session.query(Device).filter(Device.id.in_(devices)))


def list_alerts(session: Session, user: User, limit: int = 50) -> list[CapAlert]:
    """The newest alerts the user may see (those they imported, or whose clusters are all theirs)."""
    require(user, "view")
    rows = session.query(CapAlert).order_by(CapAlert.received_at.desc(), CapAlert.id.desc()).limit(limit * 4)
    return [r for r in rows if visible(session, user, r)][:limit]


def visible_alert(session: Session, user: User, alert_id: int) -> CapAlert:
    require(user, "view")
    record = session.get(CapAlert, alert_id)
    if record is None or not visible(session, user, record):
        raise Refusal("not_found", f"alert {alert_id} does not exist", status=404)
    return record


def alert_json(record: CapAlert) -> dict[str, Any]:
    report = json.loads(record.report or "{}")

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {"id": record.id, "identifier": record.identifier, "sender": record.sender, "sent": iso(record.sent),
            "status": record.status, "msg_type": record.msg_type, "scope": record.scope, "event": record.event,
            "outcome": record.outcome, "reason": record.reason, "detail": report.get("detail", ""),
            "priority": record.priority, "expires": iso(record.expires), "play_at": iso(record.play_at),
            "parts": report.get("parts", []), "matched": report.get("matched", []),
            "unmatched": report.get("unmatched", []), "ambiguous": report.get("ambiguous", []),
            "warnings": report.get("warnings", []), "stopped": report.get("stopped", []),
            "original_text": record.original_text, "bulletin_id": record.bulletin_id,
            "broadcast_ids": json.loads(record.broadcast_ids or "[]"), "signed_by": record.signed_by,
            "feed_id": record.feed_id, "received_at": iso(record.received_at)}


def held_parts(record: CapAlert) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = json.loads(record.report or "{}").get("parts", [])
    return parts


def mark_released(session: Session, user: User, record: CapAlert, bulletin_id: int | None, broadcast_ids: list[int],
                  stopped: list[int]) -> None:
    report = json.loads(record.report or "{}")
    report["stopped"] = sorted(set(report.get("stopped", [])) | set(stopped))
    record.report = json.dumps(report, ensure_ascii=False)
    record.outcome, record.bulletin_id = "released", bulletin_id
    record.broadcast_ids = json.dumps(broadcast_ids)
    audit(session, user, "cap.released", f"{record.sender[:80]} {record.identifier[:100]}",
          f"broadcasts {broadcast_ids}; stopped {stopped}; at {utcnow():%Y-%m-%d %H:%M}")
