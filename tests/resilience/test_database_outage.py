"""The database server goes away for a while (PostgreSQL behind a link the test cuts): officers get 503 with a
retry hint, never 500; the worker keeps the receivers' reports and stores them once the database is back."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from broadcaster.database import Database
from broadcaster.ops.broker import Mosquitto
from tests.support.env import Env, make_env, wait_until
from tests.support.faults import CutLink, Tally
from tests.support.web import login

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                reason="needs a PostgreSQL server (TEST_DATABASE_URL): the fault is that server "
                                       "going away")


@pytest.fixture
def outage(postgres_url: str, broker: Mosquitto, tmp_path: Path) -> Iterator[tuple[Env, CutLink]]:
    real = make_url(postgres_url)
    link = CutLink(real.port or 5432, real.host or "127.0.0.1")
    db = Database(real.set(host="127.0.0.1", port=link.port).render_as_string(hide_password=False))
    db.drop_all()
    db.create_all()
    env = make_env(db, broker, tmp_path)
    yield env, link
    link.mend()
    env.stop()
    db.drop_all()
    db.engine.dispose()
    link.close()


def test_officers_get_503_never_500_and_no_report_is_lost(outage: tuple[Env, CutLink], tally: Tally) -> None:
    env, link = outage
    env.start_worker()
    env.start_agent("loa-01")
    assert login(env) == "/"
    env.prerender("Phát trong lúc máy chủ dữ liệu gián đoạn.")
    play_at = datetime.now(UTC) + timedelta(seconds=10)
    broadcast = env.broadcast("Phát trong lúc máy chủ dữ liệu gián đoạn.", targets=["loa-01"],
                              play_at=play_at.isoformat())
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "delivered"}, timeout=60)

    link.cut()
    cut_at = time.monotonic()
    answers: Counter[int] = Counter()
    bodies = []
    deadline = time.monotonic() + 15  # across play_at: the receiver plays and reports while the database is away
    while time.monotonic() < deadline or not env.played_files("loa-01"):
        for response in (
            env.client.get("/api/v1/broadcasts", headers=env.auth),
            env.client.get("/api/v1/devices", headers=env.auth),
            env.client.post("/api/v1/bulletins", json={"title": "Thử", "text": "Trong lúc mất dữ liệu."},
                            headers=env.auth),
            env.client.get("/dashboard"),
            env.client.get("/bulletins"),
        ):
            answers[response.status_code] += 1
            bodies.append((response.status_code, response.headers.get("Retry-After"), response.get_json(silent=True)))
        time.sleep(0.5)
        assert time.monotonic() < deadline + 30, "the receiver played on time from its own disk"
    assert set(answers) == {503}, answers
    assert all(retry == "5" for _, retry, _ in bodies)
    assert all(body["error"]["code"] == "database_unavailable" for _, _, body in bodies if body is not None)

    link.mend()
    outage_s = time.monotonic() - cut_at
    try:
        wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "played"}, timeout=60)
        lost = 0
    except AssertionError:
        lost = 1
    tally(tried=f"PostgreSQL cut for {outage_s:.0f} s while officers used the API and pages and a receiver "
                "played and reported", requests=sum(answers.values()), lost=lost,
          server_errors=sum(n for code, n in answers.items() if code >= 500 and code != 503))
    assert lost == 0, "the report the worker kept during the outage was stored"
    device = env.status(broadcast["id"])["devices"][0]  # type: ignore[index]
    started = datetime.fromisoformat(device["started_at"])
    assert abs((started - play_at).total_seconds()) < 1.5, "the report kept by the worker has the real start time"
    again = env.client.post("/api/v1/bulletins", json={"title": "Thử", "text": "Đã có dữ liệu trở lại."},
                            headers=env.auth)
    assert again.status_code == 201
    assert env.client.get("/dashboard").status_code == 200, "the officer's session survived the outage"
