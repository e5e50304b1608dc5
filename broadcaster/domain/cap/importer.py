"""Importing one CAP alert: one transaction that airs it, holds it, records it without airing, or refuses it
and changes nothing. The rules, in order (docs/emergency.md): the issuer's signature policy; status, scope, a
test that says Actual, msgType (broadcaster.domain.cap.policy); each ``<info>`` of the language read (the
Vietnamese ones, else those of the first one's language): expired, nothing to do, or a priority; the clusters
and areas of ours it is for (geography), inside the importer's areas; what is read (language, resources); the
issuer's hold; the air-time rules (a non-emergency that arrives outside the allowed hours waits for them).
An Update stops what it references only once it airs (or says the threat is over); a Cancel stops them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from broadcaster.assets import AssetStore
from broadcaster.db import Bulletin, CapAlert, Device, User, utcnow
from broadcaster.domain import airtime
from broadcaster.domain.access import audit, require, scope_of
from broadcaster.domain.cap import language
from broadcaster.domain.cap.geography import Fleet, Match, describe, load_fleet, match_areas
from broadcaster.domain.cap.http import Fetch, default_fetch
from broadcaster.domain.cap.parse import Alert, Info, parse
from broadcaster.domain.cap.policy import Verdict, alert_verdict, info_verdict, rules, threat_over
from broadcaster.domain.cap.records import Part, find_record, recording_bulletin, references_of, stop_references
from broadcaster.domain.cap.resources import audio_of
from broadcaster.domain.cap.settings import IssuerPolicy, policy_for
from broadcaster.domain.cap.signatures import SignatureCheck, verify
from broadcaster.domain.emergency import Sent, air, approved_bulletin
from broadcaster.domain.errors import Refusal
from broadcaster.speech.audio import AudioError, load_recording
from edge_agent.protocol.fields import DEFAULT_TZ

EMERGENCY_PLAYS, EMERGENCY_EVERY_MIN = 2, 10
"""An emergency from a warning centre plays twice, ten minutes apart, like the emergency button's default."""
LATE = timedelta(seconds=60)
"""A play time later than arrival by more than this is "waiting" (for the allowed hours, or the effective time)."""


@dataclass
class ImportSettings:
    grace_s: int = 300
    timezone: str = DEFAULT_TZ
    uploads: AssetStore | None = None
    """Where a recording from an audio resource is kept (``data_dir/uploads``); None: resources are not aired."""
    max_recording_s: float = 1800
    fetch: Fetch = default_fetch
    now: datetime | None = None
    """The clock (tests set it to an alert's ``<sent>`` + 1 minute)."""
    feed_id: int | None = None
    issuer_id: int | None = None
    """The feed's issuer, whose policy applies whatever the alert's sender."""


@dataclass
class CapResult:
    identifier: str
    sender: str
    aired: bool
    outcome: str
    reason: str
    detail: str
    priority: str | None = None
    parts: list[Part] = field(default_factory=list)
    stopped: list[int] = field(default_factory=list)
    match: Match = field(default_factory=Match)
    warnings: list[str] = field(default_factory=list)
    signed_by: str | None = None
    play_at: datetime | None = None
    record_id: int | None = None
    sent: list[Sent] = field(default_factory=list)


