"""The database's tables: the single source of truth for bulletins, broadcasts, devices and what they reported
(connecting and sessions: database.py; the schema's history: migrations/)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from broadcaster.domain.lifecycle import FINAL_DELIVERY_STATES
from edge_agent.protocol import Repeat
from edge_agent.protocol.fields import utcnow as utcnow  # the one clock: aware, UTC, as on the wire

LARGEST_ID = 2**31 - 1
"""What every id column holds (PostgreSQL's ``integer``, 32 bits; SQLite's hold more): a larger id is not found,
never a crash in the database driver."""


def parse_id(text: str) -> int | None:
    """An id written in decimal digits (0-9 only: not "²" or "٣", which ``str.isdigit`` takes) that a database
    column can hold; None otherwise."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdecimal()) or len(digits) > 10:
        return None
    number = int(digits)
    return number if number <= LARGEST_ID else None


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC everywhere (SQLite has no zones); always read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    pass


class Area(Base):
    """A province, district, commune or village."""

    __tablename__ = "areas"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))


ROLES = ("admin", "editor", "approver", "operator")
"""admin: everything, users and the audit log; editor: writes bulletins and schedules approved ones;
approver (the commune leader): approves or rejects; operator: devices, alarms, stops and emergencies."""


class DeviceGroup(Base):
    """A named set of clusters across villages (the market, the schools, the river bank): a target."""

    __tablename__ = "device_groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    """The area it belongs to (users of that area see it); None: admins only."""
    members: Mapped[list[DeviceGroupMember]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class DeviceGroupMember(Base):
    __tablename__ = "device_group_members"
    group_id: Mapped[int] = mapped_column(ForeignKey("device_groups.id"), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)


class Alarm(Base):
    """Something an operator must look at: a cluster silent too long, a failed or missed broadcast, a wrong
    clock, a refused message. Raised once while the condition lasts; cleared when it ends; acknowledged by
    an operator."""

    __tablename__ = "alarms"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str | None] = mapped_column(String(100))
    """What it is about beyond the device, e.g. the broadcast id."""
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AirtimeRule(Base):
    """When loudspeakers in an area may sound (local time), and how much. The nearest area up the tree with
    a rule governs a device; without one, DEFAULT_HOURS apply. Emergencies ignore every rule."""

    __tablename__ = "airtime_rules"
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True)
    allowed_from: Mapped[str] = mapped_column(String(5), default="05:30")
    allowed_to: Mapped[str] = mapped_column(String(5), default="21:30")
    max_session_min: Mapped[int | None] = mapped_column(Integer)
    """Longest one broadcast may be, in minutes (None: no limit)."""
    max_sessions_per_day: Mapped[int | None] = mapped_column(Integer)
    """Most broadcasts a loudspeaker plays in a day (None: no limit)."""
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    """Wrong passwords in a row; reset by a good one."""
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    roles: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    areas: Mapped[list[UserArea]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}

    @property
    def is_admin(self) -> bool:
        return "admin" in self.role_names


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class UserArea(Base):
    """An area a user works in: the user sees and acts on it and everything below it."""

    __tablename__ = "user_areas"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True)


class ApiToken(Base):
    """A user's API token, stored only as its SHA-256 (tokens are long random strings: no KDF needed)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship()


class AuditEntry(Base):
    """Who did what, when, from where: every change made through the API, the pages or the command line."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(64))


class Device(Base):
    """A receiver at a loudspeaker cluster."""

    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[str | None] = mapped_column(String(40))
    volume: Mapped[int | None] = mapped_column(Integer)
    now_playing: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lat: Mapped[float | None] = mapped_column(Float)
    """Where the cluster stands (WGS 84), for the dashboard's map; None when not set."""
    lon: Mapped[float | None] = mapped_column(Float)
    village: Mapped[Area | None] = relationship()


class Bulletin(Base):
    __tablename__ = "bulletins"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="draft")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    """The area it belongs to: users of that area (and above) see it. None: visible to admins alone."""
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_comment: Mapped[str | None] = mapped_column(Text)
    """Why it was rejected (or a note with the approval)."""
    recording: Mapped[Recording | None] = relationship()
    broadcasts: Mapped[list[Broadcast]] = relationship(viewonly=True, order_by="Broadcast.id")

    def stage(self) -> str:
        """Where it is in its life: draft, submitted, rejected, approved, then scheduled (something still to
        play) and aired (played somewhere, nothing left to play)."""
        if self.state != "approved":
            return self.state
        deliveries = [d for b in self.broadcasts if b.state in ("queued", "sent") for d in b.deliveries]
        if any(d.state not in FINAL_DELIVERY_STATES for d in deliveries):
            return "scheduled"
        if any(d.state == "played" for b in self.broadcasts for d in b.deliveries) or any(
                b.plays for b in self.broadcasts):
            return "aired"
        return "approved"


class LexiconEntry(Base):
    """A commune's own reading of a word (a place name, a new abbreviation), applied before the built-in ones."""

    __tablename__ = "lexicon"
    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(String(80), unique=True)
    reading: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Recording(Base):
    """An uploaded recording that a bulletin airs instead of synthesized speech (any language)."""

    __tablename__ = "recordings"
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id"), primary_key=True)
    language: Mapped[str] = mapped_column(String(40))
    """Label of the spoken language, e.g. vi, hmn (Hmông), tay (Tày)."""
    source_sha256: Mapped[str] = mapped_column(String(64))
    """The uploaded file as received, kept under data_dir/uploads/."""
    filename: Mapped[str] = mapped_column(String(200))
    duration_s: Mapped[float] = mapped_column(Float)


