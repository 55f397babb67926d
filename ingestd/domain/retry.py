"""When a failed file is tried again: the one retry policy, used wherever an attempt ends.

A retryable error (a timeout, a network error, a parser process that died) queues another
attempt after an exponential backoff, ``base * 2**(attempt-1)`` seconds capped at ``max``, while
the job's ``max_retries`` allows one; anything else fails the file at once.

>>> policy = RetryPolicy(base_seconds=2.0, max_seconds=300.0)
>>> policy.retry_at(retryable=True, attempts=3, max_retries=3, now=100.0)
108.0
>>> policy.retry_at(retryable=True, attempts=4, max_retries=3, now=100.0) is None
True
"""

from __future__ import annotations

from dataclasses import dataclass


def out_of_attempts(attempts: int, max_retries: int) -> bool:
    """Whether a file that has been tried ``attempts`` times may not be tried again: the first
    attempt plus ``max_retries`` retries have been spent."""
    return attempts > max_retries


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float = 2.0
    max_seconds: float = 300.0

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th attempt failed."""
        return float(min(self.base_seconds * 2 ** (attempts - 1), self.max_seconds))

    def retry_at(
        self, *, retryable: bool, attempts: int, max_retries: int, now: float
    ) -> float | None:
        """When the next attempt may start, or None when the file fails for good."""
        if not retryable or out_of_attempts(attempts, max_retries):
            return None
        return now + self.backoff(attempts)