def import_cap(session: Session, user: User, payload: bytes, settings: ImportSettings) -> CapResult:
    """Import one CAP 1.0/1.1/1.2 alert (see the module's docstring); a ``Refusal`` leaves nothing behind once
    the caller rolls back (the API and the pages do)."""
    require(user, "emergency")
    alert = parse(payload)
    now = settings.now or utcnow()
    earlier = find_record(session, alert.sender, alert.identifier)
    if earlier is not None and earlier.outcome != "recorded":
        return CapResult(alert.identifier, alert.sender, False, earlier.outcome, "duplicate",
                         f"already received on {earlier.received_at:%Y-%m-%d %H:%M} UTC ({earlier.outcome}): "
                         "an alert is taken once per sender and identifier", record_id=earlier.id)
    policy = policy_for(session, alert.sender, settings.issuer_id)
    check = _signature(alert, policy, now)
    result = CapResult(alert.identifier, alert.sender, False, "recorded", "", "", signed_by=check.verified_by,
                       warnings=list(alert.warnings) + check.problems)
    verdict = alert_verdict(alert)
    if verdict is not None and verdict.action == "stop":
        result.stopped, problems = stop_references(session, user, references_of(alert), set())
        result.warnings += problems
        return _save(session, user, alert, earlier, result, "stopped", "cancel",
                     f"Cancel: stopped broadcasts {result.stopped}" if result.stopped else
                     "Cancel: nothing of ours to stop", settings, policy)
    if verdict is not None:
        return _save(session, user, alert, earlier, result, "recorded", verdict.reason, _why(verdict.reason),
                     settings, policy)
    infos, vietnamese = _reading(alert)
    verdicts = [info_verdict(info, rules(session), now) for info in infos]
    airable = [(i, v) for i, v in zip(infos, verdicts, strict=True) if v.action == "air"]
    if not airable:
        reason = verdicts[0].reason
        if alert.msg_type == "Update" and threat_over(infos[0]) and reason == "no_action":
            result.stopped, problems = stop_references(session, user, references_of(alert), set())
            result.warnings += problems
        return _save(session, user, alert, earlier, result, "recorded", reason, _why(reason), settings, policy)
    fleet = load_fleet(session, scope_of(session, user))
    parts = _parts(alert, airable, fleet, result)
    zone = ZoneInfo(settings.timezone)
    for part, info in parts:
        _words(session, user, alert, info, part, vietnamese, policy, fleet, settings, result, zone, now)
    result.parts = [p for p, _ in parts]
    result.priority = _highest(p.priority for p in result.parts)
    held = [p for p in result.parts if p.source == "held"]
    if held or policy.hold_for_approval:
        reason = "held_for_language" if held else "held_for_approval"
        return _save(session, user, alert, earlier, result, "held", reason, _why(reason), settings, policy)
    return _air_parts(session, user, alert, earlier, parts, result, settings, policy, zone, now)


def _signature(alert: Alert, policy: IssuerPolicy, now: datetime) -> SignatureCheck:
    """The issuer's signature rules: a signature that a trusted certificate does not verify is refused (a
    tampered alert); without a verified signature, an issuer that requires one refuses."""
    check = verify(alert, policy.trusted, now)
    if check.verified_by is None and alert.signatures and policy.trusted:
        raise Refusal("invalid_signature", "the alert's signature is not valid for any certificate trusted for "
                                           f"{policy.name}: " + "; ".join(check.problems[:3]), status=422)
    if check.verified_by is None and policy.require_signature:
        raise Refusal("unsigned", f"{policy.name} requires a signature from a trusted certificate, and this alert "
                                  "carries none", status=422)
    return check


def _reading(alert: Alert) -> tuple[list[Info], bool]:
    """The ``<info>`` blocks read: the Vietnamese ones, else those in the language of the first."""
    vietnamese = [i for i in alert.infos if i.vietnamese]
    if vietnamese:
        return vietnamese, True
    first = alert.infos[0].language.casefold()
    return [i for i in alert.infos if i.language.casefold() == first], False


def _parts(alert: Alert, airable: list[tuple[Info, Verdict]], fleet: Fleet, result: CapResult
           ) -> list[tuple[Part, Info]]:
    """One part per ``<info>`` that reaches clusters of ours not reached by an earlier one (an ``<info>``
    without ``<area>`` is for every area the alert names). Refused when none reaches any."""
    every_area = tuple(a for info in alert.infos for a in info.areas)
    taken: set[str] = set()
    parts = []
    for info, verdict in airable:
        match = match_areas(fleet, info.areas or every_area)
        result.match.merge(match)
        devices = sorted(match.reached(fleet) - taken)
        if not devices:
            continue
        taken |= set(devices)
        parts.append((Part(info.language, verdict.priority or "normal", "", "", "", devices,
                           describe(fleet, match), None, expires=info.expires), info))
    if not parts:
        if result.match.ambiguous:
            raise Refusal("ambiguous_area", "the alert names areas that fit several of yours: "
                          + "; ".join(result.match.ambiguous[:5]), details=[result.match.as_json()])
        raise Refusal("no_matching_area", "none of your clusters is in the alert's areas"
                      + (": " + "; ".join(result.match.unmatched[:8]) if result.match.unmatched else ""),
                      details=[result.match.as_json()])
    return parts


