"""What a receiver costs and how closely receivers start together.

Runs N real ``edge-agent`` processes (file sink) against a real mosquitto and the real worker, all on this
machine. Measures from /proc: each agent's resident memory idle and while playing, and its CPU use while idle;
then one broadcast scheduled a little ahead for all of them, and the spread of the start times the receivers
report (each receiver's own clock; here they share one). Targets (issue 4): under 60 MB resident, under 1% CPU
idle, start spread under 50 ms.
Run by hand:  .venv/bin/python bench/agent.py --agents 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rig import start as rig_start
from edge_agent.settings import dump_toml

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb(pid: int) -> float:
    """Resident memory: what the process really holds in RAM (shared library pages included)."""
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * PAGE / 2**20


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process (its threads and its reaped children) has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / TICKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle CPU measurement")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    ids = [f"loa-{n:03d}" for n in range(args.agents)]
    rig = rig_start(tmp, ids)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for device_id in ids:
            config = rig.agent_config(device_id, heartbeat_s=30.0)
            path = tmp / f"{device_id}.toml"
            path.write_text(dump_toml(asdict(config)))
            procs.append(subprocess.Popen([sys.executable, "-m", "edge_agent.cli", "--config", str(path)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(10)  # connected, first heartbeat sent, settled
        idle_rss = [rss_mb(p.pid) for p in procs]
        before = [cpu_s(p.pid) for p in procs]
        time.sleep(args.idle)
        idle_cpu = [(cpu_s(p.pid) - b) / args.idle * 100 for p, b in zip(procs, before, strict=True)]

        play_at = datetime.now(UTC) + timedelta(seconds=20)
        body = {"title": "bench", "text": "Thông báo của Ủy ban nhân dân xã về lịch tiêm chủng tháng 12. " * 4}
        bulletin = rig.client.post("/api/v1/bulletins", json=body, headers=rig.auth).get_json()["id"]
        rig.client.post(f"/api/v1/bulletins/{bulletin}/approve", headers=rig.auth)
        broadcast = rig.client.post("/api/v1/broadcasts", headers=rig.auth, json={
            "bulletin_id": bulletin, "targets": ["all"], "priority": "normal",
            "play_at": play_at.isoformat()}).get_json()
        playing_rss = list(idle_rss)
        deadline = time.monotonic() + 90
        states: dict[str, dict[str, object]] = {}
        while time.monotonic() < deadline:
            playing_rss = [max(m, rss_mb(p.pid)) for m, p in zip(playing_rss, procs, strict=True)]
            status = rig.client.get(f"/api/v1/broadcasts/{broadcast['id']}", headers=rig.auth).get_json()
            states = {d["device_id"]: d for d in status["devices"]}
            if all(d["state"] == "played" for d in states.values()):
                break
            time.sleep(0.2)
        starts = [datetime.fromisoformat(str(d["started_at"])) for d in states.values() if d["started_at"]]
        late_ms = [(s - play_at).total_seconds() * 1000 for s in starts]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)
        rig.stop()

    played = sum(1 for d in states.values() if d["state"] == "played")
    print(f"{args.agents} edge-agent processes, file sink, one machine ({os.cpu_count()} cores)")
    print(f"resident memory idle:    mean {statistics.mean(idle_rss):.1f} MB, max {max(idle_rss):.1f} MB")
    print(f"resident memory playing: mean {statistics.mean(playing_rss):.1f} MB, max {max(playing_rss):.1f} MB")
    print(f"CPU idle:                mean {statistics.mean(idle_cpu):.2f}%, max {max(idle_cpu):.2f}% "
          f"(over {args.idle:.0f} s)")
    print(f"played: {played}/{args.agents}")
    if starts:
        print(f"start times: spread {max(late_ms) - min(late_ms):.0f} ms (max - min); after play_at: "
              f"min {min(late_ms):.0f} ms, median {statistics.median(late_ms):.0f} ms, max {max(late_ms):.0f} ms")


if __name__ == "__main__":
    main()
