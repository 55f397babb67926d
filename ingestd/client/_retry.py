"""When to try a request again, and how long to wait first: exponential backoff with jitter,
or what the server's ``Retry-After`` says."""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``retries`` more attempts after the first, waiting ``backoff`` seconds before the first
    retry and twice as long before each next one (at most ``backoff_max``), each wait scaled by a
    random factor in [1 - jitter, 1] so that many clients do not come back at once. A server's
    ``Retry-After`` is honoured up to ``retry_after_max`` seconds.

    What is retried: connection errors before anything was sent, for every request; timeouts,
    dropped connections, ``429`` and ``503``, for idempotent requests (``GET``, ``PUT``,
    ``DELETE``, …) and for job creation, which carries an ``Idempotency-Key``.
    """

    retries: int = 4
    backoff: float = 0.5  # seconds
    backoff_max: float = 30.0  # seconds
    jitter: float = 0.5
    retry_after_max: float = 120.0  # seconds

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0 for the first)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_max)
        base: float = min(self.backoff_max, self.backoff * 2**attempt)
        return base * random.uniform(1.0 - self.jitter, 1.0)


NO_RETRY = RetryPolicy(retries=0)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    from datetime import UTC, datetime

    return max((when - datetime.now(UTC)).total_seconds(), 0.0)