def _words(session: Session, user: User, alert: Alert, info: Info, part: Part, vietnamese: bool,
           policy: IssuerPolicy, fleet: Fleet, settings: ImportSettings, result: CapResult, zone: ZoneInfo,
           now: datetime) -> None:
    """What a part says: a Vietnamese info's recording or text; else a built announcement, or nothing yet
    (held for an officer to write it, by the issuer's policy)."""
    if vietnamese:
        part.title, part.text = language.read_vietnamese(info, part.priority == "emergency")
        part.source = "vietnamese"
        audio, problems = audio_of(info, settings.fetch) if settings.uploads is not None else (None, [])
        result.warnings += problems
        if audio is not None and settings.uploads is not None:
            try:
                part.recording_s = round(len(load_recording(audio.data, settings.max_recording_s)) / 1000, 2)
            except AudioError as exc:
                result.warnings.append(f"{audio.description}: {exc}; the text is read instead")
            else:  # kept by its hash before the transaction ends: a refusal leaves an unused file, nothing else
                part.source, part.recording = "recording", settings.uploads.put(audio.data)
        return
    if policy.language_fallback == "hold":
        part.title, part.source = (info.headline or info.event or "Cảnh báo")[:200], "held"
        return
    part.title, part.text = language.build_vietnamese(alert, info, part.priority, part.areas, zone, now)
    part.source = "built"


def _air_parts(session: Session, user: User, alert: Alert, earlier: CapAlert | None,
               parts: list[tuple[Part, Info]], result: CapResult, settings: ImportSettings, policy: IssuerPolicy,
               zone: ZoneInfo, now: datetime) -> CapResult:
    aired = 0
    for part, info in parts:
        bulletin = _bulletin(session, user, part, now)
        length = part.recording_s + airtime.CHIME_S if part.recording_s else airtime.estimate_s(bulletin)
        part.play_at = _play_at(session, part, info, length, zone, now)
        if part.play_at is not None and info.expires is not None and part.play_at >= info.expires:
            result.warnings.append(f"[{part.language}] expires before the next allowed time")
            session.delete(bulletin)
            continue
        count = EMERGENCY_PLAYS if part.priority == "emergency" else 1
        sent = air(session, user, bulletin, part.devices, count, EMERGENCY_EVERY_MIN, settings.grace_s,
                   settings.timezone, part.priority, now=now, play_at=part.play_at)
        part.bulletin_id, part.broadcast_ids = bulletin.id, [b.id for b in sent.broadcasts]
        result.sent.append(sent)
        aired += 1
    if not aired:
        return _save(session, user, alert, earlier, result, "recorded", "expires_before_window",
                     _why("expires_before_window"), settings, policy)
    result.aired = True
    mine = {b for p in result.parts for b in p.broadcast_ids}
    if alert.msg_type == "Update":
        result.stopped, problems = stop_references(session, user, references_of(alert), mine)
        result.warnings += problems
    played = [p for p in result.parts if p.broadcast_ids]
    waits = [p.play_at for p in played if p.play_at is not None and p.play_at > now + LATE]
    result.play_at = min(waits) if waits else None
    reason = "recording" if any(p.source == "recording" for p in played) else played[0].source
    outcome = "waiting" if len(waits) == len(played) else "aired"
    return _save(session, user, alert, earlier, result, outcome, reason, _why(reason), settings, policy)


def _bulletin(session: Session, user: User, part: Part, now: datetime) -> Bulletin:
    if part.recording is not None:
        return recording_bulletin(session, user, part.title, part.language, part.recording, part.recording_s,
                                  part.priority, now)
    return approved_bulletin(session, user, part.title, part.text, part.priority, now)


