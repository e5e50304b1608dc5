"""A node of a three-node NATS cluster (JetStream, MQTT) killed under a steady stream of QoS 1 messages: how long
the broker stops acknowledging, what is lost or doubled, and whether new subscriptions are granted meanwhile
(docs/scale.md, "A clustered broker, measured").

    PYTHONPATH=. .venv/bin/python bench/nats_cluster.py [--rate 50] [--before 5] [--after 25]

The node killed leads the stream of QoS 1 messages (``$MQTT_msgs``); the publisher (the server's user) and the
subscriber (a receiver's persistent session) are on the two other nodes, and a second receiver subscribes to a
new audio topic every half second, as a receiver does for each asset it fetches.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from broadcaster.ops.nats_cluster import NatsCluster, nats_path
from edge_agent.protocol.topics import Topics

SERVER = "broadcaster"


def client(cluster: NatsCluster, node: int, user: str, client_id: str, clean: bool = True) -> mqtt.Client:
    connected = threading.Event()
    result = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean,
                         protocol=mqtt.MQTTv311)
    result.username_pw_set(user, cluster.users[user])
    result.on_connect = lambda c, u, flags, rc, p: connected.set()
    result.connect("127.0.0.1", cluster.ports[node])
    result.loop_start()
    if not connected.wait(15):
        raise SystemExit(f"{client_id} could not connect to node {node + 1}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="QoS 1 messages a second")
    parser.add_argument("--before", type=float, default=5.0, help="seconds of traffic before the kill")
    parser.add_argument("--after", type=float, default=25.0, help="seconds of traffic after the kill")
    args = parser.parse_args()
    if nats_path() is None:
        raise SystemExit("nats-server is not installed (apt-get install nats-server)")
    topics = Topics("bench")
    with tempfile.TemporaryDirectory(prefix="nats-bench-") as folder:
        cluster = NatsCluster(Path(folder), {SERVER: "server-secret", "loa-01": "one", "loa-02": "two"},
                              topics.root, SERVER)
        started = time.monotonic()
        cluster.start()
        print(f"three nodes healthy after {time.monotonic() - started:.2f} s")
        try:
            run(cluster, topics, args)
        finally:
            cluster.stop()


def run(cluster: NatsCluster, topics: Topics, args: argparse.Namespace) -> None:
    client(cluster, 0, SERVER, "first").disconnect()  # the streams are made at the first MQTT connection
    time.sleep(1)
    victim = int(cluster.stream_leaders()["$MQTT_msgs"].removeprefix("n")) - 1
    publisher_node, subscriber_node = (node for node in range(3) if node != victim)
    topic = topics.command("loa-01")
    received: list[bytes] = []
    receiver = client(cluster, subscriber_node, "loa-01", "loa-01", clean=False)
    receiver.on_message = lambda c, u, m: received.append(m.payload)
    receiver.subscribe(topic, 1)
    time.sleep(1)
    acked: dict[int, float] = {}
    sent: dict[int, float] = {}
    publisher = client(cluster, publisher_node, SERVER, "bench-publisher")
    publisher.on_publish = lambda c, u, mid, rc, p: acked.setdefault(mid, time.monotonic())
    granted: list[tuple[float, bool, float]] = []  # (time asked, granted, seconds to the answer)
    asked: dict[int, float] = {}

    def answered(c: mqtt.Client, u: object, mid: int, codes: list, p: object) -> None:
        now = time.monotonic()
        granted.append((asked[mid], not codes[0].is_failure, now - asked[mid]))

    prober = client(cluster, subscriber_node, "loa-02", "loa-02")
    prober.on_subscribe = answered
    count, killed_at = 0, 0.0
    interval = 1 / args.rate
    begin = time.monotonic()
    next_probe = begin
    while time.monotonic() - begin < args.before + args.after:
        now = time.monotonic()
        if not killed_at and now - begin >= args.before:
            cluster.kill(victim)
            killed_at = now
        info = publisher.publish(topic, str(count).encode(), qos=1)
        sent[info.mid] = now
        count += 1
        if killed_at and now >= next_probe:
            _, mid = prober.subscribe(topics.blob_all(f"{count:064x}"), 1)
            if mid is not None:
                asked[mid] = now
            next_probe = now + 0.5
        time.sleep(max(0.0, interval - (time.monotonic() - now)))
    time.sleep(10)  # what is still on its way
    report(args, victim, sent, acked, received, count, killed_at, granted)
    for mqtt_client in (publisher, receiver, prober):
        mqtt_client.disconnect()
        mqtt_client.loop_stop()


def report(args: argparse.Namespace, victim: int, sent: dict[int, float], acked: dict[int, float],
           received: list[bytes], count: int, killed_at: float, granted: list[tuple[float, bool, float]]) -> None:
    ack_times = sorted(acked.values())
    gaps = [(b - a, a) for a, b in itertools.pairwise(ack_times) if b >= killed_at - 1]
    longest, gap_start = max(gaps) if gaps else (0.0, killed_at)
    distinct = {int(p) for p in received}
    refused = [g for g in granted if not g[1]]
    first_granted = min((g[0] - killed_at for g in granted if g[1]), default=float("nan"))
    print(f"killed node n{victim + 1} (leader of $MQTT_msgs) after {args.before:.0f} s of {args.rate:.0f} QoS 1 "
          "messages a second")
    print(f"longest pause between acknowledgements: {longest:.2f} s (from {gap_start - killed_at:+.2f} s of the "
          "kill)")
    print(f"published {count}, acknowledged {len(acked)}, received {len(distinct)} distinct, "
          f"{len(received) - len(distinct)} doubled, {count - len(distinct)} never received")
    print(f"new subscriptions after the kill: {len(granted)} answered, {len(refused)} refused"
          + (f" (the last refused at +{max(g[0] for g in refused) - killed_at:.1f} s)" if refused else "")
          + f"; the first granted was asked at +{first_granted:.1f} s; slowest answer "
          f"{max((g[2] for g in granted), default=float('nan')):.2f} s")


if __name__ == "__main__":
    main()
