"""The store's own errors: what callers see instead of driver exceptions.

    LeaseLost          a write about a claimed file or source refused: it is no longer ours
    ListingStopped     a source is no longer this worker's to list (cancelled, lease lapsed)
    StoreUnavailable   the database could not be reached (503 ``unavailable``); the statement
                       may well succeed a moment later

``translated`` wraps a store operation so that a driver's "cannot reach the server" (a refused
connection, a restart, a failover: see ``db.is_unavailable``) leaves it as ``StoreUnavailable``,
raised from the driver's error, which stays reachable as ``__cause__``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from ingestd.domain.errors import Unavailable
from ingestd.store.db import is_unavailable

P = ParamSpec("P")
T = TypeVar("T")


class LeaseLost(Exception):
    """The file is no longer ours: another worker has it, or it was reset."""


class ListingStopped(Exception):
    """The source is no longer this worker's to list (the job was cancelled, or the lease lapsed)."""


class StoreUnavailable(Unavailable):
    """The database cannot be reached right now."""


def translated(operation: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Turn the driver's "database unreachable" errors of ``operation`` into StoreUnavailable."""

    @functools.wraps(operation)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await operation(*args, **kwargs)
        except StoreUnavailable:
            raise
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StoreUnavailable(f"the database is unreachable ({reason})") from exc

    return run
