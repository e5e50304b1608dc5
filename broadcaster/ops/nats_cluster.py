"""A NATS cluster as the receivers' MQTT broker: three ``nats-server`` nodes with JetStream and an MQTT listener
each, clustered on loopback, for the tests and benchmarks that measure it (docs/scale.md, "A clustered broker,
measured"), and the rules it needs written from the same source as mosquitto's ACL (``Topics.device_access``).

NATS has no ACL of its own for MQTT: an MQTT topic ``a/b/c`` is the NATS subject ``a.b.c`` (``+`` is ``*``,
``#`` is ``>``), and each user's publish and subscribe permissions on those subjects are the rules. Unlike
mosquitto's device listener, NATS 2.9 does not tie a client id to the user name (docs/scale.md says what that
allows).
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from broadcaster.ops.broker import BrokerError, free_port, wait_for_port
from edge_agent.protocol.topics import Topics
from edge_agent.settings import write_secret

logger = logging.getLogger(__name__)

NODES = 3
"""JetStream keeps the MQTT sessions and retained messages in streams replicated on up to three nodes: three
nodes survive the loss of one."""

MAX_PAYLOAD = 2 * 1024 * 1024
"""The largest message, as mosquitto's ``max_packet_size`` here: an audio chunk may be up to 1 MiB
(``mqtt.chunk_kib``); NATS's default is 1 MiB, too small for that."""


def nats_path() -> str | None:
    return shutil.which("nats-server") or ("/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists()
                                           else None)


def subject(topic_filter: str) -> str:
    """The NATS subject (or subject filter) of an MQTT topic (or topic filter)."""
    return ".".join({"+": "*", "#": ">"}.get(level, level) for level in topic_filter.split("/"))


def subjects(topic_filter: str) -> list[str]:
    """The subjects a permission on ``topic_filter`` must name: MQTT's ``a/#`` takes in ``a`` itself, which
    NATS's ``a.>`` does not (NATS subscribes to both, and refuses the whole subscription without ``a``)."""
    if topic_filter.endswith("/#"):
        return [subject(topic_filter[:-2]), subject(topic_filter)]
    return [subject(topic_filter)]


DELIVERY = "$MQTT.sub.>"
"""Where NATS delivers a QoS 1 subscription's messages (one subject per subscription, named by the server):
without subscribe permission on it, every QoS 1 subscription is refused ("Unable to create subscription for
JetStream consumer ... subscribe permission violation")."""


def permissions(root: str, user: str, server_user: str) -> dict[str, list[str]]:
    """The subjects ``user`` may publish to and subscribe to: everything under the root for the server's
    user; a device's own topics, the audio and the groups for a device (``Topics.device_access``)."""
    if user == server_user:
        return {"publish": subjects(f"{root}/#"), "subscribe": [*subjects(f"{root}/#"), DELIVERY]}
    rules = Topics(root).device_access(user)
    return {"publish": [s for access, t in rules if access == "write" for s in subjects(t)],
            "subscribe": [*(s for access, t in rules if access == "read" for s in subjects(t)), DELIVERY]}


def authorization(root: str, users: dict[str, str], server_user: str) -> dict[str, object]:
    """The ``authorization`` block every node shares: MQTT connections only, a password and permissions each.
    (Passwords are given in clear here, for tests; a deployment writes bcrypt hashes: docs/scale.md.)"""
    return {"users": [{"user": user, "password": password,
                       "permissions": permissions(root, user, server_user),
                       "allowed_connection_types": ["MQTT"]}
                      for user, password in sorted(users.items())]}


