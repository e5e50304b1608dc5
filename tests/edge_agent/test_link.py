"""The MQTT link both sides use: it knows when the broker holds every subscription asked for."""

from __future__ import annotations

import time
from typing import Any

from broadcaster.ops.broker import Mosquitto
from edge_agent.link import Link
from tests.support.env import SERVER_USER, wait_until


def test_a_subscription_acknowledged_before_subscribe_returns_still_counts_as_settled(broker: Mosquitto) -> None:
    """On a fast broker the acknowledgement can be handled (on paho's thread) before ``subscribe`` has noted the
    request as pending: the link must not wait for it forever (a receiver that never believes it has joined a
    group, as the CI flake of the alert test showed)."""
    link = Link("link-settled", "127.0.0.1", broker.server_port, SERVER_USER, broker.users[SERVER_USER],
                lambda topic, payload: None)
    link.start()
    try:
        assert link.ready.wait(10), "connected"
        real = link.client.subscribe

        def late_return(*args: Any, **kwargs: Any) -> Any:
            result = real(*args, **kwargs)
            time.sleep(0.5)  # the broker's answer arrives and is handled before this call returns
            return result

        link.client.subscribe = late_return  # type: ignore[method-assign]
        link.subscribe("settled-test/a")
        wait_until(link.settled, timeout=5)
        link.subscribe("settled-test/b")
        wait_until(link.settled, timeout=5)
    finally:
        link.stop()
