"""Tools for fault tests: a link that can be cut, a worker as a real process, a broker of a test's own, and a
tally of what each fault test counted (written to $LOAXA_RELIABILITY for bench/reliability.py)."""

from __future__ import annotations

import contextlib
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

from broadcaster.ops.broker import Mosquitto
from edge_agent.settings import dump_toml
from tests.support.env import Env, start_broker


class CutLink:
    """A TCP relay to ``target`` that can be cut like a dropped link: open connections are reset, and new
    ones are reset as soon as they arrive, until it is mended. The relay keeps its port the whole time (were
    it to let go, another test could take the port and the relay could not come back). Everything runs in
    daemon threads on loopback."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._cut = False
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while True:
            try:
                inside, _ = self._listener.accept()
            except OSError:
                return  # closed
            if self._cut:
                _reset(inside)
                continue
            try:
                outside = socket.create_connection(self.target, timeout=5)
                outside.settimeout(None)
            except OSError:
                inside.close()
                continue
            with self._lock:
                self._pairs.append((inside, outside))
            for a, b in ((inside, outside), (outside, inside)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            _shut(s)

    def cut(self) -> None:
        """Reset every open connection, and every new one until mended."""
        with self._lock:
            self._cut = True
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for s in pair:
                _reset(s)

    def mend(self) -> None:
        self._cut = False

    def close(self) -> None:
        self.cut()
        _shut(self._listener)  # shutdown() before close(): a close() alone leaves accept() blocked
        self._listener.close()


def _reset(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
    _shut(s)
    s.close()


def _shut(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)


def spawn_worker(env: Env, name: str | None = None, prefix: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """The worker as ``broadcaster worker`` runs under systemd, so a test can kill -9 it; ``name`` for one of
    several; ``prefix`` runs it through another command (``ip netns exec HOST``: on a test host of its own)."""
    data = asdict(env.config)
    data["database_url"] = str(env.db.engine.url.render_as_string(hide_password=False))
    if not data["speech"]["voices"]:
        del data["speech"]["voices"]
    path = env.root / "worker.toml"
    path.write_text(dump_toml(data))
    with (env.root / "worker.log").open("ab") as log:
        process = subprocess.Popen([*prefix, sys.executable, "-m", "broadcaster.cli", "worker", "--config", str(path),
                                    *(["--name", name] if name else [])], stdout=log, stderr=log)
    env.processes.append(process)
    return process


def own_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker of the test's own, for tests that crash and restart it (use as ``pytest.fixture(own_broker,
    name="broker")`` in the module)."""
    mosquitto = start_broker(tmp_path / "broker")
    yield mosquitto
    mosquitto.stop()


class Tally:
    """What one fault test tried and counted; written out only when $LOAXA_RELIABILITY names a file."""

    def __init__(self, test: str) -> None:
        self.row: dict[str, object] = {"test": test, "lost": 0, "duplicated": 0, "crashes": 0, "server_errors": 0}

    def __call__(self, **counts: object) -> None:
        self.row.update(counts)