class NatsCluster:
    """Three ``nats-server`` processes clustered on loopback ports, each with its own JetStream store and MQTT
    listener. ``ports[i]`` is node i's MQTT port; ``port`` and ``server_port`` (node 0's) give it the shape
    of :class:`broadcaster.ops.broker.Mosquitto` for the tests' ``Env``."""

    def __init__(self, directory: Path, users: dict[str, str], root: str, server_user: str,
                 nodes: int = NODES) -> None:
        self.directory, self.users, self.root, self.server_user = directory, users, root, server_user
        self.ports = [free_port() for _ in range(nodes)]
        self.client_ports = [free_port() for _ in range(nodes)]
        self.route_ports = [free_port() for _ in range(nodes)]
        self.http_ports = [free_port() for _ in range(nodes)]
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * nodes

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def server_port(self) -> int:
        return self.ports[0]

    def config_text(self, node: int) -> str:
        """Node ``node``'s configuration (NATS reads JSON as its own configuration syntax)."""
        config = {
            "server_name": f"n{node + 1}",
            "host": "127.0.0.1",
            "port": self.client_ports[node],
            "http": f"127.0.0.1:{self.http_ports[node]}",
            "max_payload": MAX_PAYLOAD,
            "jetstream": {"store_dir": str(self.directory / f"n{node + 1}" / "store"),
                          "max_memory_store": 64 * 1024 * 1024, "max_file_store": 1024 * 1024 * 1024},
            "cluster": {"name": "loaxa", "host": "127.0.0.1", "port": self.route_ports[node],
                        "routes": [f"nats-route://127.0.0.1:{p}" for i, p in enumerate(self.route_ports)
                                   if i != node]},
            "mqtt": {"host": "127.0.0.1", "port": self.ports[node],
                     # As mosquitto's in-flight window here: a worker acknowledges reports once stored.
                     "max_ack_pending": 1000, "ack_wait": "30s",
                     # Sessions and retained messages on all three nodes (NATS otherwise counts the nodes it
                     # sees at the first MQTT connection, two while the third is still joining).
                     "stream_replicas": len(self.ports)},
            "authorization": authorization(self.root, self.users, self.server_user),
        }
        return json.dumps(config, indent=2)

    def start(self) -> None:
        if nats_path() is None:
            raise BrokerError("nats-server is not installed (apt-get install nats-server)")
        for node in range(len(self.ports)):
            self.start_node(node, wait=False)
        self.wait_ready()

    def start_node(self, node: int, wait: bool = True) -> None:
        binary = nats_path()
        assert binary is not None
        folder = self.directory / f"n{node + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        conf = folder / "nats.conf"
        write_secret(conf, self.config_text(node))  # it holds the passwords
        self.processes[node] = subprocess.Popen(
            [binary, "-c", str(conf), "-l", str(folder / "nats.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if wait:
            self.wait_ready([node])

    def healthy(self, node: int) -> bool:
        """Whether node ``node`` answers its health check: JetStream up and in step with the cluster."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_ports[node]}/healthz", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def wait_ready(self, nodes: list[int] | None = None, timeout: float = 60.0) -> None:
        """Until every running node (or those named) listens for MQTT and reports itself healthy."""
        chosen = nodes if nodes is not None else [i for i, p in enumerate(self.processes) if p is not None]
        deadline = time.monotonic() + timeout
        for node in chosen:
            left = max(deadline - time.monotonic(), 0.1)
            if not wait_for_port(self.ports[node], timeout=left):
                raise BrokerError(f"nats-server node {node + 1} did not listen: {self.log_tail(node)}")
            while not self.healthy(node):
                if time.monotonic() > deadline:
                    raise BrokerError(f"nats-server node {node + 1} not healthy: {self.log_tail(node)}")
                time.sleep(0.2)
        logger.info("NATS cluster ready; MQTT on ports %s", self.ports)

    def stream_leaders(self) -> dict[str, str]:
        """Which node (``n1``...) leads each of the MQTT streams (``$MQTT_sess``, ``$MQTT_msgs``,
        ``$MQTT_rmsgs``): sessions, QoS 1 messages and retained messages."""
        for node, process in enumerate(self.processes):
            if process is None:
                continue
            url = f"http://127.0.0.1:{self.http_ports[node]}/jsz?accounts=true&streams=true"
            with urllib.request.urlopen(url, timeout=5) as response:
                report = json.load(response)
            return {stream["name"]: stream.get("cluster", {}).get("leader", "")
                    for account in report.get("account_details", []) for stream in account.get("stream_detail", [])}
        return {}

    def log_tail(self, node: int, size: int = 800) -> str:
        log = self.directory / f"n{node + 1}" / "nats.log"
        return log.read_text(errors="replace")[-size:] if log.exists() else ""

    def log(self, node: int) -> str:
        return self.log_tail(node, size=10**7)

    def kill(self, node: int) -> None:
        """A crash of one node: SIGKILL."""
        process, self.processes[node] = self.processes[node], None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def stop(self) -> None:
        for node, process in enumerate(self.processes):
            self.processes[node] = None
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
