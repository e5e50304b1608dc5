"""A whole system in one process for the benchmarks: mosquitto, SQLite, the worker, the API, receivers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broadcaster.config import MqttSettings, ServerConfig, SigningSettings
from broadcaster.database import Database
from broadcaster.delivery.worker import Worker
from broadcaster.ops.bootstrap import ensure_airtime, ensure_area, ensure_device, ensure_user, new_token
from broadcaster.ops.broker import Mosquitto
from broadcaster.web import create_app
from edge_agent.config import AgentConfig, AudioSettings
from edge_agent.config import MqttSettings as AgentMqtt
from edge_agent.protocol.signing import Signer


@dataclass
class Rig:
    tmp: Path
    broker: Mosquitto
    users: dict[str, str]
    db: Database
    config: ServerConfig
    worker: Worker
    client: Any
    auth: dict[str, str]

    def agent_config(self, device_id: str, **changes: Any) -> AgentConfig:
        config = AgentConfig(device_id=device_id, cache_dir=str(self.tmp / device_id / "cache"),
                             trusted_keys=[self.config.signer().public_text],
                             mqtt=AgentMqtt(port=self.broker.port, password=self.users[device_id]),
                             audio=AudioSettings(sink="file", played_dir=str(self.tmp / device_id / "played")))
        for key, value in changes.items():
            setattr(config, key, value)
        return config

    def send(self, text: str, targets: list[str], priority: str = "normal") -> dict[str, Any]:
        """Create, approve and broadcast a bulletin through the API."""
        bid = self.client.post("/api/v1/bulletins", json={"title": "bench", "text": text},
                               headers=self.auth).get_json()["id"]
        self.client.post(f"/api/v1/bulletins/{bid}/approve", headers=self.auth)
        body: dict[str, Any] = self.client.post("/api/v1/broadcasts", headers=self.auth, json={
            "bulletin_id": bid, "targets": targets, "priority": priority, "play_at": None}).get_json()
        return body

    def stop(self) -> None:
        self.worker.stop()
        self.broker.stop()


def start(tmp: Path, device_ids: list[str]) -> Rig:
    users = {"broadcaster": secrets.token_urlsafe(12), **{d: secrets.token_urlsafe(12) for d in device_ids}}
    broker = Mosquitto(tmp / "broker", users, "loaxa", "broadcaster")
    broker.start()
    db = Database(f"sqlite:///{tmp / 'b.db'}")
    db.create_all()
    token = new_token()
    with db.session() as session:
        ensure_user(session, "admin", secrets.token_urlsafe(12), token)
        village = ensure_area(session, "Thôn", "village")
        ensure_airtime(session, village, "00:00", "24:00")  # benchmarks run at any hour
        for device_id in device_ids:
            ensure_device(session, device_id, device_id, village)
    Signer.generate().save(tmp / "signing.key")
    config = ServerConfig(data_dir=str(tmp / "server"), mqtt=MqttSettings(port=broker.server_port,
                          password=users["broadcaster"]), signing=SigningSettings(key_file=str(tmp / "signing.key")))
    worker = Worker(config, db)
    worker.start()
    return Rig(tmp, broker, users, db, config, worker, create_app(config, db).test_client(),
               {"Authorization": f"Bearer {token}"})
