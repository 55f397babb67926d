"""In-process signals that rows changed in a way the workers act on, fired after the commit.

A service that queues work (a job created or resumed, files retried, an upload registered) or
cancels a job says so on its ``Database`` — ``db.signals.work_queued()`` after its transaction —
and whoever runs workers in or from this process (``Runtime``) listens: it nudges its workers and
sends ``NOTIFY`` to the ones elsewhere. No route has to remember to. The signals belong to one
``Database`` (one per process, or per app in tests), so two apps in one process do not wake each
other's workers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

log = logging.getLogger("ingestd.store")


class WorkSignals:
    def __init__(self) -> None:
        self._queued: list[Callable[[], None]] = []
        self._cancelled: list[Callable[[str], None]] = []

    def on_work_queued(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` whenever work was queued; returns a function that removes it."""
        self._queued.append(listener)
        return lambda: _remove(self._queued, listener)

    def on_job_cancelled(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call ``listener(job_id)`` whenever a job was cancelled or deleted."""
        self._cancelled.append(listener)
        return lambda: _remove(self._cancelled, listener)

    def work_queued(self) -> None:
        """Files became claimable (call after the transaction that queued them committed)."""
        for listener in list(self._queued):
            _call(listener)

    def job_cancelled(self, job_id: str) -> None:
        """A job's files in flight must stop (call after the cancel committed)."""
        for listener in list(self._cancelled):
            _call(listener, job_id)


def _remove(listeners: list[Callable[..., None]], listener: Callable[..., None]) -> None:
    with contextlib.suppress(ValueError):
        listeners.remove(listener)


def _call(listener: Callable[..., None], *args: str) -> None:
    """A listener that fails costs latency (workers still poll), never the caller's request."""
    try:
        listener(*args)
    except Exception:
        log.exception("a work signal listener failed")


__all__ = ["WorkSignals"]
