"""Alarms that reach people: each user's subscription (addresses per channel, areas, severity, quiet hours) and
every message sent or being sent to them (one row per subject, person and channel: never sent twice)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from broadcaster.db.base import Base, UTCDateTime, utcnow


class NotifySubscription(Base):
    """How a user wants to be told: where (an address per channel), about what (areas, the lowest severity),
    and when not (quiet hours, local time; a critical alarm ignores them)."""

    __tablename__ = "notify_subscriptions"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    telegram_chat_id: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(10), default="warning")
    """The lowest severity that reaches this user: warning (every alarm) or critical."""
    areas: Mapped[str] = mapped_column(Text, default="[]")
    """JSON list of area ids (each with what is below it) inside the user's own areas; empty: all of them."""
    quiet_from: Mapped[str | None] = mapped_column(String(5))
    quiet_to: Mapped[str | None] = mapped_column(String(5))
    daily_summary: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotifyMessage(Base):
    """One message to one person on one channel: an alarm (``alarm:<id>``), a daily summary
    (``summary:<local date>``) or a test. Written before it is sent; ``error`` keeps every failed attempt."""

    __tablename__ = "notify_messages"
    __table_args__ = (UniqueConstraint("subject", "user_id", "channel", name="uq_notify_message"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(60))
    alarm_id: Mapped[int | None] = mapped_column(ForeignKey("alarms.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    level: Mapped[int] = mapped_column(Integer, default=0)
    """0: the people subscribed; 1, 2...: escalated that many levels up the area tree (admins at the top)."""
    address: Mapped[str] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[str] = mapped_column(Text, default="{}")
    """The JSON a webhook receives (besides title and text)."""
    state: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    """pending (due at ``next_at``), sending, sent, failed (no attempt left)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
