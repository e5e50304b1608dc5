"""What an admin sets for CAP: the issuers we know (trusted certificates, whether unsigned alerts are accepted,
air at once or hold for approval, what to do without a Vietnamese text), the feeds to poll, the geocode
mapping and the areas' outlines. Issuers, feeds and the mapping table are one per server, like the commune
dictionary; geocodes and outlines name areas, so only areas in the admin's scope."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from broadcaster.db import Area, AreaOutline, CapAlert, CapFeed, CapFeedEntry, CapGeocode, CapIssuer, User, utcnow
from broadcaster.domain.access import audit, require, scope_of
from broadcaster.domain.cap.shapes import outline_rings
from broadcaster.domain.cap.signatures import Trusted, load_trusted
from broadcaster.domain.errors import Refusal, text_field

LANGUAGE_FALLBACKS = ("build", "hold")
MIN_POLL_S, MAX_POLL_S = 30, 86400


@dataclass(frozen=True)
class IssuerPolicy:
    """How one issuer's alerts are treated (the built-in default for senders no issuer names)."""

    issuer_id: int | None = None
    name: str = "mặc định"
    require_signature: bool = False
    hold_for_approval: bool = False
    language_fallback: str = "build"
    trusted: list[Trusted] = field(default_factory=list)


DEFAULT_POLICY = IssuerPolicy()
"""Unknown senders: accepted unsigned, aired at once, a Vietnamese announcement built when there is no
Vietnamese text. The operator who imports an alert is accountable for it, as for the emergency button; an
issuer row with sender ``*`` replaces this default."""


def policy_of(issuer: CapIssuer) -> IssuerPolicy:
    return IssuerPolicy(issuer.id, issuer.name, issuer.require_signature, issuer.hold_for_approval,
                        issuer.language_fallback, load_trusted(issuer.certificates or ""))


def policy_for(session: Session, sender: str, issuer_id: int | None = None) -> IssuerPolicy:
    """The policy of ``issuer_id`` (a feed's issuer), else of the issuer naming ``sender`` exactly, else by its
    domain (``@example.org``), else the ``*`` issuer, else the default."""
    if issuer_id is not None and (issuer := session.get(CapIssuer, issuer_id)) is not None:
        return policy_of(issuer)
    wanted = sender.strip().casefold()
    domain = "@" + wanted.rpartition("@")[2] if "@" in wanted else None
    ranked: dict[int, CapIssuer] = {}
    for issuer in session.query(CapIssuer).order_by(CapIssuer.id):
        for line in (s.strip().casefold() for s in issuer.senders.splitlines()):
            rank = 0 if line == wanted else 1 if domain and line == domain else 2 if line == "*" else None
            if rank is not None and rank not in ranked:
                ranked[rank] = issuer
    return policy_of(ranked[min(ranked)]) if ranked else DEFAULT_POLICY


def list_issuers(session: Session, user: User) -> list[CapIssuer]:
    require(user, "admin")
    return session.query(CapIssuer).order_by(CapIssuer.name).all()


