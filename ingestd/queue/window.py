"""How many files a worker keeps claimed at once: its window.

A window that is too small starves the worker when files are tiny: a claim costs a database
round trip or two, and if the files in hand finish before the next claim returns, the parsers
wait on the database (a worker of 16 files in flight did ~2,000 no-op files/s; with 128, ~6,000).
A window that is too large hoards slow files that idle workers elsewhere could take.

So the window follows the work, by Little's law: it holds about ``AHEAD_SECONDS`` of work at the
rate files have been finishing, never less than the configured floor (parsers x ``--prefetch``)
and never more than parsers x ``MAX_PREFETCH`` (config.py). For 1 MB PDFs (a few files per second) that is
the floor; for a folder of tiny text files or a store-only job of small files it grows within a
second or two, and it shrinks again as soon as the files get slow. Pure arithmetic: no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Callable

AHEAD_SECONDS = 0.25  # work to hold claimed, at the recent completion rate
RATE_SECONDS = 0.5  # the completion rate is measured over intervals at least this long
RATE_WEIGHT = 0.5  # weight of the newest interval in the smoothed rate


class ClaimWindow:
    """Files in flight a worker aims for; ask ``size`` before each claim, call ``finished``
    as files end.

    >>> clock = iter([0.0, 0.0, 1.0]).__next__
    >>> window = ClaimWindow(floor=16, ceiling=128, clock=clock)
    >>> window.size
    16
    >>> window.finished(2000)  # 2,000 files ended within the first second
    >>> window.size  # 0.25 s of work at 2,000 files/s is 500 files: the ceiling
    128
    """

    def __init__(
        self, floor: int, ceiling: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.floor = max(1, floor)
        self.ceiling = max(self.floor, ceiling)
        self._clock = clock
        self._rate = 0.0  # files per second, smoothed
        self._count = 0  # files ended since ``_since``
        self._since = clock()

    def finished(self, files: int = 1) -> None:
        self._count += files

    @property
    def rate(self) -> float:
        """Files per second that have been finishing lately (smoothed)."""
        now = self._clock()
        elapsed = now - self._since
        if elapsed >= RATE_SECONDS:
            latest = self._count / elapsed
            smoothed = RATE_WEIGHT * latest + (1 - RATE_WEIGHT) * self._rate
            self._rate = latest if self._rate == 0 else smoothed
            self._count, self._since = 0, now
        return self._rate

    @property
    def size(self) -> int:
        wanted = int(self.rate * AHEAD_SECONDS)
        return max(self.floor, min(self.ceiling, wanted))
