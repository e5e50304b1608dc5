"""A test server on real parts: a mosquitto on a free loopback port, a database, the real worker, real agents
with a file sink (``Env``); waiting for a condition."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from broadcaster.assets import AssetStore
from broadcaster.config import (
    LiveSettings,
    MqttSettings,
    ServerConfig,
    SigningSettings,
    SpeechSettings,
    WebSettings,
)
from broadcaster.database import Database
from broadcaster.db import Area
from broadcaster.delivery.worker import Worker
from broadcaster.ops.bootstrap import ensure_airtime, ensure_area, ensure_device, ensure_user, new_token
from broadcaster.ops.broker import Mosquitto, free_port
from broadcaster.web import create_app
from edge_agent.agent import Agent
from edge_agent.config import AgentConfig, AudioSettings
from edge_agent.config import MqttSettings as AgentMqtt
from edge_agent.protocol import Message
from edge_agent.protocol.signing import Signer
from edge_agent.settings import dump_toml
from edge_agent.sinks import FileSink

DEVICES = ["loa-01", "loa-02", "loa-03"]


EXTRA_DEVICES = ["loa-late", "loa-x"]


SERVER_USER = "broadcaster"


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.1) -> object:
    """Poll until ``predicate()`` is truthy; fail the test with a clear message otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def start_broker(directory: Path) -> Mosquitto:
    """A mosquitto with a password for the server and for every test device."""
    users = {SERVER_USER: secrets.token_urlsafe(16)}
    users.update({d: secrets.token_urlsafe(16) for d in DEVICES + EXTRA_DEVICES})
    mosquitto = Mosquitto(directory, users, root="+", server_user=SERVER_USER)
    mosquitto.start()
    return mosquitto


class Broker(Protocol):
    """What a test server needs of its broker: a mosquitto, or a NATS cluster (tests/network)."""

    @property
    def port(self) -> int: ...  # the receivers'

    @property
    def server_port(self) -> int: ...  # the worker's

    users: dict[str, str]


