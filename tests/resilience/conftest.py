"""Fixtures of the resilience suite: links that can be cut, and a tally of what each fault test counted
(written to $LOAXA_RELIABILITY for bench/reliability.py, which builds docs/reliability.md)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.faults import CutLink, Tally


@pytest.fixture
def relays() -> Iterator[Callable[[int], CutLink]]:
    """Make CutLinks to a port; all are closed when the test ends."""
    made: list[CutLink] = []

    def relay(port: int) -> CutLink:
        made.append(CutLink(port))
        return made[-1]

    yield relay
    for link in made:
        link.close()


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    record = Tally(request.node.nodeid)
    yield record
    out = os.environ.get("LOAXA_RELIABILITY")
    if out and "tried" in record.row:
        report = getattr(request.node, "rep_call", None)
        record.row["outcome"] = report.outcome if report is not None else "error"
        with Path(out).open("a") as file:
            file.write(json.dumps(record.row, ensure_ascii=False) + "\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if call.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
