"""Ingest: reports stored per second by the worker, against the broker's raw throughput with the same clients.

N simulated receivers (one epoll thread, bench/fleet.py) each publish, as fast as the broker takes them,
heartbeats with delivery and playback events between them (QoS 1, as the receivers' outbox sends events).

Floor: a plain paho subscriber on the same topics, on the same broker, counting what arrives. System:
``broadcaster worker`` as its own process, storing each report (the deliveries advance, the devices' health
is written) and acknowledging it only once stored. Both clocks run from the first publish to the last message
counted, or stored: the last heartbeat of every receiver is in the database.

    .venv/bin/python -m bench.ingest --receivers 500
    .venv/bin/python -m bench.ingest --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.ingest --workers 2 --database-url ...   # two workers share the reports
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func

from bench.fleet import Fleet, Receiver
from bench.stack import ROOT, SERVER_USER, Stack, build, wait
from broadcaster.db import Broadcast, Bulletin, Delivery, DeviceHealth, User
from edge_agent.protocol import Delivery as DeliveryReport
from edge_agent.protocol import Heartbeat, Playback, Topics


class Reporter(Receiver):
    """Publishes its share of reports when told; reads nothing."""

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connected.set()

    def retry(self) -> None:
        pass

    def heartbeat(self, started: float) -> None:
        pass

    def report(self, broadcasts: list[int], n: int, heartbeats: int) -> int:
        """Round ``n`` of ``heartbeats``: a heartbeat (uptime_s counts the rounds), and in the first rounds
        one broadcast's three events. The last round's heartbeat is this receiver's last message."""
        topics, now = self.fleet.topics, datetime.now(UTC)
        self._send(topics.heartbeat(self.id), Heartbeat(now, float(n), "bench", 80).to_bytes())
        if n > len(broadcasts) or n == heartbeats:
            return 1
        broadcast_id = broadcasts[n - 1]
        self._send(topics.event(self.id, "delivery"),
                   DeliveryReport(broadcast_id, "ab" * 32, "delivered", now).to_bytes())
        self._send(topics.event(self.id, "playback"), Playback(broadcast_id, "playing", now, now).to_bytes())
        self._send(topics.event(self.id, "playback"), Playback(broadcast_id, "played", now, now, now).to_bytes())
        return 4


def prepare(stack: Stack, broadcasts: int) -> list[int]:
    """``broadcasts`` already sent to every receiver, waiting for their reports."""
    ids = []
    with stack.db.session() as session:
        user = session.query(User).one()
        for n in range(broadcasts):
            bulletin = Bulletin(title=f"Bản tin {n}", text="Thử.", state="approved", created_by=user.id)
            session.add(bulletin)
            session.flush()
            broadcast = Broadcast(bulletin_id=bulletin.id, priority="normal", state="sent", created_by=user.id,
                                  created_at=datetime.now(UTC), sent_at=datetime.now(UTC))
            session.add(broadcast)
            session.flush()
            session.add_all(Delivery(broadcast_id=broadcast.id, device_id=d, state="pending") for d in stack.devices)
            ids.append(broadcast.id)
    return ids


def publish_all(fleet: Fleet, broadcasts: list[int], heartbeats: int) -> int:
    """Every receiver publishes its reports, round after round, the receivers taking turns as a fleet's
    reports interleave (on the fleet's thread); returns how many."""
    total: list[int] = []
    done = threading.Event()

    def go() -> None:
        for n in range(1, heartbeats + 1):
            for receiver in fleet.receivers.values():
                assert isinstance(receiver, Reporter)
                total.append(receiver.report(broadcasts, n, heartbeats))
        done.set()

    fleet.at(datetime.now(UTC), go)
    done.wait(120)
    return sum(total)


