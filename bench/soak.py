"""Soak: hundreds of simulated receivers on a real mosquitto while officers use the API, heartbeats flowing.

The server runs as it does in production: ``broadcaster web`` and ``broadcaster worker`` as their own processes,
so their memory is measured apart from the receivers'. Officers write, approve and broadcast to every receiver
and read the dashboard, devices, broadcasts and reports. At the end every broadcast must have played on every
receiver exactly once, every receiver must be heard from, and no request may have failed.

    .venv/bin/python -m bench.soak                        # 500 receivers, 10 minutes
    .venv/bin/python -m bench.soak --receivers 100 --minutes 1
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench.fleet import Fleet
from bench.stack import ROOT, build, rss_mb


@dataclass
class Result:
    receivers: int
    seconds: float
    broadcasts: int = 0
    plays_expected: int = 0
    plays_reported: int = 0
    duplicated: int = 0
    unheard: int = 0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    request_errors: list[str] = field(default_factory=list)
    fleet_errors: list[str] = field(default_factory=list)
    memory: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    """Per server process: (seconds since the fleet connected, resident MB)."""

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.statuses.items() if code >= 500) + len(self.request_errors)

    @property
    def lost(self) -> int:
        return self.plays_expected - self.plays_reported

    def growth_mb(self, process: str) -> float:
        """Resident memory at the end against the first reading after warm-up (a fifth of the run)."""
        samples = self.memory[process]
        settled = [mb for t, mb in samples if t >= self.seconds / 5] or [samples[-1][1]]
        return samples[-1][1] - settled[0]

    def summary(self) -> dict[str, Any]:
        return {"receivers": self.receivers, "seconds": round(self.seconds), "broadcasts": self.broadcasts,
                "plays_expected": self.plays_expected, "plays_reported": self.plays_reported, "lost": self.lost,
                "duplicated": self.duplicated, "unheard_receivers": self.unheard, "api_requests": self.requests,
                "api_5xx_or_failed": self.server_errors, "fleet_errors": len(self.fleet_errors),
                "memory_mb": {p: {"start": round(s[0][1], 1), "end": round(s[-1][1], 1),
                                  "max": round(max(mb for _, mb in s), 1), "growth_after_warmup":
                                  round(self.growth_mb(p), 1)} for p, s in self.memory.items()}}


def run(tmp: Path, receivers: int, seconds: float, heartbeat_s: float = 30.0, every_s: float = 20.0,
        database_url: str | None = None) -> Result:
    stack = build(tmp, receivers, database_url)
    fleet: Fleet | None = None
    result = Result(receivers, seconds)
    try:
        stack.write_config(offline_after_s=int(heartbeat_s * 3))
        stack.spawn("worker")
        stack.spawn("web")
        processes = list(stack.processes.values())
        fleet = Fleet("127.0.0.1", stack.broker.port, ROOT, [stack.signer.public_text],
                      {d: stack.users[d] for d in stack.devices}, heartbeat_s=heartbeat_s, realtime=False)
        fleet.start()
        if not fleet.wait_connected(120):
            raise RuntimeError(fleet.not_connected())
        result.memory = {"worker": [], "web": []}
        began = time.monotonic()
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                for name, process in zip(("worker", "web"), processes, strict=True):
                    result.memory[name].append((time.monotonic() - began, rss_mb(process.pid)))
                stop.wait(max(1.0, seconds / 60))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        api = stack.api
        http = stack.http()

        def call(method: str, path: str, **kwargs: Any) -> Any:
            result.requests += 1
            try:
                response = http.request(method, api + path, timeout=30, **kwargs)
            except requests.RequestException as exc:
                result.request_errors.append(f"{method} {path}: {exc}")
                return None
            result.statuses[response.status_code] += 1
            return response.json() if response.headers.get("Content-Type", "").startswith("application/json") \
                else None

        sent: list[int] = []
        next_send = time.monotonic()
        while time.monotonic() - began < seconds:
            if time.monotonic() >= next_send:
                n = len(sent) + 1
                bulletin = call("POST", "/bulletins", json={"title": f"Bản tin {n}",
                                                            "text": f"Thông báo số {n} của xã gửi bà con."})
                if bulletin and "id" in bulletin:
                    call("POST", f"/bulletins/{bulletin['id']}/approve")
                    broadcast = call("POST", "/broadcasts", json={"bulletin_id": bulletin["id"], "targets": ["all"]})
                    if broadcast and "id" in broadcast:
                        sent.append(broadcast["id"])
                next_send += every_s
            for path in ("/dashboard", "/devices", "/broadcasts", "/alarms", "/reports/airtime"):
                call("GET", path)
            time.sleep(0.5)
        result.broadcasts = len(sent)
        result.plays_expected = len(sent) * receivers

        def played() -> int:
            total = 0
            for broadcast_id in sent:
                answer = call("GET", f"/broadcasts/{broadcast_id}") or {}
                total += sum(d["state"] == "played" for d in answer.get("devices", []))
            return total

        deadline = time.monotonic() + 60 + receivers / 10
        while (reported := played()) < result.plays_expected and time.monotonic() < deadline:
            time.sleep(2)
        result.plays_reported = reported
        stop.set()
        sampler.join()
        listed = call("GET", "/devices") or []
        fresh = datetime.now(UTC) - timedelta(seconds=heartbeat_s * 3)
        result.unheard = sum(1 for d in listed if not d.get("last_seen")
                             or datetime.fromisoformat(d["last_seen"]) < fresh)
        result.duplicated = sum("would play twice" in e for e in fleet.errors())
        result.fleet_errors = fleet.errors()
        return result
    finally:
        if fleet is not None:
            fleet.stop()
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receivers", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--heartbeat-s", type=float, default=30.0)
    parser.add_argument("--database-url", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(Path(tmp), args.receivers, args.minutes * 60, args.heartbeat_s,
                     database_url=args.database_url)
    print(json.dumps(result.summary(), indent=2, ensure_ascii=False))
    for error in (result.request_errors + result.fleet_errors)[:20]:
        print("error:", error)
    for name, samples in result.memory.items():
        print(f"{name} resident MB over time:", " ".join(f"{t:.0f}s={mb:.0f}" for t, mb in samples[::5]))


if __name__ == "__main__":
    main()
