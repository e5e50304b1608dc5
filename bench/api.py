"""The officers' API and pages under load, measured with wrk, on a commune-sized database: 1,000 receivers and
100,000 rows of playback log (100 broadcasts to every receiver, spread over the last six days); or a province's
(``--receivers 5000 --broadcasts 200``: 5,000 clusters in a tree of 10 districts, 100 communes and 500 villages,
1,000,000 rows of playback log).

``broadcaster web`` runs as production runs it (waitress, its own process, MALLOC_ARENA_MAX=2); wrk holds
``--connections`` connections open for ``--seconds`` on each path and reports requests per second and the
latency distribution. Pages use a logged-in session cookie; the API a bearer token.

    .venv/bin/python -m bench.api
    .venv/bin/python -m bench.api --receivers 5000 --broadcasts 200
    .venv/bin/python -m bench.api --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    (wrk comes from Debian: apt-get install wrk)
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import insert

from bench.stack import Stack, build, rss_mb
from broadcaster.db import Broadcast, Bulletin, Delivery, User
from broadcaster.ops.bootstrap import ensure_user

PATHS = [
    ("api", "/api/v1/dashboard"),
    ("api", "/api/v1/dashboard?state=offline"),
    ("api", "/api/v1/dashboard/areas"),
    ("api", "/api/v1/devices"),
    ("api", "/api/v1/broadcasts"),
    ("api", "/api/v1/broadcasts/{last}"),
    ("api", "/api/v1/alarms"),
    ("api", "/api/v1/playback"),
    ("api", "/api/v1/reports/airtime"),
    ("page", "/"),
    ("page", "/dashboard"),
    ("page", "/reports"),
]


def fill(stack: Stack, broadcasts: int) -> int:
    """``broadcasts`` played on every receiver over the last six days; returns the last one's id."""
    now = datetime.now(UTC)
    with stack.db.session() as session:
        user = session.query(User).one()
        last = 0
        for n in range(broadcasts):
            at = now - timedelta(days=6) + timedelta(seconds=n * 6 * 86400 / broadcasts)
            bulletin = Bulletin(title=f"Bản tin số {n}", text=f"Thông báo số {n} của xã.", state="approved",
                                created_by=user.id)
            session.add(bulletin)
            session.flush()
            broadcast = Broadcast(bulletin_id=bulletin.id, priority="normal", state="sent", created_by=user.id,
                                  created_at=at, play_at=at, sent_at=at)
            session.add(broadcast)
            session.flush()
            session.execute(insert(Delivery), [
                {"broadcast_id": broadcast.id, "device_id": d, "state": "played" if k % 50 else "missed",
                 "started_at": at, "finished_at": at + timedelta(seconds=95), "updated_at": at}
                for k, d in enumerate(stack.devices)])
            last = broadcast.id
    return last


def login_cookie(stack: Stack, password: str) -> str:
    web = requests.Session()
    page = web.get(f"http://127.0.0.1:{stack.port}/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    answer = web.post(f"http://127.0.0.1:{stack.port}/login", allow_redirects=False,
                      data={"username": "bench", "password": password, "csrf_token": token.group(1) if token else ""})
    if answer.status_code != 302:
        raise RuntimeError(f"login failed: {answer.status_code}")
    return "; ".join(f"{c.name}={c.value}" for c in web.cookies)


def wrk(url: str, header: str, seconds: int, connections: int) -> dict[str, Any]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency",
                          "-H", header, url],
                         capture_output=True, text=True, check=True).stdout

    def ms(text: str) -> float:
        value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
        return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 1)

    p50 = re.search(r"50%\s+(\S+)", out)
    p99 = re.search(r"99%\s+(\S+)", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"requests_per_s": float(rate.group(1)) if rate else 0.0,
            "p50_ms": ms(p50.group(1)) if p50 else None, "p99_ms": ms(p99.group(1)) if p99 else None,
            "non_2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}


def run(receivers: int, broadcasts: int, seconds: int, connections: int, database_url: str | None) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        stack = build(Path(tmp), receivers, database_url, province=receivers > 1000)
        try:
            began = time.monotonic()
            last = fill(stack, broadcasts)
            filled_s = time.monotonic() - began
            password = secrets.token_urlsafe(16)
            with stack.db.session() as session:
                ensure_user(session, "bench", password)
            web = stack.spawn("web")
            cookie = login_cookie(stack, password)
            rows = {}
            for kind, path in PATHS:
                url = f"http://127.0.0.1:{stack.port}{path.format(last=last)}"
                header = f"Authorization: Bearer {stack.token}" if kind == "api" else f"Cookie: {cookie}"
                check = requests.get(url, headers=dict([header.split(": ", 1)]), timeout=60)
                if check.status_code != 200:
                    raise RuntimeError(f"{path}: {check.status_code} {check.text[:200]}")
                rows[path] = {"bytes": len(check.content), **wrk(url, header, seconds, connections)}
            return {"database": "postgresql" if database_url else "sqlite", "receivers": receivers,
                    "playback_rows": receivers * broadcasts, "filled_in_s": round(filled_s, 1),
                    "connections": connections, "seconds_per_path": seconds,
                    "web_resident_mb_after": round(rss_mb(web.pid), 1), "paths": rows}
        finally:
            stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receivers", type=int, default=1000)
    parser.add_argument("--broadcasts", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database-url", help="PostgreSQL instead of SQLite (its tables are emptied)")
    args = parser.parse_args()
    result = run(args.receivers, args.broadcasts, args.seconds, args.connections, args.database_url)
    print(json.dumps({k: v for k, v in result.items() if k != "paths"}, ensure_ascii=False))
    print(f"{'path':32} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'KB':>8} {'non-2xx':>8}")
    for path, row in result["paths"].items():
        print(f"{path:32} {row['requests_per_s']:8.1f} {row['p50_ms']!s:>8} {row['p99_ms']!s:>8} "
              f"{row['bytes'] / 1000:8.1f} {row['non_2xx']:8d}")


if __name__ == "__main__":
    main()
