"""Fan-out: an emergency to N receivers, against what the broker alone does with the same bytes.

System: N simulated receivers (bench/fleet.py: the whole protocol, signatures and hashes checked) on a real
mosquitto; ``broadcaster web`` and ``broadcaster worker`` as processes. Each round an officer's click sends a
new emergency (``POST /api/v1/emergency``) to every receiver; the figures are the times from that click to the
alert on the wire (seen by a plain subscriber in a process of its own, beside the receivers), to each receiver
holding the checked audio, and to each receiver starting to play it.

Floor: the same audio bytes, in the same chunks, published raw with paho to N plain subscribers (the same
accounts, the same one-thread client loop) on the same broker; the figure is the time from the first publish
to each subscriber holding every chunk. The ratio of the two p99s is how far the system is from the broker's
own floor on this machine.

The officer listens to the emergency before sending it (the preview renders it, and the broadcast reuses
that audio), as the emergency page has them do; the render is timed apart. Bytes per receiver are the topics
and payloads each receiver got during a round (schedule, manifest, chunks), per minute of speech.

    .venv/bin/python -m bench.fanout --receivers 50 200 1000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.fleet import Fleet, Receiver
from bench.stack import ROOT, SERVER_USER, Stack, percentile, running, wait
from broadcaster.config import MqttSettings

ROOT_DIR = Path(__file__).resolve().parent.parent

TEXT = ("Khẩn cấp. Bão số {n} đang đổ bộ vào đất liền. Bà con ở vùng trũng thấp di chuyển ngay đến nơi "
        "an toàn, không ra sông suối, giữ liên lạc với cán bộ thôn.")


class Listener(Receiver):
    """A plain subscriber: counts the chunks of one floor round and notes when it has them all."""

    topic = ""
    expected = 0

    def __init__(self, fleet: Fleet, device_id: str, password: str) -> None:
        super().__init__(fleet, device_id, password, client_id=f"floor-{device_id}")
        self.got: set[str] = set()
        self.done_at: datetime | None = None

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        client.subscribe(f"{ROOT}/blob/floor/#", qos=1)
        self.connected.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic.startswith(Listener.topic):
            self.got.add(message.topic)
            if len(self.got) == Listener.expected and self.done_at is None:
                self.done_at = datetime.now(UTC)

    def retry(self) -> None:
        pass

    def heartbeat(self, started: float) -> None:
        pass

    def stop(self) -> None:
        self.client.disconnect()


def watch_alerts(port: int, root: str) -> None:
    """The alert watcher's own process: one line with the arrival time of each alert, as the broker hands it
    to a subscriber that does nothing else (the server's account: ``LOAXA_WATCH_PASSWORD``)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-alert-watch")
    client.username_pw_set(SERVER_USER, os.environ["LOAXA_WATCH_PASSWORD"])

    def connected(c: mqtt.Client, *_: Any) -> None:
        c.subscribe(f"{root}/grp/+/alert", qos=1)
        print("ready", flush=True)

    def received(*_: Any) -> None:
        print(datetime.now(UTC).isoformat(), flush=True)

    client.on_connect = connected
    client.on_message = received
    client.connect("127.0.0.1", port)
    client.loop_forever()


class AlertWatch:
    """``watch_alerts`` in a process of its own (not sharing a GIL with the 1,000 simulated receivers)."""

    def __init__(self, stack: Stack) -> None:
        self.seen: list[datetime] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.fanout", "--watch-alerts", str(stack.broker.server_port)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT_DIR,
            env={**os.environ, "LOAXA_WATCH_PASSWORD": stack.users[SERVER_USER]})
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(30):
            raise RuntimeError("the alert watcher did not connect")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip() == "ready":
                self.ready.set()
            else:
                self.seen.append(datetime.fromisoformat(line.strip()))

    def first_after(self, moment: datetime) -> datetime | None:
        return next((t for t in list(self.seen) if t >= moment), None)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def system_rounds(stack: Stack, fleet: Fleet, rounds: int) -> dict[str, Any]:
    """Each round as an officer does it: listen to the emergency first (the preview renders it, and the
    broadcast reuses that audio), then send it; timed from the send."""
    http = stack.http()
    latencies, renders, calls, dispatches, per_minute, assets = [], [], [], [], [], []
    on_wire: list[float] = []
    scheduled: list[float] = []
    complete: list[float] = []
    receivers = list(fleet.receivers.values())
    watch = AlertWatch(stack)
    for n in range(rounds):
        text = TEXT.format(n=n + 1)
        began = time.monotonic()
        http.post(f"{stack.api}/preview", json={"text": text}, timeout=120).raise_for_status()
        renders.append(time.monotonic() - began)
        before = sum(r.received_bytes for r in receivers)
        called = datetime.now(UTC)
        answer = http.post(f"{stack.api}/emergency", json={"title": f"Khẩn cấp {n}", "text": text,
                                                           "targets": ["all"]})
        calls.append((datetime.now(UTC) - called).total_seconds())
        answer.raise_for_status()
        broadcast_id = answer.json()["broadcasts"][0]["id"]
        if not wait(lambda b=broadcast_id: all(b in r.started for r in receivers), timeout=300):
            missing = sum(broadcast_id not in r.started for r in receivers)
            raise RuntimeError(f"round {n}: {missing} receiver(s) never started; errors: {fleet.errors()[:5]}")
        latencies += [(r.started[broadcast_id] - called).total_seconds() for r in receivers]
        scheduled += [(r.scheduled[broadcast_id] - called).total_seconds() for r in receivers]
        complete += [(r.delivered[broadcast_id] - called).total_seconds() for r in receivers]
        alerted = watch.first_after(called)
        if alerted is None:
            raise RuntimeError(f"round {n}: the alert watcher saw no alert")
        on_wire.append((alerted - called).total_seconds())
        state = http.get(f"{stack.api}/broadcasts/{broadcast_id}").json()
        dispatches.append((datetime.fromisoformat(state["sent_at"]) - called).total_seconds())
        asset = state["asset"]
        assets.append(asset)
        time.sleep(1)  # the played reports settle
        received = sum(r.received_bytes for r in receivers) - before
        per_minute.append(received / len(receivers) / (fleet.durations[asset] / 60) / 1000)
    watch.stop()
    return {"latencies": latencies, "renders": renders, "calls": calls, "dispatches": dispatches,
            "on_wire": on_wire,
            "scheduled": scheduled,
            "complete": complete,
            "kb_per_device_minute": per_minute, "assets": assets}


