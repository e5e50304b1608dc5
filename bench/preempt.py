"""How fast an emergency cuts into what a receiver is playing.

Real mosquitto, worker and one agent with the real-time file sink. Each round: a long normal bulletin
plays, then an emergency is sent. Measured on the device: from the signed schedule with the emergency
reaching it to the normal item being cut off and the emergency starting; and from the emergency's audio
being complete on the device to its playback starting. The issue's target: the emergency plays within 2 s
of reaching the device (audio download included; the server's render time is not).
Run by hand:  .venv/bin/python bench/preempt.py --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rig import start as rig_start
from edge_agent.agent import Agent
from edge_agent.sinks import FileSink

LONG = ("Thông báo về kế hoạch tiêm chủng mở rộng cho trẻ em dưới năm tuổi tại trạm y tế xã. Phụ huynh mang theo "
        "sổ tiêm chủng và giấy khai sinh của trẻ. Trẻ đang sốt hoặc đang ốm cần báo cho cán bộ y tế. ") * 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-preempt-"))
    rig = rig_start(tmp, ["loa-01"])
    cfg = rig.agent_config("loa-01", retry_s=1.0)
    sink = FileSink(cfg.played_dir)
    agent = Agent(cfg, sink)
    marks: dict[str, float] = {}
    real_merge, real_delivered, real_play = agent._merge, agent.fetcher.on_delivered, sink.play

    def merge(schedule: Any) -> None:
        if any(e.priority == "emergency" for e in schedule.entries) and "schedule" not in marks:
            marks["schedule"] = time.monotonic()
        real_merge(schedule)

    def delivered(asset: str) -> None:
        marks.setdefault(f"delivered:{asset}", time.monotonic())
        real_delivered(asset)

    def play(path: Path, label: str, cancel: threading.Event | None = None) -> bool:
        marks[f"start:{label}"] = time.monotonic()
        completed = real_play(path, label, cancel)
        marks[f"end:{label}"] = time.monotonic()
        return completed

    agent._merge, sink.play = merge, play  # type: ignore[method-assign]
    agent.fetcher.on_delivered = delivered
    agent.start()
    client, auth = rig.client, rig.auth

    def send(text: str, priority: str) -> dict[str, Any]:
        return rig.send(text, ["loa-01"], priority)

    def state(broadcast: dict[str, Any]) -> str:
        body = client.get(f"/api/v1/broadcasts/{broadcast['id']}", headers=auth).get_json()
        return str(body["devices"][0]["state"])

    to_start, to_cut, ready_to_start = [], [], []
    for round_ in range(args.rounds):
        marks.clear()
        normal = send(LONG + f" Lần {round_}.", "normal")
        while state(normal) != "playing":
            time.sleep(0.05)
        emergency = send(f"Khẩn cấp: nước lũ lên nhanh, lần {round_}.", "emergency")
        while state(emergency) != "played":
            time.sleep(0.05)
        asset = client.get(f"/api/v1/broadcasts/{emergency['id']}", headers=auth).get_json()["asset"]
        start = marks[f"start:b{emergency['id']}"]
        to_start.append(start - marks["schedule"])
        to_cut.append(marks[f"end:b{normal['id']}"] - marks["schedule"])
        ready_to_start.append(start - marks[f"delivered:{asset}"])
    print(f"rounds: {args.rounds}")
    print(f"emergency schedule on the device -> normal item cut off: median {statistics.median(to_cut):.2f} s, "
          f"max {max(to_cut):.2f} s")
    print(f"emergency schedule on the device -> emergency playing: median {statistics.median(to_start):.2f} s, "
          f"max {max(to_start):.2f} s (includes fetching its audio)")
    print(f"emergency audio complete -> emergency playing: median {statistics.median(ready_to_start):.3f} s, "
          f"max {max(ready_to_start):.3f} s")
    agent.stop()
    rig.stop()


if __name__ == "__main__":
    main()
