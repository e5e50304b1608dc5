"""Hosts of their own (tests/support/hosts.py): skipped, with the reason, where the kernel does not allow them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.hosts import Network, unavailable_reason


@pytest.fixture
def network() -> Iterator[Network]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with Network() as net:
        yield net
