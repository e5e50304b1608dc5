"""What an alert means for our loudspeakers: whether it may reach them at all (status, scope, a test that says
it is Actual, msgType, expiry), and at which of our priorities, by the mapping table of urgency, severity and
certainty (an admin's rows, or the default below). docs/emergency.md explains each rule."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from broadcaster.db import CapPriorityRule, User, utcnow
from broadcaster.domain.access import audit, require
from broadcaster.domain.cap.parse import Alert, Info
from broadcaster.domain.errors import Refusal

URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
PRIORITY_CHOICES = ("emergency", "priority", "normal", "none")
"""Our priorities, and ``none``: recorded for the operators, not aired."""
Action = Literal["air", "record", "stop"]


@dataclass(frozen=True)
class Rule:
    """A row of the mapping table; an empty set means any value."""

    urgencies: frozenset[str]
    severities: frozenset[str]
    certainties: frozenset[str]
    priority: str

    def holds(self, urgency: str, severity: str, certainty: str) -> bool:
        return all(not allowed or value in allowed for allowed, value in (
            (self.urgencies, urgency), (self.severities, severity), (self.certainties, certainty)))

    def as_json(self) -> dict[str, Any]:
        return {"urgency": sorted(self.urgencies, key=URGENCIES.index),
                "severity": sorted(self.severities, key=SEVERITIES.index),
                "certainty": sorted(self.certainties, key=CERTAINTIES.index), "priority": self.priority}


ANY: frozenset[str] = frozenset()
DEFAULT_RULES = (
    Rule(frozenset({"Past"}), ANY, ANY, "none"),
    Rule(ANY, ANY, frozenset({"Unlikely"}), "none"),
    Rule(frozenset({"Immediate", "Expected"}), frozenset({"Extreme", "Severe"}), frozenset({"Observed", "Likely"}),
         "emergency"),
    Rule(ANY, frozenset({"Extreme", "Severe", "Moderate"}), ANY, "priority"),
    Rule(ANY, ANY, ANY, "normal"),
)
"""The default: the threat is over or unlikely, nothing; imminent, grave and certain, an emergency (over the
air-time rules); grave but not all three, priority; minor or unknown, normal."""


def rules(session: Session) -> tuple[Rule, ...]:
    """The admin's mapping table, or the default when none was set."""
    rows = session.query(CapPriorityRule).order_by(CapPriorityRule.position).all()
    if not rows:
        return DEFAULT_RULES
    return tuple(Rule(_set(r.urgencies), _set(r.severities), _set(r.certainties), r.priority) for r in rows)


def _set(text: str) -> frozenset[str]:
    values = frozenset(v.strip() for v in text.split(",") if v.strip())
    return ANY if "*" in values else values


def set_rules(session: Session, user: User, data: Any) -> tuple[Rule, ...]:
    """Replace the mapping table: ``{"rules": [{"urgency": [...], "severity": [...], "certainty": [...],
    "priority": "emergency"}, ...]}`` (an empty list of values: any), first match wins; ``{"rules": []}`` goes
    back to the default. The last row must catch every alert, so that no combination is left unmapped."""
    require(user, "admin")
    items = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(items, list) or len(items) > 50 or not all(isinstance(i, dict) for i in items):
        raise Refusal("invalid_rules", "'rules' must be a list of at most 50 rows", field="rules")
    parsed = []
    for n, item in enumerate(items, 1):
        values = []
        for name, allowed in (("urgency", URGENCIES), ("severity", SEVERITIES), ("certainty", CERTAINTIES)):
            chosen = item.get(name, [])
            if not isinstance(chosen, list) or not all(isinstance(v, str) and v in allowed for v in chosen):
                raise Refusal("invalid_rules", f"row {n}: '{name}' must be a list of {', '.join(allowed)}",
                              field="rules")
            values.append(frozenset(chosen) if set(chosen) != set(allowed) else ANY)
        if item.get("priority") not in PRIORITY_CHOICES:
            raise Refusal("invalid_rules", f"row {n}: 'priority' must be one of {', '.join(PRIORITY_CHOICES)}",
                          field="rules")
        parsed.append(Rule(values[0], values[1], values[2], item["priority"]))
    if parsed and (parsed[-1].urgencies or parsed[-1].severities or parsed[-1].certainties):
        raise Refusal("invalid_rules", "the last row must hold every value, so that every alert has a priority",
                      field="rules")
    session.query(CapPriorityRule).delete()
    for position, rule in enumerate(parsed):
        session.add(CapPriorityRule(position=position, urgencies=",".join(sorted(rule.urgencies)) or "*",
                                    severities=",".join(sorted(rule.severities)) or "*",
                                    certainties=",".join(sorted(rule.certainties)) or "*", priority=rule.priority))
    session.flush()
    audit(session, user, "cap.mapping", None, "; ".join(
        f"{'/'.join(sorted(r.urgencies)) or '*'} {'/'.join(sorted(r.severities)) or '*'} "
        f"{'/'.join(sorted(r.certainties)) or '*'} -> {r.priority}" for r in parsed) or "default")
    return tuple(parsed) or DEFAULT_RULES


