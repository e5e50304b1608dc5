"""The live dashboard: one row per cluster, changes streamed as Server-Sent Events, alarms raised by the
worker (silence, failures, a wrong clock, refused messages) and acknowledged by operators."""

from __future__ import annotations

import json
import threading

import pytest

from broadcaster.domain import dashboard
from broadcaster.domain.lifecycle import DELIVERY_RANK
from tests.support.env import Env, wait_until


def events_of(text: str) -> list[tuple[str, object]]:
    found = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_the_stream_shows_a_cluster_start_and_stop_playing_without_a_reload(env: Env,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    env.start_worker()
    env.start_agent("loa-01", heartbeat_s=0.5)
    wait_until(lambda: {r["id"]: r for r in env.client.get("/api/v1/dashboard", headers=env.auth).get_json()}
               ["loa-01"]["state"] == "online", timeout=20)
    monkeypatch.setattr(dashboard, "TICK_S", 0.2)
    monkeypatch.setattr(dashboard, "STREAM_S", 25.0)
    collected: list[str] = []

    def listen() -> None:
        response = env.client.get("/api/v1/events", headers=env.auth, buffered=False)
        assert response.mimetype == "text/event-stream"
        for chunk in response.response:  # type: ignore[attr-defined]
            collected.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
            if '"state": "playing"' in "".join(collected) and collected[-1].startswith("event: device") \
                    and '"loa-01"' in collected[-1] and '"state": "online"' in collected[-1]:
                break
        response.close()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    wait_until(lambda: collected, timeout=10)
    broadcast = env.broadcast("Loa thôn một đang phát.", targets=["loa-01"])
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "played"}, timeout=60)
    listener.join(timeout=20)
    states = [row["state"] for kind, row in events_of("".join(collected))  # type: ignore[index]
              if kind == "device" and row["id"] == "loa-01"]  # type: ignore[index]
    assert states[0] == "online" and "playing" in states and states[-1] == "online", states
    playing = next(row for kind, row in events_of("".join(collected))
                   if kind == "device" and row["state"] == "playing")  # type: ignore[index]
    assert playing["now_playing"]["title"] == "Thử"  # type: ignore[index]


def collect(env: Env, url: str, auth: dict[str, str], done: object) -> tuple[threading.Thread, list[str]]:
    """Read a Server-Sent Events stream in a thread until ``done(text so far)`` says enough."""
    collected: list[str] = []

    def listen() -> None:
        response = env.client.get(url, headers=auth, buffered=False)
        assert response.mimetype == "text/event-stream"
        for chunk in response.response:  # type: ignore[attr-defined]
            collected.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
            if done("".join(collected)):  # type: ignore[operator]
                break
        response.close()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    wait_until(lambda: collected, timeout=10)
    return listener, collected


