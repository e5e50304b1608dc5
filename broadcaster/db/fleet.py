"""The fleet: areas (province to village), clusters and their groups, operators' settings, health, alarms, the
air-time rules, and what receivers refused."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from broadcaster.db.base import Base, UTCDateTime, utcnow


class Area(Base):
    """A province, district, commune or village."""

    __tablename__ = "areas"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    voice: Mapped[str | None] = mapped_column(String(63))
    """The voice its bulletins are read with (None: the nearest area above that chose one, else the server's)."""
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Whether what aired here is on a public page and feed for people who missed it (an admin opts in)."""


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
