"""Connecting to the database (SQLite or PostgreSQL) and the sessions every room works in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from broadcaster import db_cap  # noqa: F401  # the CAP tables are part of Base.metadata
from broadcaster.db import Base

DB_DOWN = (OperationalError, InterfaceError)
"""What SQLAlchemy raises while the database cannot be reached (or, for SQLite, stays locked past its timeout)."""


class Database:
    def __init__(self, url: str) -> None:
        kwargs: dict[str, object] = {"pool_pre_ping": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite") and self.engine.url.database not in (None, "", ":memory:"):
            Path(str(self.engine.url.database)).parent.mkdir(parents=True, exist_ok=True)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_all(self) -> None:
        """Create or upgrade the schema to the newest migration (see broadcaster/migrations)."""
        from broadcaster import migrations

        migrations.upgrade(self.engine)

    def drop_all(self) -> None:
        """Drop every table, the migration record included (tests that share a PostgreSQL schema)."""
        Base.metadata.drop_all(self.engine)
        with self.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def _sqlite_pragmas(connection: object, record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    # WAL lets the web app read while the worker writes; busy_timeout waits instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
