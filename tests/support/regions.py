"""A province on hosts of its own (tests/support/hosts.py): a central mosquitto with the broadcaster's worker
in one host, two regional mosquittos bridged to it as config/mosquitto-region.example.conf says, each in a host
of its own behind a veth link, and real ``edge-agent`` processes inside the regional hosts.

Both kinds of broker are written by ``broadcaster.ops.broker`` (the same password files, ACL and bridge lines
an operator gets), so what the tests find holds for those files.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from broadcaster.database import Database
from broadcaster.ops.broker import BrokerError, Mosquitto, bridge_lines, mosquitto_path
from edge_agent.settings import dump_toml
from tests.support.env import DEVICES, EXTRA_DEVICES, SERVER_USER, Env, make_env, wait_until
from tests.support.faults import spawn_worker
from tests.support.hosts import Host, Link, Network

REGIONS = {"a": ["loa-01", "loa-02"], "b": ["loa-03", "loa-x", "loa-late"]}
"""The receivers behind each regional broker: every device of the test server."""

DEVICE_PORT, SERVER_PORT = 1883, 1884
"""Each broker's ports inside its own host (a namespace has ports of its own: no clash with anything)."""


class HostedBroker(Mosquitto):
    """A mosquitto run inside a test host, its device listener on every address of that host."""

    def __init__(self, host: Host, directory: Path, users: dict[str, str], root: str,
                 files_dir: Path | None = None) -> None:
        super().__init__(directory, users, root, SERVER_USER, port=DEVICE_PORT, files_dir=files_dir,
                         server_port=SERVER_PORT)
        self.host = host
        self.bind = "0.0.0.0"

    def start(self) -> None:
        conf = self.write_config()
        binary = mosquitto_path()
        assert binary is not None
        self.process = self.host.popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        if not all(self.host.wait_listening(port) for port in (self.port, self.server_port)):
            self.stop()
            raise BrokerError(f"mosquitto did not start in host {self.host.name}: {self.log()[-500:]}")

    def log(self) -> str:
        path = self.directory / "mosquitto.log"
        return path.read_text() if path.exists() else ""


class Province:
    """Central and regional brokers, the worker and the receivers; ``links[region]`` is the central broker's
    veth to that region (``a`` end in the central host), so its counters are what the centre sent there."""

    def __init__(self, network: Network, folder: Path) -> None:
        self.network, self.folder = network, folder
        self.central_host = network.host("central")
        self.hosts = {name: network.host(f"region-{name}") for name in REGIONS}
        self.links: dict[str, Link] = {name: network.link(self.central_host, host) for name, host in self.hosts.items()}
        users = {user: secrets.token_urlsafe(16) for user in (SERVER_USER, *DEVICES, *EXTRA_DEVICES)}
        self.bridge_users = {name: f"bridge-{name}" for name in REGIONS}
        users.update({user: secrets.token_urlsafe(16) for user in self.bridge_users.values()})
        self.database = Database(f"sqlite:///{folder / 'province.db'}")
        self.database.create_all()
        self.central = HostedBroker(self.central_host, folder / "central", users, root="+")
        self.env: Env = make_env(self.database, self.central, folder)
        root = self.env.config.mqtt.topic_root
        self.central.root = root
        self.central.bridges = tuple(self.bridge_users.values())
        self.central.start()
        self.regional: dict[str, HostedBroker] = {}
        for name, host in self.hosts.items():
            broker = HostedBroker(host, folder / f"region-{name}", {}, root, files_dir=self.central.directory)
            user = self.bridge_users[name]
            broker.extra = bridge_lines(root, "central", self.links[name].a_address, DEVICE_PORT, user, users[user],
                                        restart=(1, 5))
            broker.start()
            self.regional[name] = broker
        for name in REGIONS:
            wait_until(lambda name=name: self.bridged(name), timeout=20)
        spawn_worker(self.env, prefix=self.central_host.command([]))
        self.agents: dict[str, subprocess.Popen[bytes]] = {}
        for name, devices in REGIONS.items():
            for device_id in devices:
                self.spawn_agent(name, device_id)

    @property
    def devices(self) -> list[str]:
        return [device for devices in REGIONS.values() for device in devices]

    def bridged(self, region: str) -> bool:
        """Whether the region's bridge holds an established connection to the central broker."""
        out = self.hosts[region].run(["ss", "-Htn", "state", "established", "dst",
                                      f"{self.links[region].a_address}:{DEVICE_PORT}"]).stdout
        return bool(out.strip())

    def spawn_agent(self, region: str, device_id: str) -> subprocess.Popen[bytes]:
        """A real ``edge-agent`` process inside the region's host, connected to the regional broker."""
        config = self.env.agent_config(device_id)
        config.mqtt.host = self.hosts[region].address
        config.mqtt.port = DEVICE_PORT
        folder = self.folder / "agents"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{device_id}.toml"
        path.write_text(dump_toml(asdict(config)))
        with (folder / f"{device_id}.log").open("ab") as log:
            process = self.hosts[region].popen([sys.executable, "-m", "edge_agent.cli", "--config", str(path)],
                                               stdout=log, stderr=log)
        self.env.processes.append(process)
        self.agents[device_id] = process
        return process

    def online(self) -> set[str]:
        devices = self.env.client.get("/api/v1/devices", headers=self.env.auth).get_json()
        return {d["id"] for d in devices if d["online"]}

    def sent_to(self, region: str) -> int:
        """Bytes the central host has sent over its link to ``region`` so far."""
        return self.links[region].counters()["a_to_b_bytes"]

    def plays(self) -> dict[str, int]:
        """How many times each receiver has played anything (its sink's finished files)."""
        return {device: len(self.env.played_files(device)) for device in self.devices}

    def close(self) -> None:
        self.env.stop()
        for broker in (*self.regional.values(), self.central):
            broker.stop()
        self.database.engine.dispose()


def record(**figures: object) -> None:
    """Keep a measured figure for bench/regions.py when $LOAXA_REGIONS names a file (tests never assert one)."""
    path = os.environ.get("LOAXA_REGIONS")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps(figures) + "\n")
