"""A three-node NATS cluster (JetStream, MQTT listener on each node) as the broker: what of our protocol it
carries, measured with raw MQTT clients and with the real worker and receivers (docs/scale.md, "A clustered
broker, measured")."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broadcaster.database import Database
from broadcaster.ops.nats_cluster import NatsCluster, nats_path
from edge_agent.config import MqttSettings as AgentMqtt
from edge_agent.protocol.topics import Topics
from tests.support.env import DEVICES, EXTRA_DEVICES, SERVER_USER, Env, make_env, wait_until

pytestmark = pytest.mark.skipif(nats_path() is None, reason="nats-server is not installed (apt-get install "
                                "nats-server; scripts/test installs it)")

SHORT = "Thông báo: UBND xã tổ chức tiêm phòng lúc 7h30 ngày 25/11."


def start_cluster(directory: Path) -> NatsCluster:
    """Three nodes; a password for the server and for every test device; rules for any topic root (``+``), as
    the tests' mosquitto, so each test keeps its retained messages under a root of its own."""
    users = {SERVER_USER: secrets.token_urlsafe(16)}
    users.update({d: secrets.token_urlsafe(16) for d in DEVICES + EXTRA_DEVICES})
    cluster = NatsCluster(directory, users, root="+", server_user=SERVER_USER)
    cluster.start()
    return cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    nodes = start_cluster(tmp_path_factory.mktemp("nats"))
    yield nodes
    nodes.stop()


@pytest.fixture
def topics() -> Topics:
    return Topics("t" + secrets.token_hex(4))


