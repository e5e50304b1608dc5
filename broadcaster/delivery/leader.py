"""Which worker leads: only the leader renders, signs and publishes, and runs the housekeeping.

Several workers may run (on one host or several) to share the devices' reports; exactly one of them holds the
lead at a time. With PostgreSQL the lead is a session advisory lock held on a connection of its own: it is the
database's word, and it ends by itself when that connection does (a killed worker, a cut link), so a standby
takes over within seconds. With SQLite, which lives on one host, it is an exclusive ``flock`` on a file beside
the database, which the kernel drops with the process.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from broadcaster.database import DB_DOWN, Database

logger = logging.getLogger(__name__)

LOCK_CLASS = 0x4C6F61  # "Loa": the advisory lock's first key; the second names the database and schema, so
# deployments (or test runs) sharing a PostgreSQL server each have a lead of their own.
SCOPE = "hashtext(current_database() || '.' || current_schema())"
# A leader whose database link dies must notice before a standby acts on the lock the database released.
PG_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 2,
                "connect_timeout": 5, "tcp_user_timeout": 9000}


class Leadership:
    """Try to take the lead, check it is still held, let it go. Not thread-safe: one thread drives it."""

    def acquire(self) -> bool:
        raise NotImplementedError

    def holds(self) -> bool:
        """Still the leader (checked now, not remembered)."""
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError


class AdvisoryLock(Leadership):
    def __init__(self, engine: Engine) -> None:
        connect_args: dict[str, Any] = dict(PG_KEEPALIVE) if engine.dialect.driver == "psycopg" else {}
        # Its own connection, outside the pool: the lock lives exactly as long as this connection does.
        self._engine = create_engine(engine.url, poolclass=NullPool, connect_args=connect_args)
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        self.release()
        try:
            connection = self._engine.connect()
            got = connection.execute(text(f"SELECT pg_try_advisory_lock(:cls, {SCOPE})"), {"cls": LOCK_CLASS}).scalar()
            connection.commit()
        except DB_DOWN as exc:
            logger.debug("cannot reach the database for the lead: %s", exc)
            return False
        if got:
            self._connection = connection
            return True
        connection.close()
        return False

    def holds(self) -> bool:
        if self._connection is None:
            return False
        try:
            held = self._connection.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                     "AND granted AND objsubid = 2 AND classid = :cls"), {"cls": LOCK_CLASS}).scalar()
            self._connection.commit()
        except DB_DOWN:
            self._drop()
            return False
        if not held:
            self._drop()
        return bool(held)

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(text(f"SELECT pg_advisory_unlock(:cls, {SCOPE})"), {"cls": LOCK_CLASS})
            self._connection.commit()
        except DB_DOWN:
            pass  # the connection is gone, and the lock with it
        self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(*DB_DOWN):
                self._connection.close()
            self._connection = None


class FileLock(Leadership):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holds(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Alone(Leadership):
    """An in-memory database has one process by definition: it always leads."""

    def acquire(self) -> bool:
        return True

    def holds(self) -> bool:
        return True

    def release(self) -> None:
        pass


def leadership_for(db: Database) -> Leadership:
    url = db.engine.url
    if url.get_backend_name() == "postgresql":
        return AdvisoryLock(db.engine)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return FileLock(Path(f"{url.database}.leader"))
    return Alone()
