"""The lifecycles, in one place: the states of bulletins, broadcasts and deliveries, which of them are final,
and the one rule by which a report moves a delivery (or one play of a recurring broadcast) forward."""

from __future__ import annotations

BULLETIN_STATES = ("draft", "submitted", "approved", "rejected")
"""A bulletin is written (draft), sent for approval (submitted), then approved or sent back (rejected)."""
BROADCAST_STATES = ("queued", "live", "sent", "failed", "stopping", "stopped")
"""A broadcast waits for the worker (queued), is rendered and published (sent) or cannot be (failed); an
operator's stop is ``stopping`` until the worker has told the receivers, then ``stopped``. A live one is
``live`` while someone speaks, then ``sent``."""
ON_AIR = ("queued", "live", "sent")
"""States of a broadcast that takes, or will take, air time."""
DELIVERY_RANK = {"pending": 0, "delivered": 1, "playing": 2, "played": 3, "failed": 3, "missed": 3,
                 "interrupted": 3, "cancelled": 3, "ended": 3}
"""How far a broadcast has got on one device; every state of the last rank is final. ``ended``: a recurring
broadcast past its last day on that device (each of its plays is in ``occurrence_plays``)."""
FINAL_DELIVERY_STATES = tuple(state for state, rank in DELIVERY_RANK.items() if rank == 3)
NOT_AIRED = ("failed", "missed", "cancelled", "ended")
"""Final states in which nothing (or not all of it) was heard: they take no air time."""
NO_REPORT = "no report from the device by the deadline"
"""The error of the sweep's guess (missed, cancelled) for a delivery no device reported on in time."""


def moves_forward(current: str, reported: str, current_error: str | None = None) -> bool:
    """Whether a device's report of ``reported`` replaces ``current``. Never backwards, nor from one final
    state to another: reports on two topics may arrive out of order. The one exception is the sweep's guess
    (``missed`` or ``cancelled`` for want of a report), which any report from the device replaces."""
    if current in ("missed", "cancelled") and current_error == NO_REPORT:
        return True
    return DELIVERY_RANK[reported] > DELIVERY_RANK[current]
