"""``broadcaster demo``: the whole system on one machine, in the foreground, until Ctrl-C or SIGTERM.

Broker, web server, worker and N simulated receivers run as child processes supervised here;
a child that crashes is restarted, and every child is stopped when the demo stops.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import math
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from broadcaster.database import Database
from broadcaster.db import AirtimeRule, Area, AreaOutline, Device, DeviceCredential
from broadcaster.ops.bootstrap import ensure_airtime, ensure_area, ensure_device, ensure_user, new_password, new_token
from broadcaster.ops.broker import (
    BrokerError,
    Mosquitto,
    check_hash,
    free_port,
    mosquitto_hash,
    mosquitto_path,
    wait_for_port,
)
from broadcaster.ops.credentials import device_hashes, write_broker_files
from broadcaster.ops.province import seed_province
from edge_agent.protocol.signing import Signer
from edge_agent.protocol.topics import DEFAULT_ROOT
from edge_agent.settings import dump_toml, write_secret

logger = logging.getLogger(__name__)

COMMUNE = "Xã Hòa Bình"
VILLAGES = ["Thôn Đông", "Thôn Đoài", "Thôn Trung", "Thôn Thượng", "Thôn Hạ", "Xóm Mới", "Bản Nà Lầu",
            "Ấp Phú Lợi", "Thôn Tân Lập", "Thôn Yên Bình"]
SERVER_USER = "broadcaster"


def device_id(index: int) -> str:
    return f"loa-{index:02d}"


def village_name(index: int) -> str:
    base = VILLAGES[(index - 1) % len(VILLAGES)]
    return base if index <= len(VILLAGES) else f"{base} {(index - 1) // len(VILLAGES) + 1}"


DEMO_OFFICERS: dict[str, tuple[str, ...]] = {"bientap": ("editor",), "chutich": ("approver",),
                                             "vanhanh": ("operator",)}
"""Users the demo creates besides the admin, so the approval workflow can be tried as it is meant."""


def load_secrets(data_dir: Path, agents: int) -> dict[str, Any]:
    """Random secrets made at first run and kept (owner-only) in ``secrets.json``; never fixed defaults."""
    path = data_dir / "secrets.json"
    secrets_: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    secrets_.setdefault("admin_password", new_password())
    secrets_.setdefault("token", new_token())
    officers = secrets_.setdefault("officers", {})
    for username in DEMO_OFFICERS:
        officers.setdefault(username, new_password())
    secrets_.setdefault("secret_key", new_token() + new_token())
    mqtt = secrets_.setdefault("mqtt", {})
    mqtt.setdefault(SERVER_USER, new_token())
    for index in range(1, agents + 1):
        mqtt.setdefault(device_id(index), new_token())
    write_secret(path, json.dumps(secrets_, indent=2))
    return secrets_


@dataclass
class Child:
    name: str
    command: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the demo itself is killed, so no process is left behind (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Supervisor:
    def __init__(self) -> None:
        self.children: list[Child] = []

    def start(self, child: Child) -> None:
        child.log.parent.mkdir(parents=True, exist_ok=True)
        with child.log.open("ab") as log:
            child.process = subprocess.Popen(
                child.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        child.started_at = time.monotonic()
        if child not in self.children:
            self.children.append(child)

    def check(self) -> None:
        """Restart any child that exited (a crash must not silently take a part of the demo down)."""
        for child in self.children:
            proc = child.process
            if proc is not None and proc.poll() is not None:
                delay = min(30, 2 ** min(child.restarts, 5))
                if time.monotonic() - child.started_at < delay:
                    continue
                child.restarts += 1
                print(f"  ! {child.name} exited with code {proc.returncode}; restarting (log: {child.log})",
                      flush=True)
                self.start(child)

    def stop_all(self) -> None:
        """Stop the clients first, then the broker (the first child), so goodbyes reach the broker."""
        clients, first = self.children[1:], self.children[:1]
        for group in (clients, first):
            for child in group:
                if child.process is not None and child.process.poll() is None:
                    child.process.terminate()
            deadline = time.monotonic() + 10
            for child in group:
                if child.process is None:
                    continue
                try:
                    child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.process.kill()
                    child.process.wait()


def port_free(port: int) -> bool:
    """Nobody listens on ``port`` (connections of the last run waiting out TIME_WAIT do not count: the
    brokers bind with SO_REUSEADDR too)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def broker_ports(data_dir: Path, one_port: bool) -> tuple[int, int]:
    """The broker's device and server ports, kept in ``broker/ports.json`` across restarts so that the agent.toml
    of a receiver added with ``broadcaster devices add`` stays right; new ones only when another program took
    them. The embedded broker has one port for both."""
    path = data_dir / "broker" / "ports.json"
    saved: dict[str, int] = json.loads(path.read_text()) if path.exists() else {}
    ports: dict[str, int] = {}
    for name in ("devices", "server"):
        old = saved.get(name)
        if name == "server" and one_port:
            ports[name] = ports["devices"]
        elif isinstance(old, int) and old not in ports.values() and port_free(old):
            ports[name] = old
        else:
            ports[name] = free_port()
            if old:
                print(f"broadcaster demo: broker port {old} ({name}) is taken; now {ports[name]}", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ports))
    return ports["devices"], ports["server"]