class Env:
    """A broadcaster (config, database, API token) wired to the session's broker."""

    def __init__(self, config: ServerConfig, db: Database, token: str, broker: Broker, root: Path) -> None:
        self.config, self.db, self.token, self.broker, self.root = config, db, token, broker, root
        self.app = create_app(config, db, {"TESTING": True})
        self.client = self.app.test_client()
        self.worker: Worker | None = None
        self.agents: dict[str, Agent] = {}
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def user(self, username: str, roles: tuple[str, ...], areas: tuple[str, ...] = ("Xã Thử",)) -> dict[str, str]:
        """A user with these roles working in the named areas; returns its API authorization header."""
        token = new_token()
        with self.db.session() as session:
            places = tuple(session.query(Area).filter_by(name=name).one() for name in areas)
            ensure_user(session, username, f"{username} password 123", token, roles, places)
        return {"Authorization": f"Bearer {token}"}

    def signed(self, topic: str, message: Message, ttl: timedelta = timedelta(days=1)) -> bytes:
        """``message`` signed with this server's key for ``topic``, as the worker sends it."""
        return self.config.signer().sign(topic, message.to_dict(), ttl)

    def start_worker(self) -> Worker:
        self.worker = Worker(self.config, self.db)
        self.worker.start()
        return self.worker

    def agent_config(self, device_id: str, **overrides: object) -> AgentConfig:
        folder = self.root / "agents" / device_id
        config = AgentConfig(
            device_id=device_id,
            cache_dir=str(folder / "cache"),
            heartbeat_s=2.0,
            retry_s=1.0,
            trusted_keys=[self.config.signer().public_text],
            mqtt=AgentMqtt(host="127.0.0.1", port=self.broker.port, password=self.broker.users[device_id],
                           topic_root=self.config.mqtt.topic_root),
            audio=AudioSettings(sink="file", played_dir=str(folder / "played")),
        )
        for key, value in overrides.items():
            setattr(config, key, value)
        return config.check()

    def start_agent(self, device_id: str, **overrides: object) -> Agent:
        config = self.agent_config(device_id, **overrides)
        agent = Agent(config, FileSink(config.played_dir, volume=config.audio.volume))
        agent.start()
        self.agents[device_id] = agent
        return agent

    def spawn_agent(self, device_id: str, **overrides: object) -> subprocess.Popen[bytes]:
        """The agent as a real ``edge-agent`` process, as systemd runs it (so a test can kill -9 it)."""
        config = self.agent_config(device_id, **overrides)
        folder = self.root / "agents"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{device_id}.toml"
        path.write_text(dump_toml(asdict(config)))
        with (folder / f"{device_id}.log").open("ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "edge_agent.cli", "--config", str(path)],
                                       stdout=log, stderr=log)
        self.processes.append(process)
        return process

    def played_files(self, device_id: str) -> list[Path]:
        played = (self.root / "agents" / device_id / "played").glob("*.wav")
        return sorted(p for p in played if not p.name.endswith(".partial.wav"))

    def prerender(self, text: str) -> None:
        """Render ``text`` now, as the officer's preview does: the worker then finds it in the render cache, so a
        broadcast scheduled a few seconds ahead is delivered ahead however busy the machine is."""
        from broadcaster.speech.render import Speech

        with self.db.session() as session:
            Speech(self.config.speech, AssetStore(self.config.asset_dir)).render(session, text)

    def broadcast(self, text: str = "Thông báo thử.", **fields: object) -> dict[str, object]:
        """Create, approve and broadcast a bulletin through the API; returns the broadcast JSON."""
        response = self.client.post("/api/v1/bulletins", json={"title": "Thử", "text": text}, headers=self.auth)
        assert response.status_code == 201, response.get_json()
        bulletin_id = response.get_json()["id"]
        assert self.client.post(f"/api/v1/bulletins/{bulletin_id}/approve", headers=self.auth).status_code == 200
        body = {"bulletin_id": bulletin_id, "targets": ["all"], "priority": "normal", "play_at": None}
        body.update(fields)
        response = self.client.post("/api/v1/broadcasts", json=body, headers=self.auth)
        assert response.status_code == 201, response.get_json()
        result: dict[str, object] = response.get_json()
        return result

    def status(self, broadcast_id: object) -> dict[str, object]:
        result: dict[str, object] = self.client.get(f"/api/v1/broadcasts/{broadcast_id}", headers=self.auth).get_json()
        return result

    def audio_of(self, broadcast_id: object) -> bytes:
        """The encoded audio a broadcast sent."""
        asset = self.status(broadcast_id)["asset"]
        assert isinstance(asset, str), "the broadcast has been rendered"
        return AssetStore(self.config.asset_dir).read(asset)

    def device_states(self, broadcast_id: object) -> dict[str, str]:
        devices = self.status(broadcast_id)["devices"]
        assert isinstance(devices, list)
        return {d["device_id"]: d["state"] for d in devices}

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for agent in self.agents.values():
            agent.stop()
        if self.worker is not None:
            self.worker.stop()


def make_env(database: Database, broker: Broker, tmp_path: Path) -> Env:
    """A server (config, signing key, an admin, a commune of villages with one device each) on ``database``."""
    # Each test gets its own topic root, so retained messages of one test never reach another.
    root = "t" + secrets.token_hex(4)
    signer = Signer.generate()
    signer.save(tmp_path / "signing.key")
    config = ServerConfig(
        data_dir=str(tmp_path / "server"),
        mqtt=MqttSettings(port=broker.server_port, username=SERVER_USER, password=broker.users[SERVER_USER],
                          topic_root=root, client_id=f"worker-{root}"),
        web=WebSettings(),
        signing=SigningSettings(key_file=str(tmp_path / "signing.key")),
        live=LiveSettings(port=free_port()),
        speech=SpeechSettings(transcripts=False),  # the recognizer is heavy: tests of transcripts turn it on
    )
    token = new_token()
    with database.session() as session:
        ensure_user(session, "admin", "correct horse battery", token)
        commune = ensure_area(session, "Xã Thử", "commune")
        ensure_airtime(session, commune, "00:00", "24:00")  # the tests run at any hour; test_airtime sets rules
        for index, device_id in enumerate(DEVICES + EXTRA_DEVICES):
            village = ensure_area(session, f"Thôn {index + 1}", "village", commune)
            ensure_device(session, device_id, f"Cụm loa {index + 1}", village)
    return Env(config, database, token, broker, tmp_path)


def server_client(env: Env, name: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-{env.config.mqtt.topic_root}")
    client.username_pw_set(SERVER_USER, env.broker.users[SERVER_USER])
    client.connect("127.0.0.1", env.broker.server_port)
    client.loop_start()
    return client
