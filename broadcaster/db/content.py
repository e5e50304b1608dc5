"""What airs: bulletins (written or recorded), the commune's dictionary, encoded audio and its listening check."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from broadcaster.db.base import Base, UTCDateTime, utcnow
from broadcaster.domain.lifecycle import FINAL_DELIVERY_STATES, ON_AIR

if TYPE_CHECKING:
    from broadcaster.db.airing import Broadcast


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
    voice: Mapped[str | None] = mapped_column(String(63))
    """The voice chosen for it (None: its commune's)."""
    speed: Mapped[float | None] = mapped_column(Float)
    """How fast it is read, times the voice's own (None: 1)."""
    request: Mapped[str | None] = mapped_column(Text)
    """What the writer asked for, as JSON (priority, play_at, targets, repeat): the broadcast it becomes on
    approval unless the leader changes it. None: nothing asked (send now to all)."""
    recording: Mapped[Recording | None] = relationship()
    broadcasts: Mapped[list[Broadcast]] = relationship(viewonly=True, order_by="Broadcast.id")

    def stage(self) -> str:
        """Where it is in its life: draft, submitted, rejected, approved, then scheduled (something still to
        play) and aired (played somewhere, nothing left to play)."""
        if self.state != "approved":
            return self.state
        deliveries = [d for b in self.broadcasts if b.state in ON_AIR for d in b.deliveries]
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
    transcript: Mapped[str | None] = mapped_column(Text)
    """What the offline recognizer heard in it (where the ``asr`` extra is installed): None until it has run."""


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
