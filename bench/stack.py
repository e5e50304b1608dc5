"""The server as production runs it, for the benchmarks: a real mosquitto, a database (SQLite, or PostgreSQL
given its URL), ``broadcaster worker`` and ``broadcaster web`` as processes of their own, and N receivers'
accounts in one commune of ten villages."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from broadcaster.database import Database
from broadcaster.db import Area
from broadcaster.ops.bootstrap import ensure_airtime, ensure_area, ensure_device, ensure_user, new_token
from broadcaster.ops.broker import Mosquitto, free_port, wait_for_port
from broadcaster.ops.province import seed_province
from edge_agent.protocol.signing import Signer
from edge_agent.settings import dump_toml, write_secret

ROOT = "loaxa"
SERVER_USER = "broadcaster"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Stack:
    tmp: Path
    devices: list[str]
    users: dict[str, str]
    broker: Mosquitto
    db: Database
    signer: Signer
    token: str
    port: int = 0
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def http(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session

    def write_config(self, **extra: Any) -> Path:
        write_secret(self.tmp / "mqtt-password", self.users[SERVER_USER] + "\n")
        self.port = self.port or free_port()
        path = self.tmp / "server.toml"
        path.write_text(dump_toml({
            "data_dir": str(self.tmp / "server"), "database_url": str(self.db.engine.url.render_as_string(False)),
            "offline_after_s": 90,
            "mqtt": {"port": self.broker.server_port, "password_file": str(self.tmp / "mqtt-password")},
            "web": {"port": self.port, "threads": 16}, "signing": {"key_file": str(self.tmp / "signing.key")},
            **extra}))
        return path

    def spawn(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        """``broadcaster web`` or ``broadcaster worker`` (more arguments after the config), as systemd runs it."""
        config = self.tmp / "server.toml"
        if not config.exists():
            self.write_config()
        name = "-".join([role, *args[1::2]]) if args else role
        with (self.tmp / f"{name}.log").open("ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "broadcaster.cli", role, "--config", str(config), *args],
                                       stdout=log, stderr=log, env={**os.environ, "MALLOC_ARENA_MAX": "2"})
        self.processes[name] = process
        if role == "web" and not wait_for_port(self.port, timeout=30):
            raise RuntimeError(f"the web process did not start: {(self.tmp / f'{name}.log').read_text()[-2000:]}")
        return process

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.broker.stop()
        self.db.engine.dispose()


def build(tmp: Path, receivers: int, database_url: str | None = None, prefix: str = "sim",
          province: bool = False) -> Stack:
    """Broker started, database made (a PostgreSQL one emptied first), accounts created; no process yet. The
    receivers are in one commune's ten villages, or (``province``) in a province's tree of districts, communes
    and villages of ten clusters each (broadcaster/ops/province.py)."""
    devices = ([f"{prefix}-{n + 1:05d}" for n in range(receivers)] if province
               else [f"{prefix}-{n:04d}" for n in range(receivers)])
    users = {SERVER_USER: secrets.token_urlsafe(16), **{d: secrets.token_urlsafe(12) for d in devices}}
    broker = Mosquitto(tmp / "broker", users, ROOT, SERVER_USER)
    broker.start()
    db = Database(database_url or f"sqlite:///{tmp / 'broadcaster.db'}")
    if database_url:
        db.drop_all()
    db.create_all()
    token = new_token()
    with db.session() as session:
        ensure_user(session, "admin", secrets.token_urlsafe(16), token)
        if province:
            seed_province(session, receivers, prefix=prefix)
            for top in session.query(Area).filter_by(parent_id=None):
                ensure_airtime(session, top, "00:00", "24:00")  # benchmarks run at any hour
        else:
            commune = ensure_area(session, "Xã Tải", "commune")
            ensure_airtime(session, commune, "00:00", "24:00")
            villages = [ensure_area(session, f"Thôn {n + 1}", "village", commune) for n in range(10)]
            for n, device_id in enumerate(devices):
                ensure_device(session, device_id, device_id, villages[n % len(villages)])
    signer = Signer.generate()
    signer.save(tmp / "signing.key")
    return Stack(tmp, devices, users, broker, db, signer, token)


@contextlib.contextmanager
def running(tmp: Path, receivers: int, database_url: str | None = None, roles: tuple[str, ...] = ("worker", "web"),
            **config: Any) -> Iterator[Stack]:
    stack = build(tmp, receivers, database_url)
    try:
        stack.write_config(**config)
        for role in roles:
            stack.spawn(role)
        yield stack
    finally:
        stack.stop()


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def wait(predicate: Any, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
