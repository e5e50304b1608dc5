"""Tools for fault tests: a link that can be cut or slowed to a weak mobile link's rate, a worker as a real
process, a broker of a test's own, and a tally of what each fault test counted (written to $LOAXA_RELIABILITY
for bench/reliability.py)."""

from __future__ import annotations

import contextlib
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

from broadcaster.ops.broker import Mosquitto
from edge_agent.settings import dump_toml
from tests.support.env import Env, start_broker


class Shaper:
    """One direction of a link: a token bucket of ``rate`` bytes per second (None: as fast as loopback goes),
    and the bytes it carried."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.carried = 0
        self._lock = threading.Lock()
        self._next = 0.0

    def pass_(self, size: int) -> None:
        """Wait until ``size`` more bytes may go; count them."""
        with self._lock:
            self.carried += size
            if self.rate is None:
                return
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + size / self.rate
            delay = self._next - now
        time.sleep(delay)

    def piece(self) -> int:
        """How much to read at once: about 20 ms of the rate, so a change of rate (a stall) takes at once."""
        return 65536 if self.rate is None else int(max(64, min(65536, self.rate / 50)))


class CutLink:
    """A TCP relay to ``target`` that can be cut like a dropped link: open connections are reset, and new
    ones are reset as soon as they arrive, until it is mended. The relay keeps its port the whole time (were
    it to let go, another test could take the port and the relay could not come back). Everything runs in
    daemon threads on loopback.

    It is a weak mobile link too: ``down`` (target to client) and ``up`` rates in bytes per second, each a token
    bucket; ``stall`` slows it to a trickle until ``unstall``; ``down.carried`` and ``up.carried`` count the bytes.
    Its socket to the target reads through a small buffer, so what the target sends waits on its side, as it
    would in front of a shaped link, not in a loopback buffer of megabytes."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1", down: float | None = None,
                 up: float | None = None) -> None:
        self.target = (target_host, target_port)
        self.down, self.up = Shaper(down), Shaper(up)
        self._rates = (down, up)
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
                outside = socket.socket()
                if self.down.rate is not None:
                    outside.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
                    inside.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
                outside.settimeout(5)
                outside.connect(self.target)
                outside.settimeout(None)
            except OSError:
                inside.close()
                continue
            with self._lock:
                self._pairs.append((inside, outside))
            for a, b, shaper in ((inside, outside, self.up), (outside, inside, self.down)):
                threading.Thread(target=self._pump, args=(a, b, shaper), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, shaper: Shaper) -> None:
        try:
            while data := source.recv(shaper.piece()):
                shaper.pass_(len(data))
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            _shut(s)

    def stall(self, down: float = 1000.0, up: float = 1000.0) -> None:
        """A cell that hardly carries anything (1,000 bytes per second: 8 kbit/s) until ``unstall``."""
        self.down.rate, self.up.rate = down, up

    def unstall(self) -> None:
        self.down.rate, self.up.rate = self._rates

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
