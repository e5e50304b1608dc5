"""Fixtures with real parts: a mosquitto on a free loopback port, SQLite (and PostgreSQL when
TEST_DATABASE_URL is set), the real worker, real agents with a file sink, real ffmpeg and espeak-ng."""

from __future__ import annotations

import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from waitress import wasyncore
from waitress.server import create_server

from broadcaster.database import Database
from broadcaster.ops.broker import Mosquitto, free_port
from tests.support.env import Env, make_env, start_broker

# Hypothesis keeps what it learns under .hypothesis/ in the working directory (the checkout) unless told otherwise;
# read lazily, at its first write, so setting it here is early enough for every test.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY",
                      str(Path(tempfile.gettempdir()) / f"loaxa-hypothesis-{os.getuid()}"))

@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    mosquitto = start_broker(tmp_path_factory.mktemp("broker"))
    yield mosquitto
    mosquitto.stop()


DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """TEST_DATABASE_URL with a schema of this test run's own, so runs sharing a server never collide."""
    base = os.environ["TEST_DATABASE_URL"]
    schema = f"test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = Database(base)
    with admin.engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with admin.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.engine.dispose()


@pytest.fixture(params=DATABASES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        db = Database(request.getfixturevalue("postgres_url"))
        db.drop_all()
    db.create_all()
    yield db
    if request.param != "sqlite":
        db.drop_all()
    db.engine.dispose()


@pytest.fixture
def env(database: Database, broker: Mosquitto, tmp_path: Path) -> Iterator[Env]:
    environment = make_env(database, broker, tmp_path)
    yield environment
    environment.stop()


@pytest.fixture
def site(env: Env) -> Iterator[str]:
    """The env's web app served by waitress on a free port, as ``broadcaster web`` serves it."""
    port = free_port()
    server = create_server(env.app, host="127.0.0.1", port=port, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    # Close every socket from inside waitress's own loop (a trigger thunk runs there): closing them from this
    # thread races the loop's select(), which then fails on a descriptor that was just closed.
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    thread.join(timeout=10)
    server.task_dispatcher.shutdown()
    assert not thread.is_alive(), "the web server stopped"
