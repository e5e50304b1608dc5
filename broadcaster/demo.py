"""``broadcaster demo``: the whole system on one machine, in the foreground, until Ctrl-C or SIGTERM.

Broker, web server, worker and N simulated receivers run as child processes supervised here;
a child that crashes is restarted, and every child is stopped when the demo stops.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broadcaster.bootstrap import ensure_airtime, ensure_area, ensure_device, ensure_user, new_password, new_token
from broadcaster.broker import BrokerError, Mosquitto, free_port, mosquitto_path, wait_for_port
from broadcaster.db import AirtimeRule, Database
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


def prepare(data_dir: Path, port: int, agents: int) -> dict[str, Any]:
    """Write configs, create the database and demo commune; return what the demo needs to start."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    secrets_ = load_secrets(data_dir, agents)
    mqtt_port = free_port()
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
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port, "username": SERVER_USER,
                 "password_file": str(secret_dir / "mqtt-broadcaster"), "topic_root": DEFAULT_ROOT},
        "web": {"host": "127.0.0.1", "port": port, "secret_key_file": str(secret_dir / "web-secret-key")},
    }))
    db = Database(f"sqlite:///{data_dir / 'broadcaster.db'}")
    db.create_all()
    with db.session() as session:
        ensure_user(session, "admin", secrets_["admin_password"], secrets_["token"])
        commune = ensure_area(session, COMMUNE, "commune")
        if session.get(AirtimeRule, commune.id) is None:
            # The demo should answer at any hour it is tried; a real commune keeps 05:30-21:30 (or its own).
            ensure_airtime(session, commune, "00:00", "24:00")
        for username, roles in DEMO_OFFICERS.items():  # the workflow needs more than one person
            ensure_user(session, username, secrets_["officers"][username], None, roles, (commune,))
        for index in range(1, agents + 1):
            village = ensure_area(session, village_name(index), "village", commune)
            ensure_device(session, device_id(index), f"Cụm loa {village.name}", village)
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
    return {"data_dir": data_dir, "mqtt_port": mqtt_port, "server_toml": server_toml,
            "agents": agent_configs, "credentials": credentials, "users": secrets_["mqtt"]}


def broker_command(kind: str, plan: dict[str, Any]) -> list[str]:
    """The command line of the demo's broker: mosquitto when found (or asked for), else embedded amqtt."""
    data_dir: Path = plan["data_dir"]
    if kind == "mosquitto" or (kind == "auto" and mosquitto_path() is not None):
        broker = Mosquitto(data_dir / "broker", plan["users"], DEFAULT_ROOT, SERVER_USER, plan["mqtt_port"])
        broker.write_config()
        return broker.command()
    from broadcaster.embedded_broker import write_users

    users_file = data_dir / "broker" / "users.json"
    users_file.parent.mkdir(parents=True, exist_ok=True)
    write_users(users_file, plan["users"])
    return [sys.executable, "-m", "broadcaster.embedded_broker", "--port", str(plan["mqtt_port"]),
            "--users", str(users_file), "--root", DEFAULT_ROOT, "--server-user", SERVER_USER]


def run_demo(data_dir: Path, port: int, agents: int, broker: str = "auto") -> int:
    if agents < 1:
        print("broadcaster demo: --agents must be at least 1", file=sys.stderr)
        return 2
    if wait_for_port(port, timeout=0.2):
        print(f"broadcaster demo: port {port} is already in use; choose another with --port", file=sys.stderr)
        return 2
    plan = prepare(data_dir, port, agents)
    data_dir = plan["data_dir"]
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
        supervisor.start(Child("broker", broker_cmd, logs / "broker.log"))
        if not wait_for_port(plan["mqtt_port"]):
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
  Playback:  {data_dir / 'agents'}/<device>/played/*.wav
  Logs:      {logs}
Press Ctrl-C to stop.""", flush=True)
        while not stop["now"]:
            time.sleep(0.5)
            supervisor.check()
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
