"""Airing: broadcasts and their deliveries to each cluster, programmes, relays, recurrences, live sessions, CAP
alerts, and the signing state the worker keeps."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from broadcaster.db.base import Base, UTCDateTime, utcnow
from broadcaster.domain.lifecycle import FINAL_DELIVERY_STATES
from edge_agent.protocol import Repeat

if TYPE_CHECKING:
    from broadcaster.db.content import Asset, Bulletin
    from broadcaster.db.fleet import Device
    from broadcaster.db.people import User


class SigningState(Base):
    """The highest sequence number the server has signed with a key, so it never goes back, even if the
    server's clock does (receivers would take a lower number for a replay)."""

    __tablename__ = "signing_state"
    kid: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class IdFloor(Base):
    """The lowest id the next row of a table may take: written by ``broadcaster restore`` on SQLite (PostgreSQL
    moves its sequences instead), so that ids handed out after the backup, which receivers remember, are never
    handed out again. Used once, then deleted."""

    __tablename__ = "id_floors"
    table: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_id: Mapped[int] = mapped_column(BigInteger)


class ScheduleRefresh(Base):
    """A device whose schedule should be published again (a report finished one of its items): any worker
    that stores the report writes the row, and the leader, the only one that signs, publishes and deletes it."""

    __tablename__ = "schedule_refreshes"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    """Bumped by each new request, so the leader deletes only the request it has served."""


class Broadcast(Base):
    """A bulletin sent to a set of devices, at a time and priority."""

    __tablename__ = "broadcasts"
    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id"))
    priority: Mapped[str] = mapped_column(String(20), index=True)
    play_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
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
    live: Mapped[LiveSession | None] = relationship(uselist=False)
    recurrence: Mapped[Recurrence | None] = relationship(uselist=False)
    plays: Mapped[list[OccurrencePlay]] = relationship(
        order_by="(OccurrencePlay.occurrence.desc(), OccurrencePlay.device_id)", viewonly=True)

    def progress(self, now: datetime | None = None, states: Collection[str] | None = None) -> str:
        """Its state as an officer follows it: "scheduled" (waiting for its time, or weekly), "playing"
        somewhere, "played" (every cluster has finished, at least one played it), "failed" (every cluster finished
        and none played it), else its own state (queued, sent, stopped, live...). ``states``: its deliveries'
        states when already known (a list of broadcasts reads them in one query), else read here."""
        if self.state not in ("queued", "sent"):
            return self.state
        if self.recurrence is not None:
            return "scheduled"
        states = {d.state for d in self.deliveries} if states is None else states
        if states and all(s in FINAL_DELIVERY_STATES for s in states):
            return "played" if "played" in states else "failed"
        if "playing" in states:
            return "playing"
        if self.play_at is not None and self.play_at > (now or utcnow()):
            return "scheduled"
        return self.state

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


class LiveSession(Base):
    """A broadcast spoken live: who speaks, the one-time ticket that lets their microphone in, and how it went.
    Its broadcast's deliveries hold each cluster's real listening span; its recording becomes the bulletin's."""

    __tablename__ = "live_sessions"
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"), primary_key=True)
    session: Mapped[str] = mapped_column(String(40), unique=True)
    """Its name on the wire."""
    speaker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    ticket_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 of the ticket the microphone connects with; cleared once used."""
    state: Mapped[str] = mapped_column(String(20), default="ready")
    """ready (waiting for the microphone), live, ended or failed."""
    max_s: Mapped[int] = mapped_column(Integer)
    groups: Mapped[str] = mapped_column(Text, default="{}")
    """The groups it goes to, as JSON: {group: [device ids] or null for every device of the group}."""
    options: Mapped[str] = mapped_column(Text, default="{}")
    """The microphone's processing chosen (echo cancellation, noise suppression, automatic gain), as JSON."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    frames: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id"))
    """The recording, loudness-normalized as it would air again (once the session ended)."""
    speaker: Mapped[User] = relationship()


class Delivery(Base):
    """One device's part of a broadcast, with the times the device reported."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # A cluster's newest play (the dashboard's rows), and what failed since midnight (its roll-up).
        Index("ix_deliveries_device_finished", "device_id", "state", "finished_at"),
        Index("ix_deliveries_state_updated", "state", "updated_at"),
        # How many clusters of each broadcast are in each state (lists of broadcasts), read from the index alone.
        Index("ix_deliveries_broadcast_state", "broadcast_id", "state"),
    )
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    broadcast: Mapped[Broadcast] = relationship(back_populates="deliveries")
    device: Mapped[Device] = relationship()
