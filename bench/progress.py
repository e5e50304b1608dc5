"""From a receiver's report reaching the server to the officer's screen: how late the broadcast page's and the
dashboard's event streams show what a cluster reports.

Real mosquitto, real SQLite, the real worker (its ingest stores the reports) and real agents in this process
(file sink, playing in real time so "playing" lasts as long as the audio). A subscriber of our own on the same
broker notes when each playback report arrives there (the moment it reached the server); the broadcast's event
stream (``/api/v1/broadcasts/{id}/events``, what the broadcast page follows) and the dashboard's
(``/api/v1/events``) note when they show that state. The difference is printed, per state, over the rounds.

    .venv/bin/python bench/progress.py --agents 5 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as mqtt

from bench.e2e_latency import percentile
from bench.rig import start as rig_start
from edge_agent.agent import Agent
from edge_agent.protocol.topics import Topics
from edge_agent.sinks import FileSink

TEXT = "Ủy ban nhân dân xã thông báo: sáng mai tiêm phòng cho trẻ tại trạm y tế xã."


class Arrivals:
    """When each (broadcast, device, state) was first seen, by whoever watches."""

    def __init__(self) -> None:
        self.seen: dict[tuple[int, str, str], float] = {}
        self.lock = threading.Lock()

    def note(self, broadcast_id: int, device_id: str, state: str) -> None:
        with self.lock:
            self.seen.setdefault((broadcast_id, device_id, state), time.monotonic())


def watch_reports(port: int, password: str, arrivals: Arrivals, topics: Topics) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-progress")
    client.username_pw_set("broadcaster", password)

    def on_message(_c: Any, _u: Any, message: Any) -> None:
        report = topics.report_of(message.topic)
        if report and report[1] in ("evt/playback", "evt/delivery"):
            body = json.loads(message.payload)
            arrivals.note(body["broadcast_id"], report[0], body["state"])

    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe(topics.event("+", "+"), qos=1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def watch_stream(client: Any, url: str, auth: dict[str, str], arrivals: Arrivals, broadcast_id: int,
                 done: threading.Event) -> None:
    """Follow an event stream; note each cluster state it shows (dashboard rows: playing, then online again)."""
    response = client.get(url, headers=auth, buffered=False)
    buffer = ""
    for chunk in response.response:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if lines.get("event") == "delivery":
                row = json.loads(lines["data"])
                arrivals.note(broadcast_id, row["device_id"], row["state"])
            elif lines.get("event") == "device":
                row = json.loads(lines["data"])
                if row["state"] == "playing" and row["now_playing"] and row["now_playing"]["id"] == broadcast_id:
                    arrivals.note(broadcast_id, row["id"], "playing")
        if done.is_set():
            break
    response.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-progress-"))
    ids = [f"loa-{i:02d}" for i in range(args.agents)]
    rig = rig_start(tmp, ids)
    topics = Topics()
    agents = []
    for device_id in ids:
        config = rig.agent_config(device_id, heartbeat_s=60)
        agent = Agent(config, FileSink(config.played_dir, realtime=True))
        agent.start()
        agents.append(agent)
    while not all(a.link.ready.is_set() for a in agents):
        time.sleep(0.05)
    reports, page, board = Arrivals(), Arrivals(), Arrivals()
    watcher = watch_reports(rig.broker.server_port, rig.users["broadcaster"], reports, topics)
    lags: dict[str, list[float]] = {"delivered": [], "playing": [], "played": [], "dashboard playing": []}
    try:
        for round_ in range(args.rounds):
            broadcast = rig.send(TEXT + f" Lần {round_ + 1}.", ids)
            done = threading.Event()
            streams = [threading.Thread(target=watch_stream, daemon=True, args=(
                rig.client, f"/api/v1/broadcasts/{broadcast['id']}/events", rig.auth, page, broadcast["id"], done)),
                threading.Thread(target=watch_stream, daemon=True, args=(
                    rig.client, "/api/v1/events", rig.auth, board, broadcast["id"], done))]
            for stream in streams:
                stream.start()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not all(
                    (broadcast["id"], d, "played") in page.seen for d in ids):
                time.sleep(0.1)
            done.set()
            for (bid, device, state), at in list(reports.seen.items()):
                if bid != broadcast["id"]:
                    continue
                if state in lags and (bid, device, state) in page.seen:
                    lags[state].append(page.seen[(bid, device, state)] - at)
                if state == "playing" and (bid, device, state) in board.seen:
                    lags["dashboard playing"].append(board.seen[(bid, device, state)] - at)
            time.sleep(1)  # the streams notice they are done with their next tick
    finally:
        watcher.loop_stop()
        for agent in agents:
            agent.stop()
        rig.stop()
    print(f"report reaching the server -> shown by the event stream; {args.agents} receivers, {args.rounds} rounds")
    for state, values in lags.items():
        if values:
            print(f"  {state:18s} n={len(values):3d}  median {statistics.median(values):.2f} s  "
                  f"p95 {percentile(values, 95):.2f} s  max {max(values):.2f} s")
        else:
            print(f"  {state:18s} never shown")


if __name__ == "__main__":
    main()
