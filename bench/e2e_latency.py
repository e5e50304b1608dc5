"""Time from the API call to each receiver's playback start, and bytes on the wire per minute of speech.

Real mosquitto, real SQLite, the real worker (espeak-ng, ffmpeg) and N real agents in this process
(file sink, not waiting in real time). Run by hand:  .venv/bin/python bench/e2e_latency.py --agents 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rig import start as rig_start
from broadcaster.speech.audio import duration_of
from edge_agent.agent import Agent
from edge_agent.sinks import FileSink

TEXT = ("Ủy ban nhân dân xã thông báo khẩn: bão số 3 đổ bộ lúc 14h30 ngày 20/9, gió giật cấp 12. "
        "Đề nghị bà con chằng chống nhà cửa, không ra khơi, di chuyển đến nơi an toàn.")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    ids = [f"loa-{i:04d}" for i in range(args.agents)]
    rig = rig_start(tmp, ids)
    worker = rig.worker
    agents = []
    for d in ids:
        cfg = rig.agent_config(d, heartbeat_s=30)
        agent = Agent(cfg, FileSink(cfg.played_dir, realtime=False))
        agent.start()
        agents.append(agent)
    while not all(a.link.ready.is_set() for a in agents):
        time.sleep(0.05)
    client, auth = rig.client, rig.auth
    starts: list[float] = []
    renders: list[float] = []
    size = duration = 0.0
    for round_ in range(args.rounds):
        text = TEXT + f" Lần {round_ + 1}."  # a new text each round: includes synthesis
        bid = client.post("/api/v1/bulletins", json={"title": "bench", "text": text}, headers=auth).get_json()["id"]
        client.post(f"/api/v1/bulletins/{bid}/approve", headers=auth)
        t0 = time.time()
        broadcast = client.post("/api/v1/broadcasts", headers=auth, json={
            "bulletin_id": bid, "targets": ["all"], "priority": "emergency", "play_at": None}).get_json()
        sent_at = None
        while True:
            body = client.get(f"/api/v1/broadcasts/{broadcast['id']}", headers=auth).get_json()
            if sent_at is None and body["state"] == "sent":
                sent_at = datetime.fromisoformat(body["sent_at"]).timestamp()
            if all(d["started_at"] for d in body["devices"]):
                break
            time.sleep(0.05)
        renders.append(sent_at - t0 if sent_at else float("nan"))
        starts += [datetime.fromisoformat(d["started_at"]).timestamp() - t0 for d in body["devices"]]
        asset_row = body["asset"]
        size = worker.store.path(asset_row).stat().st_size
        duration = duration_of(worker.store.read(asset_row))
    print(f"agents: {args.agents}, rounds: {args.rounds}, audio: {duration:.1f} s, {size} bytes")
    print(f"render + publish (API call -> sent): median {statistics.median(renders):.2f} s")
    print(f"API call -> playback start: p50 {percentile(starts, 50):.2f} s, p99 {percentile(starts, 99):.2f} s, "
          f"max {max(starts):.2f} s")
    print(f"audio bytes per device per minute of speech: {size / duration * 60 / 1000:.0f} KB")
    for agent in agents:
        agent.stop()
    rig.stop()


if __name__ == "__main__":
    main()