def test_a_short_broadcast_shows_as_playing_between_two_heartbeats(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Heartbeats a minute apart: what the cluster plays reaches the screen from its playback reports."""
    env.start_worker()
    env.start_agent("loa-01", heartbeat_s=60.0)
    wait_until(lambda: env.client.get("/api/v1/dashboard", headers=env.auth).get_json()[0]["state"] == "online",
               timeout=20)
    monkeypatch.setattr(dashboard, "STREAM_S", 40.0)

    def played(text: str) -> bool:
        rows = [row for kind, row in events_of(text) if kind == "device"]
        return any(r["state"] == "playing" for r in rows) and rows[-1]["state"] == "online"  # type: ignore[index]

    listener, collected = collect(env, "/api/v1/events", env.auth, played)
    broadcast = env.broadcast("Khẩn cấp: nước lũ đang lên.", targets=["loa-01"])
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-01": "played"}, timeout=60)
    listener.join(timeout=20)
    states = [row["state"] for kind, row in events_of("".join(collected)) if kind == "device"]  # type: ignore[index]
    assert "playing" in states and states[-1] == "online", states


def test_a_broadcast_page_follows_each_cluster_through_its_own_stream(env: Env,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    env.start_worker()
    env.start_agent("loa-01")
    monkeypatch.setattr(dashboard, "STREAM_S", 40.0)
    broadcast = env.broadcast("Thông báo họp dân.", targets=["loa-01"], play_at=None)

    def finished(text: str) -> bool:
        return any(kind == "delivery" and row["state"] == "played" for kind, row in events_of(text))  # type: ignore[index]

    listener, collected = collect(env, f"/api/v1/broadcasts/{broadcast['id']}/events", env.auth, finished)
    listener.join(timeout=60)
    rows = [row for kind, row in events_of("".join(collected)) if kind == "delivery"]
    states = [r["state"] for r in rows]  # type: ignore[index]
    assert states[-1] == "played" and rows[-1]["started_at"] and rows[-1]["finished_at"], rows  # type: ignore[index]
    ranks = [DELIVERY_RANK[state] for state in states]
    assert ranks == sorted(ranks), f"only forward: {states}"
    # Someone of another commune hears nothing about it.
    from broadcaster.ops.bootstrap import ensure_area

    with env.db.session() as session:
        ensure_area(session, "Xã Bên", "commune")
    other = env.user("b-van-hanh", ("operator",), areas=("Xã Bên",))
    monkeypatch.setattr(dashboard, "STREAM_S", 1.0)
    listener, collected = collect(env, f"/api/v1/broadcasts/{broadcast['id']}/events", other, lambda text: False)
    listener.join(timeout=10)
    assert events_of("".join(collected)) == []


def test_silence_raises_an_alarm_that_clears_when_the_cluster_speaks_and_operators_acknowledge(env: Env) -> None:
    env.config.inactivity_alarm_s = 0
    worker = env.start_worker()
    worker.sweep()
    alarms = env.client.get("/api/v1/alarms", headers=env.auth).get_json()
    assert {a["device_id"] for a in alarms if a["kind"] == "offline"} >= {"loa-01", "loa-02"}
    assert all("no word from" in a["message"] for a in alarms)
    worker.sweep()
    assert len(env.client.get("/api/v1/alarms", headers=env.auth).get_json()) == len(alarms), "raised once"

    env.start_agent("loa-01", heartbeat_s=0.5)

    def cleared() -> bool:
        rows = env.client.get("/api/v1/alarms", headers=env.auth).get_json()
        return any(a["device_id"] == "loa-01" and a["cleared_at"] for a in rows)

    wait_until(cleared, timeout=20)
    operator = env.user("van-hanh", ("operator",))
    editor = env.user("bien-tap", ("editor",))
    target = next(a for a in alarms if a["device_id"] == "loa-02")
    assert env.client.post(f"/api/v1/alarms/{target['id']}/ack", headers=editor).status_code == 403
    assert env.client.post(f"/api/v1/alarms/{target['id']}/ack", headers=operator).status_code == 200
    remaining = {a["id"] for a in env.client.get("/api/v1/alarms", headers=operator).get_json()}
    assert target["id"] not in remaining
    everything = env.client.get("/api/v1/alarms?all=1", headers=operator).get_json()
    assert any(a["id"] == target["id"] and a["acked_at"] for a in everything)


def test_a_failed_broadcast_raises_an_alarm_and_marks_the_cluster(env: Env) -> None:
    env.start_worker()
    env.start_agent("loa-02", cache_max_mb=0.001)  # too small for any audio: the delivery fails
    broadcast = env.broadcast("Bản tin không vừa bộ nhớ.", targets=["loa-02"])
    wait_until(lambda: env.device_states(broadcast["id"]) == {"loa-02": "failed"}, timeout=60)
    alarms = env.client.get("/api/v1/alarms", headers=env.auth).get_json()
    failed = [a for a in alarms if a["kind"] == "playback"]
    assert failed and failed[0]["device_id"] == "loa-02" and "cache full" in failed[0]["message"]
    row = {r["id"]: r for r in env.client.get("/api/v1/dashboard", headers=env.auth).get_json()}["loa-02"]
    assert row["state"] == "failed" and row["alarms"] >= 1


def test_positions_for_the_map(env: Env) -> None:
    operator = env.user("van-hanh", ("operator",))
    response = env.client.put("/api/v1/devices/loa-01/position", headers=operator, json={"lat": 21.03, "lon": 105.85})
    assert response.status_code == 200
    assert env.client.put("/api/v1/devices/loa-01/position", headers=operator,
                          json={"lat": 200, "lon": 1}).status_code == 422
    row = {r["id"]: r for r in env.client.get("/api/v1/dashboard", headers=operator).get_json()}["loa-01"]
    assert (row["lat"], row["lon"]) == (21.03, 105.85)