class Asset(Base):
    """An encoded audio file, named by the SHA-256 of its bytes."""

    __tablename__ = "assets"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    render_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    codec: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ListeningCheck(Base):
    """What the offline recognizer understood of a rendered asset, shown to the approver before air."""

    __tablename__ = "listening_checks"
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), primary_key=True)
    understood: Mapped[float] = mapped_column(Float)
    """Share of the intended words recognized (1 - word error rate)."""
    missed: Mapped[str] = mapped_column(Text)
    """Intended words not recognized, one per line."""
    heard: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def as_json(self) -> dict[str, object]:
        return {"understood": round(self.understood, 3), "missed": self.missed.split("\n") if self.missed else [],
                "heard": self.heard}


class DeviceCredential(Base):
    """A device's MQTT password, as the broker's hash only (the password itself is shown once)."""

    __tablename__ = "device_credentials"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    mqtt_hash: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeviceHealth(Base):
    """The latest health a device reported, and how far its clock is from the server's."""

    __tablename__ = "device_health"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    reported: Mapped[str] = mapped_column(Text)
    """The heartbeat's health fields, as JSON."""
    clock_skew_s: Mapped[float | None] = mapped_column(Float)
    """Device time minus server time when its heartbeat arrived (plus the network delay)."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeviceSetting(Base):
    """What operators set for a device (volume; switched on or off). The worker sends both in one signed,
    retained command whenever either changes (``sent_at`` empty), so the receiver always has the whole state."""

    __tablename__ = "device_settings"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    volume: Mapped[int | None] = mapped_column(Integer)
    """None: the receiver's own configured volume."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """False: the cluster stays silent for everything but emergencies."""
    set_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SigningState(Base):
    """The highest sequence number the server has signed with a key, so it never goes back, even if the
    server's clock does (receivers would take a lower number for a replay)."""

    __tablename__ = "signing_state"
    kid: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class ScheduleRefresh(Base):
    """A device whose schedule should be published again (a report finished one of its items): any worker
    that stores the report writes the row, and the leader, the only one that signs, publishes and deletes it."""

    __tablename__ = "schedule_refreshes"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    """Bumped by each new request, so the leader deletes only the request it has served."""


class RefusalRecord(Base):
    """A message a device refused (unsigned, forged, expired, replayed, malformed): a sign of trouble."""

    __tablename__ = "refusals"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    topic: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The device's own time of the refusal."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Broadcast(Base):
    """A bulletin sent to a set of devices, at a time and priority."""

    __tablename__ = "broadcasts"
    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id"))
    priority: Mapped[str] = mapped_column(String(20))
    play_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    grace_s: Mapped[int] = mapped_column(Integer, default=300)
    state: Mapped[str] = mapped_column(String(20), default="queued")
    asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id"))
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id"))
    """Set on the items of a programme: they play back to back in id order, one session."""
    bulletin: Mapped[Bulletin] = relationship()
    asset: Mapped[Asset | None] = relationship()
    deliveries: Mapped[list[Delivery]] = relationship(back_populates="broadcast", order_by="Delivery.device_id")
    relay: Mapped[Relay | None] = relationship(uselist=False)
    recurrence: Mapped[Recurrence | None] = relationship(uselist=False)
    plays: Mapped[list[OccurrencePlay]] = relationship(
        order_by="(OccurrencePlay.occurrence.desc(), OccurrencePlay.device_id)", viewonly=True)

    def repeat(self) -> Repeat | None:
        """The recurrence rule of a recurring broadcast, as sent to devices."""
        if self.recurrence is None:
            return None
        return Repeat.from_dict(json.loads(self.recurrence.rule))


class Recurrence(Base):
    """A broadcast that plays on a weekly pattern (``edge_agent.protocol.Repeat``, as JSON); receivers expand
    it into occurrences themselves."""

    __tablename__ = "recurrences"
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"), primary_key=True)
    rule: Mapped[str] = mapped_column(Text)


class OccurrencePlay(Base):
    """What one device did with one occurrence of a recurring broadcast, as it reported."""

    __tablename__ = "occurrence_plays"
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    occurrence: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Programme(Base):
    """A session of several items played back to back (a bulletin, a relay, another bulletin...)."""

    __tablename__ = "programmes"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    items: Mapped[list[Broadcast]] = relationship(order_by="Broadcast.id", viewonly=True)


class Relay(Base):
    """A broadcast that relays a live stream for a time window; its bulletin is the fallback item."""

    __tablename__ = "relays"
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    window_s: Mapped[int] = mapped_column(Integer)


class Delivery(Base):
    """One device's part of a broadcast, with the times the device reported."""

    __tablename__ = "deliveries"
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    broadcast: Mapped[Broadcast] = relationship(back_populates="deliveries")
    device: Mapped[Device] = relationship()


def token_hash(token: str) -> str:
    """API tokens are stored only as their SHA-256 (they are long random strings, so no KDF is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()