def _play_at(session: Session, part: Part, info: Info, length_s: float, zone: ZoneInfo, now: datetime
             ) -> datetime | None:
    """When a part plays: at once, or at its effective time if later; a non-emergency outside the allowed hours
    at the next allowed time (None: at once)."""
    start = info.effective if info.effective is not None and info.effective > now + LATE else None
    if part.priority == "emergency":
        return start
    devices = session.query(Device).filter(Device.id.in_(part.devices)).all()
    allowed = airtime.next_allowed(session, devices, start or now, length_s, zone)
    if allowed is None:
        raise Refusal("outside_airtime", "the clusters' allowed hours never meet within a week", field="play_at")
    return allowed if allowed > now + LATE else start


def _highest(priorities: object) -> str | None:
    order = ("emergency", "priority", "normal")
    found = [p for p in priorities if p in order]  # type: ignore[attr-defined]
    return min(found, key=order.index) if found else None


WHY = {
    "vietnamese": "its Vietnamese text is read",
    "built": "no Vietnamese text: a Vietnamese announcement was built from its event, severity, areas and times",
    "recording": "its audio resource airs as the recording",
    "not_actual": "status is not Actual (Test, Exercise, System, Draft): recorded, not aired",
    "not_public": "scope is not Public (Restricted, Private): recorded, not aired on public loudspeakers",
    "test_message": "a test although its status says Actual: recorded, not aired",
    "not_an_alert": "Ack or Error: nothing to air",
    "expired": "expired before it arrived: recorded, not aired",
    "no_action": "urgency Past or certainty Unlikely (the mapping table says none): recorded, not aired",
    "held_for_approval": "held: the issuer's alerts air once an approver releases them",
    "held_for_language": "held: no Vietnamese text, and the issuer's alerts wait for an officer to write one",
    "expires_before_window": "it would expire before the next allowed time: recorded, not aired",
}


def _why(reason: str) -> str:
    return WHY.get(reason, reason)


def _save(session: Session, user: User, alert: Alert, earlier: CapAlert | None, result: CapResult, outcome: str,
          reason: str, detail: str, settings: ImportSettings, policy: IssuerPolicy) -> CapResult:
    """Record the alert (a re-sent alert that was only recorded before is updated, not added twice)."""
    infos, _ = _reading(alert) if alert.infos else ([], False)
    record = earlier or CapAlert(identifier=alert.identifier[:200], sender=alert.sender[:200])
    record.sent, record.status, record.msg_type = alert.sent, alert.status[:20], alert.msg_type[:20]
    record.scope, record.outcome, record.reason = alert.scope[:20], outcome, reason
    record.priority = result.priority
    record.event = (infos[0].event if infos else "")[:200]
    expiries = [i.expires for i in infos if i.expires is not None]
    record.expires = min(expiries) if expiries else None
    record.play_at = result.play_at
    record.original_text = language.original_text(infos)
    record.referenced = json.dumps(references_of(alert), ensure_ascii=False)
    record.targets = json.dumps(sorted({d for p in result.parts for d in p.devices}))
    record.bulletin_id = next((p.bulletin_id for p in result.parts if p.bulletin_id), None)
    record.broadcast_ids = json.dumps([b for p in result.parts for b in p.broadcast_ids])
    record.issuer_id, record.feed_id, record.signed_by = policy.issuer_id, settings.feed_id, result.signed_by
    record.received_by, record.received_at = user.id, utcnow()
    result.outcome, result.reason, result.detail = outcome, reason, detail
    record.report = json.dumps({"parts": [p.as_json() for p in result.parts], **result.match.as_json(),
                                "warnings": result.warnings, "stopped": result.stopped, "detail": detail},
                               ensure_ascii=False)
    session.add(record)
    session.flush()
    result.record_id = record.id
    audit(session, user, f"cap.{outcome}", f"{alert.sender[:80]} {alert.identifier[:100]}",
          f"{alert.msg_type} {reason}; priority {result.priority}; stopped {result.stopped}")
    return result