def store_demo_credentials(session: Any, passwords: dict[str, str]) -> None:
    """The demo receivers' passwords, hashed into the database like any receiver's, so that the broker's
    password files come from the database alone and a receiver added later joins them."""
    for ident, password in passwords.items():
        credential = session.get(DeviceCredential, ident)
        if credential is None:
            credential = DeviceCredential(device_id=ident, mqtt_hash="")
            session.add(credential)
        if not check_hash(password, credential.mqtt_hash):
            credential.mqtt_hash = mosquitto_hash(password)


def prepare(data_dir: Path, port: int, agents: int, one_port: bool = False) -> dict[str, Any]:
    """Write configs, create the database and demo commune; return what the demo needs to start."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    secrets_ = load_secrets(data_dir, agents)
    mqtt_port, server_port = broker_ports(data_dir, one_port)
    secret_dir = data_dir / "secrets"
    write_secret(secret_dir / "web-secret-key", secrets_["secret_key"])
    write_secret(secret_dir / "mqtt-broadcaster", secrets_["mqtt"][SERVER_USER])
    signing_key = secret_dir / "signing.key"
    if not signing_key.exists():
        Signer.generate().save(signing_key)
    public_key = Signer.from_text(signing_key.read_text()).public_text
    server_toml = data_dir / "server.toml"
    write_secret(server_toml, dump_toml({
        "data_dir": str(data_dir),
        "signing": {"key_file": str(signing_key)},
        "mqtt": {"host": "127.0.0.1", "port": server_port, "username": SERVER_USER,
                 "password_file": str(secret_dir / "mqtt-broadcaster"), "topic_root": DEFAULT_ROOT,
                 "device_host": "127.0.0.1", "device_port": mqtt_port},
        "web": {"host": "127.0.0.1", "port": port, "secret_key_file": str(secret_dir / "web-secret-key")},
        # Live microphones: next to the web port (the page finds it on the host it was loaded from).
        "live": {"host": "127.0.0.1", "port": port + 1 if port_free(port + 1) else free_port()},
    }))
    db = Database(f"sqlite:///{data_dir / 'broadcaster.db'}")
    db.create_all()
    with db.session() as session:
        ensure_user(session, "admin", secrets_["admin_password"], secrets_["token"])
        commune = ensure_area(session, COMMUNE, "commune")
        commune.public = True  # the demo shows the citizens' page (/p/<id>); a real commune opts in on Địa bàn
        commune_id = commune.id
        if session.get(AirtimeRule, commune.id) is None:
            # The demo should answer at any hour it is tried; a real commune keeps 05:30-21:30 (or its own).
            ensure_airtime(session, commune, "00:00", "24:00")
        for username, roles in DEMO_OFFICERS.items():  # the workflow needs more than one person
            ensure_user(session, username, secrets_["officers"][username], None, roles, (commune,))
        for index in range(1, agents + 1):
            village = ensure_area(session, village_name(index), "village", commune)
            ensure_device(session, device_id(index), f"Cụm loa {village.name}", village)
        session.flush()
        place_on_the_map(session, commune, [device_id(i) for i in range(1, agents + 1)])
        store_demo_credentials(session, {device_id(i): secrets_["mqtt"][device_id(i)] for i in range(1, agents + 1)})
        session.flush()
        write_broker_files(session, data_dir / "broker", DEFAULT_ROOT, SERVER_USER, secrets_["mqtt"][SERVER_USER])
    db.engine.dispose()
    agent_configs = []
    for index in range(1, agents + 1):
        ident = device_id(index)
        folder = data_dir / "agents" / ident
        config = folder / "agent.toml"
        write_secret(config, dump_toml({
            "device_id": ident,
            "cache_dir": str(folder / "cache"),
            "heartbeat_s": 15.0,
            "trusted_keys": [public_key],
            "mqtt": {"host": "127.0.0.1", "port": mqtt_port, "password": secrets_["mqtt"][ident],
                     "topic_root": DEFAULT_ROOT},
            "audio": {"sink": "file", "played_dir": str(folder / "played")},
        }))
        agent_configs.append((ident, config))
    url = f"http://127.0.0.1:{port}"
    credentials = {"url": url, "username": "admin", "password": secrets_["admin_password"],
                   "token": secrets_["token"], "officers": secrets_["officers"]}
    write_secret(data_dir / "credentials.json", json.dumps(credentials, indent=2, ensure_ascii=False))
    return {"data_dir": data_dir, "mqtt_port": mqtt_port, "mqtt_server_port": server_port,
            "server_toml": server_toml, "agents": agent_configs, "credentials": credentials,
            "server_password": secrets_["mqtt"][SERVER_USER], "commune_id": commune_id}


def use_mosquitto(kind: str) -> bool:
    return kind == "mosquitto" or (kind == "auto" and mosquitto_path() is not None)


def broker_command(kind: str, plan: dict[str, Any]) -> list[str]:
    """The command line of the demo's broker: mosquitto when found (or asked for), else embedded amqtt. Both
    read the password files written from the database into ``broker/``."""
    folder: Path = plan["data_dir"] / "broker"
    if use_mosquitto(kind):
        broker = Mosquitto(folder, {}, DEFAULT_ROOT, SERVER_USER, plan["mqtt_port"], files_dir=folder,
                           server_port=plan["mqtt_server_port"])
        broker.write_config()
        return broker.command()
    return [sys.executable, "-m", "broadcaster.ops.embedded_broker", "--port", str(plan["mqtt_port"]),
            "--passwords", str(folder), "--root", DEFAULT_ROOT, "--server-user", SERVER_USER]


class Accounts:
    """Keeps the demo broker's password files in step with the database: a receiver added with ``broadcaster
    devices add --config <data-dir>/server.toml`` (or given a new password) can connect a few seconds later,
    and the demo's own receivers keep theirs."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.folder: Path = plan["data_dir"] / "broker"
        self.server_password: str = plan["server_password"]
        self.db = Database(f"sqlite:///{plan['data_dir'] / 'broadcaster.db'}")
        self.known = self.read()

    def read(self) -> dict[str, str]:
        with self.db.session() as session:
            return device_hashes(session)

    def refresh(self, broker: Child) -> bool:
        """Rewrite the files and make the broker re-read them when the accounts changed; True if they did."""
        try:
            current = self.read()
        except Exception:  # the database busy or away for a moment: try again at the next round
            logger.exception("reading the receivers' accounts")
            return False
        if current == self.known:
            return False
        with self.db.session() as session:
            write_broker_files(session, self.folder, DEFAULT_ROOT, SERVER_USER, self.server_password)
        self.known = current
        if broker.process is not None and broker.process.poll() is None:
            broker.process.send_signal(signal.SIGHUP)  # mosquitto re-reads its password files; amqtt reads per login
        print(f"  broker: the receivers' accounts changed; {len(current)} receivers may connect", flush=True)
        return True

    def close(self) -> None:
        self.db.engine.dispose()