def floor(stack: Stack, fleet: Fleet, broadcasts: list[int], heartbeats: int) -> tuple[int, float]:
    counted = 0
    everything = threading.Event()
    expected = [0]
    lock = threading.Lock()

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        nonlocal counted
        with lock:
            counted += 1
            if expected[0] and counted >= expected[0]:
                everything.set()

    consumer = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="floor-consumer")
    consumer.username_pw_set(SERVER_USER, stack.users[SERVER_USER])
    consumer.on_message = on_message
    consumer.connect("127.0.0.1", stack.broker.server_port)
    consumer.subscribe([(t, 1) for t in [*Topics(ROOT).report_subscriptions(), Topics(ROOT).chunk_requests()]])
    consumer.loop_start()
    time.sleep(1)
    began = time.monotonic()
    total = publish_all(fleet, broadcasts, heartbeats)
    with lock:
        expected[0] = total
        if counted >= total:
            everything.set()
    everything.wait(600)
    elapsed = time.monotonic() - began
    consumer.loop_stop()
    consumer.disconnect()
    return total, elapsed


def stored(stack: Stack, heartbeats: int, receivers: int, deliveries: int, played: bool = True) -> bool:
    with stack.db.session() as session:
        done = session.query(func.count()).select_from(Delivery).filter(Delivery.state == "played").scalar()
        beats = session.query(DeviceHealth.reported).all()
    last = sum(1 for (reported,) in beats if json.loads(reported).get("uptime_s") == float(heartbeats))
    return (done == deliveries or not played) and last == receivers


def run(receivers: int, heartbeats: int, broadcasts: int, database_url: str | None, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        stack = build(Path(tmp), receivers, database_url)
        fleet = Fleet("127.0.0.1", stack.broker.port, ROOT, [], {d: stack.users[d] for d in stack.devices},
                      heartbeat_s=1e9, make=Reporter)
        try:
            if workers > 1:
                stack.write_config(mqtt={"port": stack.broker.server_port,
                                         "password_file": str(stack.tmp / "mqtt-password"),
                                         "shared_subscriptions": True})
            else:
                stack.write_config()
            fleet.start(max(200.0, receivers / 5))
            if not fleet.wait_connected(120):
                raise RuntimeError(fleet.not_connected())
            ids = prepare(stack, broadcasts)
            total, raw_s = floor(stack, fleet, ids, heartbeats)
            for n in range(workers):
                stack.spawn("worker", *(["--name", str(n)] if workers > 1 else []))
            if not wait(lambda: all("started" in p.read_text() for p in Path(tmp).glob("worker*.log")), 60):
                raise RuntimeError("the worker did not start")
            # Warm-up: every receiver's first heartbeat (its health row is made, its silence alarm looked at),
            # as a fleet that has been up a while; then the clock starts.
            publish_all(fleet, [], 1)
            if not wait(lambda: stored(stack, 1, receivers, 0, played=False), 120, interval=0.2):
                raise RuntimeError("the warm-up was not stored")
            began = time.monotonic()
            publish_all(fleet, ids, heartbeats)
            if not wait(lambda: stored(stack, heartbeats, receivers, receivers * broadcasts), 180, interval=0.1):
                raise RuntimeError("not everything was stored within 180 s (with --workers > 1 on mosquitto 2.0: "
                                   "its shared subscriptions were seen to lose reports, docs/scale.md)")
            system_s = time.monotonic() - began
        finally:
            fleet.stop()
            stack.stop()
    raw, system = total / raw_s, total / system_s
    return {"database": "postgresql" if database_url else "sqlite", "workers": workers, "receivers": receivers,
            "messages": total, "raw_broker_msgs_per_s": round(raw), "stored_msgs_per_s": round(system),
            "share_of_raw": round(system / raw, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receivers", type=int, default=500)
    parser.add_argument("--heartbeats", type=int, default=20, help="per receiver (and 3 events per broadcast)")
    parser.add_argument("--broadcasts", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", help="PostgreSQL instead of SQLite (its tables are emptied)")
    args = parser.parse_args()
    if args.heartbeats <= args.broadcasts:
        parser.error("--heartbeats must be more than --broadcasts (each broadcast's events follow a heartbeat)")
    print(json.dumps(run(args.receivers, args.heartbeats, args.broadcasts, args.database_url, args.workers)))


if __name__ == "__main__":
    main()
