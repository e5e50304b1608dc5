"""Emergencies: one action that goes out at once at emergency priority, repeated as asked, and CAP 1.2
alerts from a warning centre turned into the same.

An emergency needs no separate approval: the leader or operator who sends it is accountable for it, and the
audit log says who. It overrides the air-time rules (a storm at 3 a.m. is announced at 3 a.m.).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from importlib import resources
from typing import Any
from xml.etree import ElementTree

from sqlalchemy.orm import Session

from broadcaster.db import Area, Broadcast, Bulletin, CapAlert, User, utcnow
from broadcaster.domain.access import audit, home_area, require, scope_of
from broadcaster.domain.broadcasts import create_broadcast, stop_broadcast
from broadcaster.domain.bulletins import MAX_TEXT, MAX_TITLE
from broadcaster.domain.errors import Refusal, text_field

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
MAX_REPEATS = 10
MAX_CAP_BYTES = 512 * 1024


@lru_cache(maxsize=1)
def templates() -> dict[str, dict[str, str]]:
    """Ready messages by name (storm, flood, fire, epidemic): ``{"label", "text"}``."""
    data = resources.files("broadcaster").joinpath("data/emergency_templates.json").read_text(encoding="utf-8")
    loaded: dict[str, dict[str, str]] = json.loads(data)
    return loaded


@dataclass
class Sent:
    bulletin: Bulletin
    broadcasts: list[Broadcast]


def send_emergency(session: Session, user: User, data: dict[str, Any], grace_s: int, timezone: str) -> Sent:
    """``{"targets": ["all"], "text": "..."}`` or ``{"template": "storm"}``, optionally ``"title"``,
    ``"repeat_count"`` (1-10 plays in all) and ``"repeat_every_min"`` (1-120)."""
    require(user, "emergency")
    template = data.get("template")
    if template is not None:
        # A name, looked up: anything but text (an object, a list) is refused, not hashed into the lookup.
        if not isinstance(template, str) or template not in templates():
            raise Refusal("unknown_template", f"'template' must be one of {', '.join(templates())}",
                          field="template")
        text = _optional_text(data, "text") or templates()[template]["text"]
        title = _optional_text(data, "title") or f"Khẩn cấp: {templates()[template]['label']}"
    else:
        text = text_field(data, "text", MAX_TEXT)
        title = _optional_text(data, "title") or "Khẩn cấp"
    count, every = data.get("repeat_count", 1), data.get("repeat_every_min", 10)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_REPEATS:
        raise Refusal("invalid_repeat", f"'repeat_count' must be 1 to {MAX_REPEATS}", field="repeat_count")
    if not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= 120:
        raise Refusal("invalid_repeat", "'repeat_every_min' must be 1 to 120 minutes", field="repeat_every_min")
    return _air(session, user, title[:MAX_TITLE], text, data.get("targets", ["all"]), count, every, grace_s,
                timezone, "emergency")


def _optional_text(data: dict[str, Any], name: str) -> str | None:
    """A text field that may be left out (absent, null or empty: ``None``); anything but text is refused, never
    turned into text (an object would otherwise air as its Python spelling)."""
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Refusal("invalid_type", f"'{name}' must be text (or left out)", field=name)
    if "\x00" in value:
        raise Refusal("invalid_text", f"'{name}' contains a NUL character", field=name)
    return value.strip() or None


def _air(session: Session, user: User, title: str, text: str, targets: Any, count: int, every: int, grace_s: int,
         timezone: str, priority: str) -> Sent:
    now = utcnow()
    bulletin = Bulletin(title=title, text=text_field({"text": text}, "text", MAX_TEXT), state="approved",
                        created_by=user.id, created_at=now, approved_by=user.id, approved_at=now,
                        submitted_at=now, area_id=home_area(user),
                        review_comment=f"{priority}: sent without separate approval")
    session.add(bulletin)
    session.flush()
    broadcasts = []
    for n in range(count):
        play_at = None if n == 0 else (now + timedelta(minutes=every * n)).isoformat()
        broadcasts.append(create_broadcast(session, user, {"bulletin_id": bulletin.id, "targets": targets,
                                                           "priority": priority, "play_at": play_at},
                                           grace_s, timezone))
    audit(session, user, "emergency.send", f"bulletin {bulletin.id}",
          f"{title}; {count} play(s) every {every} min; broadcasts {[b.id for b in broadcasts]}")
    return Sent(bulletin, broadcasts)


@dataclass
class CapResult:
    identifier: str
    aired: bool
    reason: str
    sent: Sent | None = None
    stopped: list[int] | None = None


def import_cap(session: Session, user: User, payload: bytes, grace_s: int, timezone: str) -> CapResult:
    """A CAP 1.2 alert. ``status`` Actual airs (Exercise, Test, System and Draft are recorded, never
    aired); ``msgType`` Alert and Update air (an Update stops the alerts it references), Cancel stops them;
    ``urgency`` Immediate or Expected airs at emergency priority, Future at priority (inside the air-time
    rules), Past and Unknown do not air; ``areaDesc`` names our areas (one per line or separated by ';')."""
    require(user, "emergency")
    alert = _parse(payload)
    identifier = _text(alert, "identifier", required=True)
    sender, status, kind = _text(alert, "sender"), _text(alert, "status", required=True), _text(alert, "msgType",
                                                                                                  required=True)
    if session.get(CapAlert, identifier) is not None:
        return CapResult(identifier, False, "already received (alerts are idempotent by identifier)")
    record = CapAlert(identifier=identifier, sender=sender[:200], status=status, msg_type=kind,
                      received_by=user.id, broadcast_ids="[]")
    session.add(record)
    referenced = _referenced(alert)
    if status != "Actual":
        audit(session, user, "cap.ignored", identifier, f"status {status}")
        return CapResult(identifier, False, f"status {status}: recorded, not aired")
    stopped: list[int] = []
    if kind in ("Update", "Cancel"):
        for ref in referenced:
            earlier = session.get(CapAlert, ref)
            for broadcast_id in json.loads(earlier.broadcast_ids) if earlier else []:
                broadcast = session.get(Broadcast, broadcast_id)
                if broadcast is not None and broadcast.state in ("queued", "sent"):
                    stop_broadcast(session, user, broadcast_id)
                    stopped.append(broadcast_id)
    if kind == "Cancel":
        audit(session, user, "cap.cancel", identifier, f"stopped {stopped}")
        return CapResult(identifier, False, "cancel: the referenced alerts were stopped", stopped=stopped)
    if kind not in ("Alert", "Update"):
        return CapResult(identifier, False, f"msgType {kind}: nothing to air")
    info = _info(alert)
    urgency = _text(info, "urgency", required=True)
    if urgency not in ("Immediate", "Expected", "Future"):
        audit(session, user, "cap.ignored", identifier, f"urgency {urgency}")
        return CapResult(identifier, False, f"urgency {urgency}: not aired", stopped=stopped)
    priority = "emergency" if urgency in ("Immediate", "Expected") else "priority"
    targets = _targets(session, user, info)
    headline, event = _text(info, "headline"), _text(info, "event")
    parts = [p for p in (headline or event, _text(info, "description"), _text(info, "instruction")) if p]
    if not parts:
        raise Refusal("invalid_cap", "the alert's info has no headline, event, description or instruction")
    text = ("Khẩn cấp! " if priority == "emergency" else "") + " ".join(parts)
    sent = _air(session, user, (headline or event or "Cảnh báo")[:MAX_TITLE], text[:MAX_TEXT], targets,
                2 if priority == "emergency" else 1, 10, grace_s, timezone, priority)
    record.broadcast_ids = json.dumps([b.id for b in sent.broadcasts])
    record.bulletin_id = sent.bulletin.id
    audit(session, user, "cap.air", identifier, f"{kind} {urgency} -> {priority}, broadcasts "
                                                f"{[b.id for b in sent.broadcasts]}")
    return CapResult(identifier, True, f"aired at {priority} priority", sent=sent, stopped=stopped)


def _parse(payload: bytes) -> ElementTree.Element:
    if len(payload) > MAX_CAP_BYTES:
        raise Refusal("request_entity_too_large", "a CAP alert may be at most 512 KiB", status=413)
    if b"<!DOCTYPE" in payload.upper() or b"<!ENTITY" in payload.upper():
        raise Refusal("invalid_cap", "CAP alerts carry no DOCTYPE or entities")
    try:
        root = ElementTree.fromstring(payload)
    except ElementTree.ParseError as exc:
        raise Refusal("invalid_cap", f"not well-formed XML: {exc}") from None
    if root.tag != f"{{{CAP_NS}}}alert":
        raise Refusal("invalid_cap", f"the document is not a CAP 1.2 <alert> ({CAP_NS})")
    return root


def _text(element: ElementTree.Element, name: str, required: bool = False) -> str:
    found = element.find(f"{{{CAP_NS}}}{name}")
    value = (found.text or "").strip() if found is not None else ""
    if required and not value:
        raise Refusal("invalid_cap", f"the alert has no <{name}>")
    return value


def _referenced(alert: ElementTree.Element) -> list[str]:
    """Identifiers in <references>: "sender,identifier,sent" triples separated by spaces."""
    return [triple.split(",")[1] for triple in _text(alert, "references").split() if triple.count(",") == 2]


def _info(alert: ElementTree.Element) -> ElementTree.Element:
    blocks = alert.findall(f"{{{CAP_NS}}}info")
    if not blocks:
        raise Refusal("invalid_cap", "the alert has no <info>")
    for block in blocks:
        if _text(block, "language").lower().startswith("vi"):
            return block
    return blocks[0]


def _targets(session: Session, user: User, info: ElementTree.Element) -> list[str]:
    names: list[str] = []
    for block in info.findall(f"{{{CAP_NS}}}area"):
        desc = _text(block, "areaDesc")
        names += [n.strip() for chunk in desc.splitlines() for n in chunk.split(";") if n.strip()]
    if not names:
        raise Refusal("invalid_cap", "the alert names no area (<area><areaDesc>)")
    by_name: dict[str, list[Area]] = {}
    for place in session.query(Area):
        by_name.setdefault(place.name.casefold(), []).append(place)
    matched = [a for name in names for a in by_name.get(name.casefold(), [])]
    if not matched:
        raise Refusal("unknown_area", f"no area here is called {', '.join(names[:5])}")
    scope = scope_of(session, user)
    inside = [a for a in matched if scope.has_area(a.id)]
    if not inside:
        raise Refusal("out_of_scope", "the alert's areas are outside your areas", status=403)
    return [f"area:{area_id}" for area_id in sorted({a.id for a in inside})]