class Peer:
    """A raw MQTT 3.1.1 client on one node: what it received, what the broker answered to its subscriptions,
    whether its connection was taken away."""

    def __init__(self, cluster: NatsCluster, node: int, user: str, client_id: str | None = None,
                 clean: bool = True) -> None:
        self.received: list[tuple[str, bytes, bool]] = []
        self.granted: list[bool] = []
        self.session_present: bool | None = None
        self.dropped = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or user, clean_session=clean,
                                  protocol=mqtt.MQTTv311)
        self.client.username_pw_set(user, cluster.users[user])
        self.client.on_message = lambda c, u, m: self.received.append((m.topic, m.payload, bool(m.retain)))
        self.client.on_subscribe = lambda c, u, mid, codes, p: self.granted.extend(not r.is_failure for r in codes)
        self.client.on_connect = lambda c, u, flags, rc, p: setattr(self, "session_present", flags.session_present)
        self.client.on_disconnect = lambda c, u, flags, rc, p: self.dropped.set()
        self.client.connect("127.0.0.1", cluster.ports[node])
        self.client.loop_start()
        wait_until(lambda: self.session_present is not None, timeout=15)

    def subscribe(self, *topics: str) -> list[bool]:
        """Whether each subscription was granted."""
        before = len(self.granted)
        self.client.subscribe([(topic, 1) for topic in topics])
        wait_until(lambda: len(self.granted) >= before + len(topics), timeout=15)
        return self.granted[before:]

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(timeout=15)

    def payloads(self, topic: str) -> list[bytes]:
        return [payload for t, payload, _ in self.received if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_retained_messages_and_persistent_sessions_reach_a_receiver_on_any_node(cluster: NatsCluster,
                                                                                topics: Topics) -> None:
    server = Peer(cluster, 0, SERVER_USER, client_id=f"w-{topics.root}")
    server.publish(topics.schedule("loa-01"), b"schedule 1", retain=True)
    receiver = Peer(cluster, 1, "loa-01", clean=False)
    assert receiver.subscribe(topics.schedule("loa-01"), topics.command("loa-01")) == [True, True]
    wait_until(lambda: receiver.received)
    assert receiver.received == [(topics.schedule("loa-01"), b"schedule 1", True)], "the retained schedule"
    receiver.close()
    # Offline: a QoS 1 command waits in its session, which it finds again on another node.
    server.publish(topics.command("loa-01"), b"reboot")
    back = Peer(cluster, 2, "loa-01", clean=False)
    assert back.session_present, "the session outlived the connection"
    wait_until(lambda: back.payloads(topics.command("loa-01")), timeout=15)
    back.close()
    server.close()
    assert back.payloads(topics.command("loa-01")) == [b"reboot"], "delivered once"


def test_a_receiver_reaches_only_its_own_topics(cluster: NatsCluster, topics: Topics) -> None:
    server = Peer(cluster, 0, SERVER_USER, client_id=f"w-{topics.root}", clean=False)
    assert server.subscribe(*topics.report_subscriptions()) == [True, True, True]
    one = Peer(cluster, 1, "loa-01", clean=False)
    assert one.subscribe(topics.schedule("loa-01")) == [True]
    two = Peer(cluster, 2, "loa-02")
    assert two.subscribe(topics.schedule("loa-01")) == [False], "another receiver's schedule"
    assert two.subscribe(f"{topics.root}/#") == [False], "everything"
    assert two.subscribe("$MQTT/sub/#") == [False], "NATS's own delivery subjects"
    assert two.subscribe(topics.group("a1"), topics.blob_all("ab" * 32)) == [True, True], "alerts and audio"
    two.publish(topics.heartbeat("loa-01"), b"forged")  # acknowledged, and dropped
    two.publish(topics.heartbeat("loa-02"), b"own")
    wait_until(lambda: server.payloads(topics.heartbeat("loa-02")))
    assert server.payloads(topics.heartbeat("loa-01")) == [], "a report in another receiver's name"
    # Unlike mosquitto's device listener, NATS lets a user connect with another device's client id: it takes
    # over that device's session and drops its connection, though not what the session holds.
    two.close()
    thief = Peer(cluster, 0, "loa-02", client_id="loa-01", clean=False)
    assert one.dropped.wait(10), "the other device's connection is taken away"
    one.close()
    server.publish(topics.schedule("loa-01"), b"for loa-01 only")
    assert thief.session_present
    thief.close()
    back = Peer(cluster, 1, "loa-01", clean=False)
    wait_until(lambda: back.payloads(topics.schedule("loa-01")), timeout=15)
    assert thief.payloads(topics.schedule("loa-01")) == []
    for peer in (back, server):
        peer.close()


def test_our_topic_names_and_chunk_sizes_are_carried_but_dots_and_shared_subscriptions_are_not(
        cluster: NatsCluster, topics: Topics) -> None:
    asset = "ab" * 32
    receiver = Peer(cluster, 1, "loa-03")
    chunk_topics = [topics.chunk(asset, 0), topics.group_chunk("a12", asset, 4095), topics.alert("a12"),
                    topics.live_audio("a12")]
    assert receiver.subscribe(topics.blob_all(asset), topics.group("a12")) == [True, True]
    server = Peer(cluster, 0, SERVER_USER, client_id=f"w-{topics.root}")
    largest = secrets.token_bytes(1024 * 1024 + 1024)  # mqtt.chunk_kib's largest chunk, and its framing
    for topic in chunk_topics:
        server.publish(topic, largest, retain=True)
    wait_until(lambda: len(receiver.received) == len(chunk_topics), timeout=20)
    assert all(payload == largest for _, payload, _ in receiver.received)
    # Shared subscriptions: NATS reads "$share/..." as a topic of that name (which the rules of a server user
    # with a fixed root refuse outright): a worker sharing the reports never gets one.
    sharing = Peer(cluster, 2, SERVER_USER, client_id=f"w2-{topics.root}")
    sharing.subscribe(f"$share/workers/{topics.heartbeat('+')}")
    server.subscribe(topics.heartbeat("+"))
    receiver.publish(topics.heartbeat("loa-03"), b"alive")
    wait_until(lambda: server.payloads(topics.heartbeat("loa-03")))
    assert sharing.received == [], "nothing through the shared subscription"
    sharing.close()
    # A dot in a topic (in the topic root, say) ends the connection.
    server.client.publish(f"{topics.root}/dev/loa.03/hb", b"x", qos=1)
    assert server.dropped.wait(10), "the connection is closed"
    for peer in (receiver, server):
        peer.close()


def test_the_real_worker_and_receivers_on_different_nodes(cluster: NatsCluster, database: Database,
                                                          tmp_path: Path) -> None:
    env = make_env(database, cluster, tmp_path)
    try:
        run_broadcast(env, cluster, worker_node=0, receiver_nodes=[1, 2, 1])
    finally:
        env.stop()


def run_broadcast(env: Env, cluster: NatsCluster, worker_node: int, receiver_nodes: list[int]) -> None:
    """The worker on one node, each receiver on its node: a bulletin to all of them is played once each and
    reported played. (A node killed meanwhile: bench/nats_cluster.py, docs/scale.md.)"""
    env.config.mqtt.port = cluster.ports[worker_node]
    env.start_worker()
    for device_id, node in zip(DEVICES, receiver_nodes, strict=True):
        env.start_agent(device_id, mqtt=AgentMqtt(host="127.0.0.1", port=cluster.ports[node],
                                                  password=cluster.users[device_id],
                                                  topic_root=env.config.mqtt.topic_root))
    wait_until(lambda: all(d["online"] for d in env.client.get("/api/v1/devices", headers=env.auth).get_json()
                           if d["id"] in DEVICES), timeout=30)
    env.prerender(SHORT)
    broadcast = env.broadcast(SHORT, targets=DEVICES)
    wait_until(lambda: set(env.device_states(broadcast["id"]).values()) == {"played"}, timeout=90)
    assert env.status(broadcast["id"])["state"] == "sent"
    for device_id in DEVICES:
        assert len(env.played_files(device_id)) == 1, f"{device_id} played the bulletin exactly once"
