"""When to ask the server again for audio, and how much to ask the broker for at once, on links from loopback to a
stalled 3G cell: the rate the link has shown, a window of chunks subscribed ahead (so the broker never holds more
old audio for this receiver than a few seconds of the link, and an emergency never queues behind a whole file),
and asks that wait for what is on its way and back off while nothing comes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DEFAULT_RATE = 8_000.0
"""Bytes per second assumed before the link has shown its rate (64 kbit/s, a weak 3G cell)."""
RATE_FLOOR = 500.0
"""The slowest rate the timing believes in (4 kbit/s): a link slower than this is waited for no longer."""
WINDOW_S = 2.0
"""Seconds of the link's rate subscribed ahead: what the broker may queue for this receiver of older audio."""
WINDOW_MIN, WINDOW_MAX = 2, 32
"""Chunks subscribed ahead at least (one arriving while the next is on its way) and at most."""
MARGIN = 2.0
"""Outstanding bytes are waited for this many times their time at the link's rate before asking."""
MAX_WAIT_S = 120.0
"""The longest wait between asks, however often they went unanswered."""
SMOOTHING = 0.3
"""Weight of the newest sample in the link's rate."""


@dataclass
class LinkRate:
    """The rate at which chunks reach this receiver, whatever asset they belong to (one link)."""

    rate: float = DEFAULT_RATE
    last_at: float | None = None

    def arrived(self, size: int, now: float, waiting_since: float) -> None:
        """A chunk of ``size`` bytes arrived at ``now``; it was waited for since ``waiting_since`` at the
        earliest (so the idle time between two transfers is not taken for a slow link)."""
        start = max(self.last_at or waiting_since, waiting_since)
        self.last_at = now
        seconds = now - start
        if seconds <= 0.01:
            return  # came in one burst with the one before: says nothing about the rate
        sample = size / seconds
        self.rate = max(RATE_FLOOR, (1 - SMOOTHING) * self.rate + SMOOTHING * sample)

    def window(self, chunk_size: int) -> int:
        """How many chunks to subscribe ahead: ``WINDOW_S`` of the link, within the bounds."""
        return max(WINDOW_MIN, min(WINDOW_MAX, math.ceil(self.rate * WINDOW_S / max(chunk_size, 1))))


@dataclass
class Backoff:
    """One asset's asks: none while what is on its way can still come at the link's rate, then doubling waits
    (up to ``MAX_WAIT_S``) while they go unanswered; any chunk that arrives starts over."""

    progress_at: float
    asks: int = 0
    asked: dict[int, float] = field(default_factory=dict)
    """When each chunk was last asked for (the manifest as -1)."""

    def progressed(self, now: float) -> None:
        self.progress_at, self.asks = now, 0

    def wait(self, retry_s: float, outstanding: int, rate: LinkRate) -> float:
        """Seconds after the last progress before asking: ``retry_s`` plus ``MARGIN`` times the time the
        ``outstanding`` bytes take at the link's rate, doubled for each unanswered ask."""
        base = retry_s + MARGIN * outstanding / max(rate.rate, RATE_FLOOR)
        return min(MAX_WAIT_S, base * 2 ** self.asks)

    def due(self, now: float, retry_s: float, outstanding: int, rate: LinkRate) -> bool:
        return now - self.progress_at >= self.wait(retry_s, outstanding, rate)

    def waited(self, now: float) -> None:
        """Waited once more without anything coming: the next wait is twice as long."""
        self.asks += 1
        self.progress_at = now

    def asking(self, now: float, seqs: list[int]) -> None:
        """Asked for ``seqs`` now: the next ask waits twice as long unless something arrives."""
        self.waited(now)
        for seq in seqs:
            self.asked[seq] = now

    def recently_asked(self, seq: int, now: float, retry_s: float) -> bool:
        at = self.asked.get(seq)
        return at is not None and now - at < retry_s * 2 ** max(self.asks, 1)