def save_issuer(session: Session, user: User, data: dict[str, Any], issuer_id: int | None = None) -> CapIssuer:
    """``{"name", "senders": ["cap@nchmf.gov.vn", "@kttv.gov.vn", "*"], "certificates": "PEM...",
    "require_signature", "hold_for_approval", "language_fallback": "build" | "hold"}``."""
    require(user, "admin")
    issuer = CapIssuer() if issuer_id is None else session.get(CapIssuer, issuer_id)
    if issuer is None:
        raise Refusal("not_found", f"issuer {issuer_id} does not exist", status=404)
    issuer.name = text_field(data, "name", 200)
    senders = data.get("senders")
    if isinstance(senders, str):
        senders = [s for s in senders.replace(",", "\n").splitlines() if s.strip()]
    if not isinstance(senders, list) or not senders or not all(
            isinstance(s, str) and s.strip() and len(s) <= 200 and "\n" not in s and "\x00" not in s
            for s in senders):
        raise Refusal("invalid_senders", "'senders' must list the issuer's <sender> values (or @domain, or *)",
                      field="senders")
    issuer.senders = "\n".join(s.strip() for s in senders)
    certificates = data.get("certificates", issuer.certificates or "")
    if not isinstance(certificates, str) or len(certificates) > 200_000 or "\x00" in certificates:
        raise Refusal("invalid_certificate", "'certificates' must be PEM text", field="certificates")
    load_trusted(certificates)  # refused here if unreadable, not at the first alert
    issuer.certificates = certificates.strip()
    for name in ("require_signature", "hold_for_approval"):
        flag = data.get(name, getattr(issuer, name) or False)
        if not isinstance(flag, bool):
            raise Refusal("invalid_policy", f"'{name}' must be true or false", field=name)
        setattr(issuer, name, flag)
    fallback = data.get("language_fallback", issuer.language_fallback or "build")
    if fallback not in LANGUAGE_FALLBACKS:
        raise Refusal("invalid_policy", "'language_fallback' must be build or hold", field="language_fallback")
    issuer.language_fallback = fallback
    if issuer.require_signature and not issuer.certificates:
        raise Refusal("invalid_policy", "an issuer whose alerts must be signed needs a trusted certificate",
                      field="certificates")
    issuer.updated_by, issuer.updated_at = user.id, utcnow()
    session.add(issuer)
    session.flush()
    audit(session, user, "cap.issuer", issuer.name, f"senders {issuer.senders.splitlines()}; signed "
          f"{issuer.require_signature}; hold {issuer.hold_for_approval}; language {issuer.language_fallback}")
    return issuer


def issuer_json(issuer: CapIssuer) -> dict[str, Any]:
    trusted = load_trusted(issuer.certificates or "")
    return {"id": issuer.id, "name": issuer.name, "senders": issuer.senders.splitlines(),
            "certificates": [t.label for t in trusted], "require_signature": issuer.require_signature,
            "hold_for_approval": issuer.hold_for_approval, "language_fallback": issuer.language_fallback}


def list_feeds(session: Session, user: User) -> list[CapFeed]:
    require(user, "admin")
    return session.query(CapFeed).order_by(CapFeed.id).all()


def add_feed(session: Session, user: User, data: dict[str, Any]) -> CapFeed:
    """``{"url": "https://...", "issuer_id": null, "poll_every_s": 60}``: polled by the leading worker, its
    alerts imported as this admin."""
    require(user, "admin")
    url = text_field(data, "url", 500)
    if not url.lower().startswith(("http://", "https://")) or any(c.isspace() for c in url):
        raise Refusal("invalid_url", "'url' must be an http:// or https:// address", field="url")
    if session.query(CapFeed).filter_by(url=url).one_or_none() is not None:
        raise Refusal("duplicate_feed", "this feed is already subscribed", status=409, field="url")
    issuer_id = data.get("issuer_id")
    if issuer_id is not None and (not isinstance(issuer_id, int) or isinstance(issuer_id, bool)
                                  or session.get(CapIssuer, issuer_id) is None):
        raise Refusal("unknown_issuer", "'issuer_id' must be the id of an issuer, or null", field="issuer_id")
    every = data.get("poll_every_s", 60)
    if not isinstance(every, int) or isinstance(every, bool) or not MIN_POLL_S <= every <= MAX_POLL_S:
        raise Refusal("invalid_interval", f"'poll_every_s' must be {MIN_POLL_S} to {MAX_POLL_S} seconds",
                      field="poll_every_s")
    feed = CapFeed(url=url, issuer_id=issuer_id, created_by=user.id, poll_every_s=every, active=True,
                   next_poll_at=None, entries_seen=0, alerts_imported=0)
    session.add(feed)
    session.flush()
    audit(session, user, "cap.feed.add", url)
    return feed