MAX_FLEET = 20_000
"""The most clusters ``--fleet`` puts on record."""


def run_demo(data_dir: Path, port: int, agents: int, broker: str = "auto", fleet: int = 0) -> int:
    if agents < 1:
        print("broadcaster demo: --agents must be at least 1", file=sys.stderr)
        return 2
    if not 0 <= fleet <= MAX_FLEET:
        print(f"broadcaster demo: --fleet must be between 0 and {MAX_FLEET}", file=sys.stderr)
        return 2
    if wait_for_port(port, timeout=0.2):
        print(f"broadcaster demo: port {port} is already in use; choose another with --port", file=sys.stderr)
        return 2
    if broker == "mosquitto" and mosquitto_path() is None:
        print("broadcaster demo: mosquitto is not installed (apt-get install mosquitto)", file=sys.stderr)
        return 1
    plan = prepare(data_dir, port, agents, one_port=not use_mosquitto(broker))
    data_dir = plan["data_dir"]
    if fleet:
        db = Database(f"sqlite:///{data_dir / 'broadcaster.db'}")
        with db.session() as session:
            seeded = len(seed_province(session, fleet))
        db.engine.dispose()
        print(f"broadcaster demo: a province of {seeded} clusters on record (Tỉnh Mẫu; offline: no receivers)")
    logs = data_dir / "logs"
    try:
        broker_cmd = broker_command(broker, plan)
    except BrokerError as exc:
        print(f"broadcaster demo: {exc}", file=sys.stderr)
        return 1
    if "embedded_broker" in " ".join(broker_cmd):
        print("broadcaster demo: mosquitto not found; using the embedded amqtt broker (demo only)", flush=True)
    py = sys.executable
    stop = {"now": False}

    def request_stop(signum: int, frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    supervisor = Supervisor()
    try:
        broker_child = Child("broker", broker_cmd, logs / "broker.log")
        supervisor.start(broker_child)
        if not (wait_for_port(plan["mqtt_port"]) and wait_for_port(plan["mqtt_server_port"])):
            print("broadcaster demo: the broker did not start; see", logs / "broker.log", file=sys.stderr)
            return 1
        config = str(plan["server_toml"])
        supervisor.start(Child("worker", [py, "-m", "broadcaster.cli", "worker", "--config", config],
                               logs / "worker.log"))
        supervisor.start(Child("web", [py, "-m", "broadcaster.cli", "web", "--config", config], logs / "web.log"))
        for ident, agent_config in plan["agents"]:
            supervisor.start(Child(ident, [py, "-m", "edge_agent.cli", "--config", str(agent_config),
                                           "--audio", "file"], logs / f"{ident}.log"))
        url = plan["credentials"]["url"]
        if not _wait_healthy(url, stop):
            print("broadcaster demo: the web server did not answer; see", logs / "web.log", file=sys.stderr)
            return 1
        creds = plan["credentials"]
        print(f"""
Commune radio demo is running ({agents} simulated receivers).
  Web:       {url}
  User:      {creds['username']}
  Password:  {creds['password']}
  Officers:  {', '.join(f"{name} ({'/'.join(DEMO_OFFICERS[name])})" for name in DEMO_OFFICERS)}; their
             passwords and the API token are in {data_dir / 'credentials.json'}
  Live:      {url}/live (speak into this computer's microphone; chutich or vanhanh may)
  Calendar:  {url}/calendar (what will air, this week)
  Public:    {url}/p/{plan['commune_id']} (what aired, for people who missed it; no login; RSS feed)
  Playback:  {data_dir / 'agents'}/<device>/played/*.wav
  Broker:    receivers on 127.0.0.1:{plan['mqtt_port']}; one more: broadcaster devices add loa-new
             --config {plan['server_toml']} (README)
  Logs:      {logs}
Press Ctrl-C to stop.""", flush=True)
        accounts = Accounts(plan)
        rounds = 0
        while not stop["now"]:
            time.sleep(0.5)
            supervisor.check()
            rounds += 1
            if rounds % 4 == 0:
                accounts.refresh(broker_child)
        accounts.close()
    finally:
        print("Stopping…", flush=True)
        supervisor.stop_all()
    return 0


def _wait_healthy(url: str, stop: dict[str, bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop["now"]:
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


DEMO_CENTRE = (20.95, 105.75)
"""Where the demo's commune lies on its map (made up: it has no real outline)."""


def place_on_the_map(session: Session, commune: Area, devices: list[str]) -> None:
    """The demo's map shows something: the commune's outline (a square of some 6 km) and each cluster on a ring
    inside it; a cluster an operator has placed since stays where they put it."""
    lat, lon = DEMO_CENTRE
    if session.get(AreaOutline, commune.id) is None:
        ring = [[lon - .03, lat - .03], [lon + .03, lat - .03], [lon + .03, lat + .03], [lon - .03, lat + .03],
                [lon - .03, lat - .03]]
        session.add(AreaOutline(area_id=commune.id, geojson=json.dumps({"type": "Polygon", "coordinates": [ring]})))
    for n, ident in enumerate(devices):
        device = session.get(Device, ident)
        if device is not None and device.lat is None:
            angle = 2 * math.pi * n / max(len(devices), 1)
            device.lat, device.lon = round(lat + .02 * math.sin(angle), 6), round(lon + .02 * math.cos(angle), 6)