def floor_rounds(stack: Stack, assets: list[str], chunk_size: int, connect_per_s: float) -> list[float]:
    """The same audio, the same chunk size, published raw to plain subscribers; seconds to each's last chunk."""
    listeners = Fleet("127.0.0.1", stack.broker.port, ROOT, [], {d: stack.users[d] for d in stack.devices},
                      heartbeat_s=1e9, make=Listener)
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="floor-publisher")
    publisher.username_pw_set(SERVER_USER, stack.users[SERVER_USER])
    publisher.max_inflight_messages_set(100)
    publisher.max_queued_messages_set(0)
    publisher.connect("127.0.0.1", stack.broker.server_port)
    publisher.loop_start()
    latencies: list[float] = []
    try:
        listeners.start(connect_per_s)
        if not listeners.wait_connected(120):
            raise RuntimeError("not every floor subscriber connected")
        time.sleep(1)  # subscriptions acknowledged
        http = stack.http()
        for n, asset in enumerate(assets):
            audio = http.get(f"{stack.api}/assets/{asset}").content
            chunks = [audio[i:i + chunk_size] for i in range(0, len(audio), chunk_size)]
            Listener.topic, Listener.expected = f"{ROOT}/blob/floor/{n}/", len(chunks)
            subscribers = [r for r in listeners.receivers.values() if isinstance(r, Listener)]
            began = datetime.now(UTC)
            sent = [publisher.publish(f"{Listener.topic}{seq}", chunk, qos=1) for seq, chunk in enumerate(chunks)]
            for info in sent:
                info.wait_for_publish(60)
            if not wait(lambda subs=subscribers: all(s.done_at for s in subs), timeout=300, interval=0.05):
                raise RuntimeError("floor: not every subscriber got every chunk")
            latencies += [(s.done_at - began).total_seconds() for s in subscribers if s.done_at]
            for s in subscribers:
                s.got.clear()
                s.done_at = None
            time.sleep(1)
    finally:
        listeners.stop()
        publisher.loop_stop()
        publisher.disconnect()
    return latencies


def spread(values: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 50), 3), "p99": round(percentile(values, 99), 3),
            "max": round(max(values), 3)}


def run(receivers: int, rounds: int, database_url: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, running(Path(tmp), receivers, database_url) as stack:
        fleet = Fleet("127.0.0.1", stack.broker.port, ROOT, [stack.signer.public_text],
                      {d: stack.users[d] for d in stack.devices}, heartbeat_s=60.0, realtime=False)
        connect_per_s = max(200.0, receivers / 5)
        fleet.start(connect_per_s)
        try:
            if not fleet.wait_connected(120):
                raise RuntimeError(fleet.not_connected())
            time.sleep(2)
            system = system_rounds(stack, fleet, rounds)
            errors = fleet.errors()
        finally:
            fleet.stop()
        chunk_size = 1024 * MqttSettings().chunk_kib
        floor = floor_rounds(stack, system["assets"], chunk_size, connect_per_s)
    sizes = sorted({fleet.sizes[a] for a in system["assets"]})
    result = {
        "receivers": receivers, "rounds": rounds,
        "api_to_playback_s": spread(system["latencies"]),
        "preview_render_s (speech and encoding, before the send)": spread(system["renders"]),
        "api_call_s (the emergency stored, the answer listing every device written)": spread(system["calls"]),
        "click_to_alert_on_the_wire_s (seen by a plain subscriber)": spread(system["on_wire"]),
        "api_to_sent_s (the alert and audio published, marked sent)": spread(system["dispatches"]),
        "api_to_entry_on_receiver_s (its alert, or its schedule)": spread(system["scheduled"]),
        "api_to_audio_checked_on_receiver_s": spread(system["complete"]),
        "floor_raw_publish_to_last_chunk_s": spread(floor),
        "ratio_p99": round(percentile(system["latencies"], 99) / percentile(floor, 99), 2),
        "audio_bytes": sizes,
        "kb_per_device_per_minute_of_speech": round(sum(system["kb_per_device_minute"]) / rounds, 1),
        "fleet_errors": len(errors),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receivers", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", help="PostgreSQL instead of SQLite (its tables are emptied)")
    parser.add_argument("--watch-alerts", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.watch_alerts:
        watch_alerts(args.watch_alerts, ROOT)
        return
    for n in args.receivers:
        print(json.dumps(run(n, args.rounds, args.database_url), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