def remove_feed(session: Session, user: User, feed_id: int) -> None:
    require(user, "admin")
    feed = session.get(CapFeed, feed_id)
    if feed is None:
        raise Refusal("not_found", f"feed {feed_id} does not exist", status=404)
    session.query(CapFeedEntry).filter_by(feed_id=feed_id).delete()
    session.query(CapAlert).filter_by(feed_id=feed_id).update({"feed_id": None})  # the alerts stay
    audit(session, user, "cap.feed.remove", feed.url)
    session.delete(feed)
    session.flush()


def feed_json(feed: CapFeed) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {"id": feed.id, "url": feed.url, "issuer_id": feed.issuer_id, "poll_every_s": feed.poll_every_s,
            "active": feed.active, "last_polled_at": iso(feed.last_polled_at),
            "last_success_at": iso(feed.last_success_at), "last_error": feed.last_error,
            "last_error_at": iso(feed.last_error_at), "entries_seen": feed.entries_seen,
            "alerts_imported": feed.alerts_imported, "healthy": feed.last_error is None and
            feed.last_success_at is not None}


def list_geocodes(session: Session, user: User) -> list[CapGeocode]:
    require(user, "view")
    scope = scope_of(session, user)
    return [g for g in session.query(CapGeocode).order_by(CapGeocode.value_name, CapGeocode.value)
            if scope.has_area(g.area_id)]


def add_geocode(session: Session, user: User, data: dict[str, Any]) -> CapGeocode:
    """``{"value_name": "SAME", "value": "006037", "area_id": 12}``: alerts naming this geocode reach the area."""
    require(user, "admin")
    name, code = text_field(data, "value_name", 100), text_field(data, "value", 100)
    area_id = data.get("area_id")
    if not isinstance(area_id, int) or isinstance(area_id, bool) or session.get(Area, area_id) is None \
            or not scope_of(session, user).has_area(area_id):
        raise Refusal("unknown_area", "'area_id' must be an area in your scope", field="area_id")
    if session.query(CapGeocode).filter_by(value_name=name, value=code, area_id=area_id).one_or_none():
        raise Refusal("duplicate_geocode", "this geocode already means this area", status=409, field="value")
    row = CapGeocode(value_name=name, value=code, area_id=area_id)
    session.add(row)
    session.flush()
    audit(session, user, "cap.geocode.add", f"{name} {code}", f"area {area_id}")
    return row


def remove_geocode(session: Session, user: User, geocode_id: int) -> None:
    require(user, "admin")
    row = session.get(CapGeocode, geocode_id)
    if row is None or not scope_of(session, user).has_area(row.area_id):
        raise Refusal("not_found", f"geocode {geocode_id} does not exist", status=404)
    audit(session, user, "cap.geocode.remove", f"{row.value_name} {row.value}", f"area {row.area_id}")
    session.delete(row)
    session.flush()


def geocode_json(row: CapGeocode) -> dict[str, Any]:
    return {"id": row.id, "value_name": row.value_name, "value": row.value, "area_id": row.area_id}


def set_outline(session: Session, user: User, area_id: int, data: Any) -> AreaOutline:
    """An area's outline: ``{"geojson": {"type": "Polygon" | "MultiPolygon", "coordinates": ...}}`` (or the
    GeoJSON itself); ``{"geojson": null}`` removes it."""
    require(user, "admin")
    area = session.get(Area, area_id)
    if area is None or not scope_of(session, user).has_area(area_id):
        raise Refusal("not_found", f"area {area_id} does not exist", status=404)
    geojson = data.get("geojson", data) if isinstance(data, dict) and "geojson" in data else data
    outline = session.get(AreaOutline, area_id) or AreaOutline(area_id=area_id)
    if geojson is None:
        if outline.geojson:
            session.delete(outline)
        audit(session, user, "area.outline", area.name, "removed")
        session.flush()
        return AreaOutline(area_id=area_id, geojson="null")
    rings = outline_rings(geojson)
    outline.geojson = json.dumps(geojson, separators=(",", ":"))
    outline.updated_by, outline.updated_at = user.id, utcnow()
    session.add(outline)
    session.flush()
    audit(session, user, "area.outline", area.name, f"{len(rings)} ring(s), {sum(len(r) for r in rings)} points")
    return outline
