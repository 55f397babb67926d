"""Rates and ETAs measured by the SDK from what it sees of a job or an upload.

A rate is the growth of a counter over the recent window (the last ``window`` seconds of
samples), so it follows a job that speeds up or slows down instead of averaging its whole past.
An ETA is given only once there is evidence: the counter has been watched for ``min_seconds``
and has grown by a real amount since. Before that, and while nothing moves, it is ``None``:
no "1 h 44 m" for a job that ends 20 s later, no "5 s" that stays for 15.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ingestd.client._enums import JobStatus
from ingestd.client._models import Progress

WINDOW = 10.0  # seconds of samples a rate is measured over
MIN_SECONDS = 2.0  # a counter watched this long, at least, before an ETA
MIN_FRACTION = 0.01  # … and grown by this much of its total, or
MIN_FILES = 2  # … by this many files


@dataclass(slots=True)
class RateMeter:
    """The recent rate of one growing counter, from timestamped samples."""

    window: float = WINDOW
    _samples: deque[tuple[float, float]] = field(default_factory=deque)
    _first: tuple[float, float] | None = None

    def add(self, at: float, value: float) -> None:
        if self._samples and at < self._samples[-1][0]:
            return  # out of order: ignore
        if self._first is None:
            self._first = (at, value)
        self._samples.append((at, value))
        # Keep one sample at or before the window's start, so the rate spans the whole window.
        while len(self._samples) > 2 and self._samples[1][0] <= at - self.window:
            self._samples.popleft()

    @property
    def rate(self) -> float:
        """Growth per second over the window (0 until two samples apart in time)."""
        if len(self._samples) < 2:
            return 0.0
        (t0, v0), (t1, v1) = self._samples[0], self._samples[-1]
        return max(v1 - v0, 0.0) / (t1 - t0) if t1 > t0 else 0.0

    def watched(self) -> tuple[float, float]:
        """Seconds watched and growth since the first sample."""
        if self._first is None or not self._samples:
            return 0.0, 0.0
        last = self._samples[-1]
        return last[0] - self._first[0], last[1] - self._first[1]


def eta(meter: RateMeter, done: float, total: float, *, min_growth: float) -> float | None:
    """Seconds left at the recent rate, or ``None`` without enough evidence."""
    seconds, grown = meter.watched()
    rate = meter.rate
    if total <= 0 or seconds < MIN_SECONDS or grown < min_growth or rate <= 0:
        return None
    return max(total - done, 0.0) / rate


class JobMeter:
    """Turns snapshots of a job's progress (events, polls) into ``Progress`` with the SDK's own
    recent throughput and ETA. ``clock`` is seconds, monotonic (tests pass their own)."""

    def __init__(
        self, job_id: str, *, window: float = WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.job_id = job_id
        self._clock = clock
        self._bytes = RateMeter(window)
        self._files = RateMeter(window)

    def observe(
        self,
        progress: Progress,
        status: JobStatus,
        *,
        started_at: datetime | None = None,
        completed_at: datetime | None = None,
    ) -> Progress:
        now = self._clock()
        files, size = progress.files, progress.bytes
        self._bytes.add(now, size.completed)
        self._files.add(now, files.done)
        elapsed = _elapsed(started_at, completed_at)
        if status.is_terminal:
            whole = elapsed or 0.0
            throughput = size.completed / whole if whole > 0 else 0.0
            files_rate = files.done / whole if whole > 0 else 0.0
            left: float | None = 0.0
        else:
            throughput, files_rate = self._bytes.rate, self._files.rate
            left = self._eta(progress)
        return progress.model_copy(
            update={
                "throughput_bytes_per_s": round(throughput, 1),
                "files_per_s": round(files_rate, 2),
                "eta_seconds": None if left is None else round(left, 1),
                "job_id": self.job_id,
                "status": status,
                "elapsed_seconds": None if elapsed is None else round(elapsed, 1),
            }
        )

    def _eta(self, progress: Progress) -> float | None:
        files, size = progress.files, progress.bytes
        if size.total > 0:
            by_bytes = eta(
                self._bytes, size.completed, size.total, min_growth=MIN_FRACTION * size.total
            )
            if by_bytes is not None:
                return by_bytes
        min_files = max(MIN_FILES, MIN_FRACTION * files.total)
        return eta(self._files, files.done, files.done + files.remaining, min_growth=min_files)


def _elapsed(started_at: datetime | None, completed_at: datetime | None) -> float | None:
    if started_at is None:
        return None
    end = completed_at.timestamp() if completed_at is not None else time.time()
    return max(end - started_at.timestamp(), 0.0)
