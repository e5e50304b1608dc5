"""What every table shares: the declarative base, times stored as UTC, ids a column can hold, token hashes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase

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


def token_hash(token: str) -> str:
    """API tokens are stored only as their SHA-256 (they are long random strings, so no KDF is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()