def value(text: str, allowed: tuple[str, ...]) -> str:
    """A CAP value as the table knows it; CAP 1.0's "Very Likely" is Likely; anything else Unknown."""
    text = " ".join(text.split())
    if text.casefold() == "very likely":
        return "Likely"
    return next((a for a in allowed if a.casefold() == text.casefold()), "Unknown")


def priority_of(info: Info, table: tuple[Rule, ...]) -> str:
    urgency, severity = value(info.urgency, URGENCIES), value(info.severity, SEVERITIES)
    certainty = value(info.certainty, CERTAINTIES)
    return next((r.priority for r in table if r.holds(urgency, severity, certainty)), "normal")


TEST_CODES = frozenset({"RMT", "RWT", "DMO", "NPT", "TESTMESSAGE"})
"""EAS test codes (Required Monthly/Weekly Test, Practice/Demo Warning, National Periodic Test) and CAP-CP's
testMessage."""
TEST_WORDS = re.compile(r"\b(test|essai|épreuve|prueba|übung|övning|thử nghiệm|diễn tập)\b"
                        r"|tin thử|演習|測試", re.IGNORECASE)
TEST_PHRASES = re.compile(
    r"this is (only )?a test|test message|(created|sent|issued|only) for testing|for testing (and evaluation )?purposes"
    r"|c'est (l'épreuve|un test|un essai)|message[- ]test"
    r"|fins d'essai|buts d'essai|esto es una prueba|mensaje de prueba|đây là tin thử|tin diễn tập", re.IGNORECASE)


def is_test(alert: Alert) -> bool:
    """An alert that says it is a test although its status says Actual: an EAS test code, "test" in its event
    or headline, or a description that says so ("This is a test - this CAP message was created for testing")."""
    for info in alert.infos:
        if any(code.value.strip().upper() in TEST_CODES for code in info.event_codes):
            return True
        if TEST_WORDS.search(info.event) or TEST_WORDS.search(info.headline):
            return True
        if TEST_PHRASES.search(info.description[:2000]) or TEST_PHRASES.search(alert.note[:2000]):
            return True
    return False


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str
    """A stable code: built/vietnamese (it airs), not_actual, not_public, test_message, not_an_alert, cancel,
    expired, no_action."""
    priority: str | None = None


def alert_verdict(alert: Alert) -> Verdict | None:
    """What the whole alert says before its infos are read (None: read them): only Actual, Public, not a test;
    a Cancel stops; an Ack or Error airs nothing."""
    if alert.status != "Actual":
        return Verdict("record", "not_actual")
    if alert.scope != "Public":
        return Verdict("record", "not_public")
    if is_test(alert):
        return Verdict("record", "test_message")
    if alert.msg_type == "Cancel":
        return Verdict("stop", "cancel")
    if alert.msg_type not in ("Alert", "Update"):
        return Verdict("record", "not_an_alert")
    if not alert.infos:
        return Verdict("record", "no_action")
    return None


def info_verdict(info: Info, table: tuple[Rule, ...], now: datetime | None = None) -> Verdict:
    """One ``<info>``: expired on arrival, nothing to do (the table says ``none``), or air at a priority."""
    if info.expires is not None and info.expires <= (now or utcnow()):
        return Verdict("record", "expired")
    priority = priority_of(info, table)
    if priority == "none":
        return Verdict("record", "no_action")
    return Verdict("air", "built", priority)


def threat_over(info: Info) -> bool:
    """An Update whose urgency is Past or certainty Unlikely says the threat is over: it stops what it
    references although it airs nothing itself."""
    return value(info.urgency, URGENCIES) == "Past" or value(info.certainty, CERTAINTIES) == "Unlikely"
