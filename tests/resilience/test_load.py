"""The short soak: 500 simulated receivers (bench/fleet.py: the whole protocol, audio verified) on a real mosquitto,
heartbeats flowing, while officers write, approve, broadcast to all and watch the dashboard through the real web
and worker processes. Nothing lost, nothing doubled, nobody unheard, no request failed, memory flat.
bench/soak.py runs the same for ten minutes (docs/reliability.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import soak
from tests.support.faults import Tally

GROWTH_MB = 60
"""Resident memory a server process may gain after warm-up in the short run (a leak grows past it)."""


@pytest.mark.xdist_group("heavy")  # one heavy test at a time (see test_server_faults)
def test_500_receivers_and_busy_officers(tmp_path: Path, tally: Tally) -> None:
    result = soak.run(tmp_path, receivers=500, seconds=45, heartbeat_s=10, every_s=15)
    growth = {name: result.growth_mb(name) for name in result.memory}
    tally(tried=f"{result.receivers} simulated receivers, heartbeats every 10 s, officers' API calls for "
                f"{result.seconds:.0f} s through the web and worker processes", broadcasts=result.broadcasts,
          plays=result.plays_reported, lost=result.lost, duplicated=result.duplicated, unheard=result.unheard,
          requests=result.requests, server_errors=result.server_errors,
          memory_growth_mb={k: round(v, 1) for k, v in growth.items()})
    assert result.broadcasts >= 3 and result.requests > 100
    assert result.server_errors == 0, (result.statuses, result.request_errors[:5])
    assert result.lost == 0 and result.duplicated == 0, result.fleet_errors[:5]
    assert result.unheard == 0, "every receiver's heartbeats reached the server"
    assert not result.fleet_errors, result.fleet_errors[:5]
    assert all(g < GROWTH_MB for g in growth.values()), growth
