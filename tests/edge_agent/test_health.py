"""Receivers report their health; the server notices a receiver whose clock is wrong."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_agent import health
from tests.support.env import Env, wait_until


def test_health_readings_come_from_the_system(tmp_path: Path) -> None:
    state = health.read(tmp_path)
    assert state.disk_free_mb is not None and state.disk_free_mb > 0
    assert state.mem_available_mb is not None and state.mem_available_mb > 0
    assert state.load_1m is not None and state.load_1m >= 0
    assert state.ntp_synced in (True, False, None)


def test_the_kernel_clock_discipline_is_read_in_milliseconds() -> None:
    synced = health._Timex(offset=-1500, esterror=2000, status=0)  # microseconds
    assert health._clock_of(0, synced) == health.Clock(True, -1.5, 2.0)
    nano = health._Timex(offset=2_500_000, esterror=500, status=health.STA_NANO)
    assert health._clock_of(0, nano) == health.Clock(True, 2.5, 0.5)
    # No NTP daemon has touched the clock: nothing about its offset is known, and we do not pretend.
    assert health._clock_of(0, health._Timex(status=health.STA_UNSYNC)) == health.Clock(synced=False)
    assert health._clock_of(5, synced) == health.Clock(synced=False)  # TIME_ERROR
    assert health._clock_of(-1, synced) == health.Clock()


def test_cpu_temperature_is_read_from_the_thermal_zone(tmp_path: Path) -> None:
    zone = tmp_path / "thermal_zone0"
    zone.mkdir()
    (zone / "type").write_text("cpu-thermal\n")
    (zone / "temp").write_text("61234\n")  # what a Raspberry Pi shows: millidegrees
    assert health.cpu_temp_c(str(tmp_path)) == 61.2
    assert health.cpu_temp_c(str(tmp_path / "nothing")) is None


def test_heartbeats_carry_health_and_a_skewed_clock_is_caught(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    env.start_worker()
    env.start_agent("loa-01", heartbeat_s=0.5)
    skewed = env.agent_config("loa-03", heartbeat_s=0.5)
    from edge_agent.agent import Agent
    from edge_agent.sinks import FileSink

    late_clock = Agent(skewed, FileSink(skewed.played_dir), clock=lambda: datetime.now(UTC) + timedelta(minutes=5))
    late_clock.start()
    env.agents["loa-03"] = late_clock

    def devices() -> dict[str, dict[str, object]]:
        return {d["id"]: d for d in env.client.get("/api/v1/devices", headers=env.auth).get_json()}

    wait_until(lambda: devices()["loa-01"]["health"] and devices()["loa-03"]["health"], timeout=20)
    good, bad = devices()["loa-01"], devices()["loa-03"]
    assert abs(float(good["clock_skew_s"])) < 5  # type: ignore[arg-type]
    assert 290 < float(bad["clock_skew_s"]) < 310  # type: ignore[arg-type]
    reported = good["health"]
    assert isinstance(reported, dict)
    assert reported["disk_free_mb"] and reported["mem_available_mb"] and reported["uptime_s"] is not None
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("device loa-03 clock is +30" in m or "device loa-03 clock is +29" in m for m in errors), errors
    assert not any("loa-01 clock" in m for m in errors)
