"""Which of the chunks a receiver asks for again are worth publishing again. On a weak link an ask often means
only that the copy published a moment ago is still on its way; publishing it again queues a second copy in the
broker for that receiver, in front of anything newer (an emergency). So: a chunk goes out again at most once
every ``GLOBAL_GAP_S`` however many receivers ask, and to one receiver not again while what it was sent can
still be coming. How long that is grows with each ask that shows no progress (doubling, up to ``MAX_HOLD_S``)
and starts over once the receiver's asks show that chunks reached it."""

from __future__ import annotations

from dataclasses import dataclass, field

GLOBAL_GAP_S = 2.0
"""A chunk asked for by many receivers at once is published again at most this often."""
MIN_HOLD_S = 10.0
"""What was sent again to a receiver is not sent again to it for at least this long..."""
SLOW_RATE = 4_000.0
"""... nor before it could have crossed a link of 32 kbit/s (bytes per second)..."""
MAX_HOLD_S = 300.0
"""... and never held back longer than this."""
MANIFEST = -1
"""Stands for the manifest among an asset's chunk numbers."""
FORGET_AFTER_S = 2 * MAX_HOLD_S


@dataclass
class Sent:
    """What one receiver was last sent again of one asset."""

    at: float
    seqs: frozenset[int]
    hold: float
    asked: frozenset[int] = field(default_factory=frozenset)


class Resends:
    """The answers to chunk requests, remembered per receiver and asset (the ingest thread alone uses it)."""

    def __init__(self) -> None:
        self._chunk_at: dict[tuple[str, int], float] = {}
        self._sent: dict[tuple[str, str], Sent] = {}

    def to_publish(self, device: str, asset: str, asked: list[int], chunk_size: int, now: float) -> list[int]:
        """The chunks (``MANIFEST`` for the manifest) to publish again for ``device``'s request of ``asked``
        (all of them already spelled out); an empty list: nothing, what it asked for is still on its way."""
        self._prune(now)
        wanted = frozenset([MANIFEST, *asked])
        key = (device, asset)
        before = self._sent.get(key)
        hold = MIN_HOLD_S
        if before is not None:
            progress = bool(before.asked) and len(wanted) < len(before.asked)
            if not progress and now - before.at < before.hold and wanted <= before.seqs | before.asked:
                return []  # the same again, while the copy sent can still be on its way
            hold = MIN_HOLD_S if progress else min(MAX_HOLD_S, before.hold * 2)
        fresh = sorted(s for s in wanted if now - self._chunk_at.get((asset, s), -GLOBAL_GAP_S - 1) > GLOBAL_GAP_S)
        for seq in fresh:
            self._chunk_at[(asset, seq)] = now
        hold = max(hold, min(MAX_HOLD_S, len(asked) * chunk_size / SLOW_RATE))
        # What another receiver's ask had sent a moment ago is on its way to this one too (retained topics).
        self._sent[key] = Sent(now, wanted | (before.seqs if before else frozenset()), hold, wanted)
        return fresh

    def _prune(self, now: float) -> None:
        if len(self._sent) + len(self._chunk_at) < 10_000:
            return
        self._sent = {k: v for k, v in self._sent.items() if now - v.at < FORGET_AFTER_S}
        self._chunk_at = {k: at for k, at in self._chunk_at.items() if now - at < GLOBAL_GAP_S}
