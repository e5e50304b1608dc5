"""CAP alerts from warning centres: what was received and what became of it, the issuers we know and how we
treat them, the feeds we poll, the mapping of CAP's urgency, severity and certainty to our priorities,
geocodes and area outlines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from broadcaster.db.base import Base, UTCDateTime, utcnow

CAP_OUTCOMES = ("aired", "waiting", "held", "recorded", "stopped", "released", "cancelled")
"""What became of an alert: aired (broadcasts made), waiting (made, to play at the next allowed time), held (for
an approver, or for an officer to write the Vietnamese text), recorded (kept for the operators, never aired:
a test, expired, nothing to do...), stopped (a Cancel: it stopped what it referenced), released (held, then
aired by an officer), cancelled (held, then cancelled by the issuer before anyone aired it)."""


class CapAlert(Base):
    """A CAP alert received (at most once per sender and identifier) and what became of it. A refused import
    leaves no row, so the same alert can be sent again once the cause is fixed."""

    __tablename__ = "cap_alerts"
    __table_args__ = (UniqueConstraint("sender", "identifier"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(200))
    sender: Mapped[str] = mapped_column(String(200))
    sent: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))
    msg_type: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(20), default="")
    outcome: Mapped[str] = mapped_column(String(20), default="recorded")
    """One of ``CAP_OUTCOMES``."""
    reason: Mapped[str] = mapped_column(String(40), default="")
    """Why, as a stable code: built, vietnamese, recording, not_actual, not_public, test_message, expired,
    no_action, not_an_alert, cancel, held_for_approval, held_for_language, expires_before_window..."""
    priority: Mapped[str | None] = mapped_column(String(20))
    event: Mapped[str] = mapped_column(String(200), default="")
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime)
    play_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When it plays, if that is later than its arrival (waiting for the allowed hours or its effective time)."""
    report: Mapped[str] = mapped_column(Text, default="{}")
    """The import's answer as JSON: the areas matched and not matched, each part aired, warnings."""
    original_text: Mapped[str] = mapped_column(Text, default="")
    """The alert's own words (any language), kept for the operator when a Vietnamese text was built instead."""
    targets: Mapped[str] = mapped_column(Text, default="[]")
    """The targets (``area:<id>``, device ids) it aired to, or would air to once released."""
    referenced: Mapped[str] = mapped_column(Text, default="[]")
    """What it references (Update, Cancel), as JSON ``[[sender, identifier], ...]``."""
    bulletin_id: Mapped[int | None] = mapped_column(ForeignKey("bulletins.id"))
    broadcast_ids: Mapped[str] = mapped_column(Text, default="[]")
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("cap_issuers.id"))
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("cap_feeds.id"))
    signed_by: Mapped[str | None] = mapped_column(String(300))
    """The subject of the trusted certificate (or key) whose signature was verified; None when not verified."""
    received_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CapIssuer(Base):
    """A warning centre we know, found by the alert's ``<sender>``, and how its alerts are treated."""

    __tablename__ = "cap_issuers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    senders: Mapped[str] = mapped_column(Text)
    """Its ``<sender>`` values, one per line: exact (case ignored), ``@domain`` for any sender of a domain, or
    ``*`` for every sender no other issuer names (this row then replaces the built-in default policy)."""
    certificates: Mapped[str] = mapped_column(Text, default="")
    """Trusted X.509 certificates or public keys, PEM, one after the other."""
    require_signature: Mapped[bool] = mapped_column(Boolean, default=False)
    """Refuse its alerts unless a trusted signature is verified."""
    hold_for_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    """Hold every alert that would air until an approver releases it (False: air at once)."""
    language_fallback: Mapped[str] = mapped_column(String(10), default="build")
    """Without a Vietnamese ``<info>``: ``build`` a Vietnamese announcement, or ``hold`` it for an officer."""
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CapFeed(Base):
    """An Atom or RSS index of CAP alerts that the leading worker polls, and its health."""

    __tablename__ = "cap_feeds"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500), unique=True)
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("cap_issuers.id"))
    """Whose policy its alerts follow (None: the issuer found by each alert's sender)."""
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    """The admin who subscribed: its alerts are imported as this user, inside this user's areas."""
    poll_every_s: Mapped[int] = mapped_column(Integer, default=60)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entries_seen: Mapped[int] = mapped_column(Integer, default=0)
    """Entries in the index at the last successful poll."""
    alerts_imported: Mapped[int] = mapped_column(Integer, default=0)
    """Alerts taken from it so far (aired, held or recorded)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CapFeedEntry(Base):
    """A link of a feed already dealt with (imported, recorded or refused), so it is fetched once."""

    __tablename__ = "cap_feed_entries"
    feed_id: Mapped[int] = mapped_column(ForeignKey("cap_feeds.id"), primary_key=True)
    link: Mapped[str] = mapped_column(String(500), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(300))
    """What became of it: the alert's outcome and reason, or the refusal's code and message."""
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CapPriorityRule(Base):
    """One row of the mapping table: the first row (by ``position``) whose lists hold the alert's urgency,
    severity and certainty gives its priority (``none``: recorded, not aired). No rows: the built-in default
    (docs/emergency.md)."""

    __tablename__ = "cap_priority_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    urgencies: Mapped[str] = mapped_column(String(100))
    """Comma-separated CAP values, or ``*`` for any."""
    severities: Mapped[str] = mapped_column(String(100))
    certainties: Mapped[str] = mapped_column(String(100))
    priority: Mapped[str] = mapped_column(String(20))


class CapGeocode(Base):
    """A CAP ``<geocode>`` (``valueName`` and ``value``) that means one of our areas."""

    __tablename__ = "cap_geocodes"
    __table_args__ = (UniqueConstraint("value_name", "value", "area_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    value_name: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(String(100))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))


class AreaOutline(Base):
    """An area's outline (GeoJSON Polygon or MultiPolygon, WGS 84) uploaded by an admin: a CAP polygon or
    circle that overlaps it reaches every cluster of the area."""

    __tablename__ = "area_outlines"
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True)
    geojson: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
