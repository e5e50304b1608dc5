"""A central broker restarted under a province's receivers: how their reconnections spread over time, and what
the broker spends on them.

``--receivers`` simulated receivers (bench/fleet.py: each its own account, will, status and subscriptions) on a
real mosquitto (bench/stack.py's, persistent, the production ACL), reconnecting as the receiver does
(edge_agent/link.py: paho's backoff with bounds drawn per receiver, a first retry after 1 to 3 s doubling up to
30 to 60 s). Once all are connected the broker is stopped (SIGTERM: it saves its state) and started again at
once; the figures are, from the moment it listens again, when each receiver had its connection back (its
subscriptions restored), the most connections taken back in one second, and the broker's CPU over the storm
against its CPU at rest with the same fleet.

    .venv/bin/python -m bench.reconnect --receivers 3000
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from bench.fleet import Fleet, Receiver
from bench.stack import ROOT, build, percentile
from broadcaster.ops.broker import wait_for_port

TICK = os.sysconf("SC_CLK_TCK")


class Returning(Receiver):
    """A simulated receiver that retries as the real one does, and notes when it came back."""

    def __init__(self, fleet: Fleet, device_id: str, password: str) -> None:
        super().__init__(fleet, device_id, password)
        self.least, self.most = random.randint(1, 3), random.randint(30, 60)  # edge_agent/link.py's bounds
        self.delay: float | None = None
        self.back_at: float | None = None

    def retry_due(self, moment: float) -> bool:
        if not self.connect_tried:
            return False
        wait = self.least if self.delay is None else self.delay
        if moment - self.connect_tried <= wait:
            return False
        self.delay = float(self.least) if self.delay is None else min(self.delay * 2, self.most)
        return True

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        super()._on_connect(client, userdata, flags, reason, props)
        if not reason.is_failure:
            self.delay = None
            self.back_at = time.monotonic()


def cpu_s(pid: int) -> float:
    """User and system CPU seconds the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run(receivers: int, watch_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        stack = build(Path(tmp), receivers)
        fleet = Fleet("127.0.0.1", stack.broker.port, ROOT, [stack.signer.public_text],
                      {d: stack.users[d] for d in stack.devices}, make=Returning)
        try:
            fleet.start()
            if not fleet.wait_connected(timeout=receivers / 100 + 60):
                raise SystemExit(fleet.not_connected())
            time.sleep(5)  # the first status and subscriptions settle
            assert stack.broker.process is not None
            pid = stack.broker.process.pid
            before = cpu_s(pid)
            time.sleep(10)
            rest_cpu = (cpu_s(pid) - before) / 10
            # As systemd restarts it: the same files, read again (not written again, as the harness's start does).
            stack.broker.process.terminate()
            stack.broker.process.wait(timeout=30)
            down = time.monotonic()
            stack.broker.process = subprocess.Popen(stack.broker.command(), stdout=subprocess.DEVNULL,
                                                    stderr=subprocess.DEVNULL)
            if not wait_for_port(stack.broker.port, timeout=30):
                raise SystemExit("mosquitto did not come back")
            up = time.monotonic()
            pid = stack.broker.process.pid
            samples: list[tuple[float, float]] = [(0.0, cpu_s(pid))]
            done = threading.Event()

            def sample() -> None:
                while not done.wait(1.0):
                    samples.append((time.monotonic() - up, cpu_s(pid)))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            deadline = up + watch_s
            flock = list(fleet.receivers.values())
            while time.monotonic() < deadline and not all(r.back_at and r.back_at > down for r in flock):
                time.sleep(0.5)
            time.sleep(2)
            done.set()
            sampler.join()
            back = sorted(r.back_at - up for r in flock if isinstance(r, Returning) and r.back_at
                          and r.back_at > down)
            per_second = Counter(int(b) for b in back)
            storm_s = max(back) if back else 0.0
            busiest = max(((b[1] - a[1]) / max(1e-9, b[0] - a[0]) for a, b in itertools.pairwise(samples)),
                          default=0.0)
            first_10 = next((c for t, c in samples if t >= 10), samples[-1][1]) - samples[0][1]
            return {
                "receivers": receivers, "restart_s": round(up - down, 2),
                "back": len(back), "not_back_after_s": watch_s if len(back) < receivers else None,
                "back_p50_s": round(percentile(back, 50), 2), "back_p90_s": round(percentile(back, 90), 2),
                "back_last_s": round(storm_s, 2),
                "within_s": {s: sum(1 for b in back if b <= s) for s in (1, 2, 3, 5, 10, 30)},
                "most_in_one_second": max(per_second.values(), default=0),
                "broker_cpu_at_rest": round(rest_cpu, 3), "broker_cpu_busiest_second": round(busiest, 2),
                "broker_cpu_s_first_10_s": round(first_10, 2),
            }
        finally:
            fleet.stop()
            stack.broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receivers", type=int, default=3000)
    parser.add_argument("--watch-s", type=float, default=120.0, help="how long to wait for every receiver")
    args = parser.parse_args()
    print(json.dumps(run(args.receivers, args.watch_s), ensure_ascii=False))


if __name__ == "__main__":
    main()
