"""Waking the leading worker: work stored by another process (an emergency above all) is dispatched at once,
not at the leader's next polling tick.

Whoever stores such work calls :func:`ask` in the same session. With PostgreSQL that is a ``NOTIFY`` in the
same transaction: the database delivers it when the transaction commits and drops it when it rolls back, to
the leader on any host (it listens on a connection of its own). SQLite lives on one host: once the session has
committed, one datagram goes to a local socket that only the leader binds (an abstract Unix socket named from
the database file, so it needs no file and vanishes with the process that held it).

A wake is a hint, never the record: the work is in the database. A wake sent while no worker listens (the
leader restarting, the notify connection dropped, another host without PostgreSQL) is simply lost, and the
leader's polling tick (``worker.dispatch_poll_s``) finds the work instead; a channel that goes down is opened
again, and the leader dispatches once each time it is (what was stored meanwhile goes then).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from broadcaster.database import Database
from broadcaster.delivery.leader import PG_KEEPALIVE

logger = logging.getLogger(__name__)

CHANNEL = "'loaxa_wake_' || md5(current_database() || '.' || current_schema())"
"""The NOTIFY channel, as SQL: one per database and schema, like the lead (deployments or test runs sharing a
PostgreSQL server wake only their own leader)."""
LISTEN_POLL_S = 0.5
"""How often a listening thread looks up from its wait to see whether it should close."""
RETRY_S = 1.0
"""Wait before a channel that failed is opened again."""
_PENDING = "loaxa_wake"


def ask(session: Session) -> None:
    """Wake the leading worker once this session commits; nothing happens if it rolls back."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_notify({CHANNEL}, '')"))
    elif (name := socket_name(bind.engine.url)) is not None:
        session.info[_PENDING] = name


def socket_name(url: URL) -> bytes | None:
    """The leader's local socket for a SQLite database file (None for an in-memory one: one process only)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    where = str(Path(str(url.database)).resolve())
    return b"\0loaxa-wake-" + hashlib.sha256(where.encode()).hexdigest()[:32].encode()


def poke(name: bytes) -> None:
    """One datagram to the leader's socket; if none is bound (no leader right now) the polling tick will do."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.sendto(b"w", name)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    name = session.info.pop(_PENDING, None)
    if name is not None:
        poke(name)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


class WakeChannel:
    """The leader's end: while open, a thread sets ``woken`` at each wake-up (and once each time the channel
    (re)opens, for what was stored while it was down). Opened on taking the lead, closed on giving it up."""

    def __init__(self, db: Database, woken: threading.Event, stopped: threading.Event) -> None:
        """``stopped``: the worker's own end, which closes the channel too."""
        self.db, self.woken, self._stopped = db, woken, stopped
        self.listening = threading.Event()
        """Set while wakes can arrive (tests and metrics read it)."""
        self.opened = 0
        """How many times the channel was opened (a drop and a reopen count again)."""
        self.backend_pid: int | None = None
        """PostgreSQL: the server process of the listening connection."""
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        url = db.engine.url
        self._pg = url.get_backend_name() == "postgresql"
        self._name = socket_name(url)
        self._engine: Engine | None = None
        if self._pg:
            connect_args: dict[str, Any] = dict(PG_KEEPALIVE) if db.engine.dialect.driver == "psycopg" else {}
            self._engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)

    @property
    def available(self) -> bool:
        """False where nothing can wake the worker (an in-memory SQLite, a PostgreSQL driver other than
        psycopg): it polls."""
        return (self._pg and self.db.engine.dialect.driver == "psycopg") or self._name is not None

    def open(self) -> None:
        if not self.available or (self._thread is not None and self._thread.is_alive()):
            return
        self._closing.clear()
        self._thread = threading.Thread(target=self._run, name="wake", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout=LISTEN_POLL_S * 4 + 5)
            self._thread = None

    def _run(self) -> None:
        failing = False
        while not self._done():
            try:
                if self._pg:
                    self._listen_postgresql()
                else:
                    self._listen_socket()
                failing = False
            except Exception as exc:  # OSError, SQLAlchemy's and psycopg's own (a terminated backend)
                if not failing:  # said once while it lasts, not every retry
                    logger.error("wake channel down (%s: %s); dispatch polls meanwhile", exc.__class__.__name__,
                                 str(exc).strip()[:200])
                failing = True
            finally:
                self.listening.clear()
                self.backend_pid = None
            self._closing.wait(RETRY_S)

    def _done(self) -> bool:
        return self._closing.is_set() or self._stopped.is_set()

    def _ready(self) -> None:
        self.opened += 1
        self.listening.set()
        self.woken.set()  # anything stored while the channel was down goes now

    def _listen_socket(self) -> None:
        assert self._name is not None
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(self._name)
            sock.settimeout(LISTEN_POLL_S)
            self._ready()
            while not self._done():
                try:
                    sock.recv(64)
                except TimeoutError:
                    continue
                self.woken.set()

    def _listen_postgresql(self) -> None:
        assert self._engine is not None
        raw = self._engine.raw_connection()
        try:
            connection: Any = raw.driver_connection
            connection.autocommit = True
            channel = connection.execute(f"SELECT {CHANNEL}").fetchone()[0]
            connection.execute(f'LISTEN "{channel}"')
            self.backend_pid = connection.info.backend_pid
            self._ready()
            while not self._done():
                for _ in connection.notifies(timeout=LISTEN_POLL_S, stop_after=1):
                    self.woken.set()
        finally:
            with contextlib.suppress(Exception):
                raw.close()
