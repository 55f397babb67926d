"""The store's own errors: driver errors translated into ours where they leave the store.

The store is the only code that sees SQLAlchemy's and the drivers' exceptions; callers handle
these instead:

    RowsRefused        a row the database refuses as invalid (an integrity or data error):
                       the rows are at fault, not the database — retrying them will not help
    └── Duplicate      (409) the row's unique key is taken (an API key hash, …)
    StoreUnavailable   (503) the database cannot be reached right now; try again shortly
    UnstorableText     (400) text the database cannot hold (a NUL byte in PostgreSQL)
    LeaseLost          a write about a claimed file or source refused: it is no longer ours
    ListingStopped     a source is no longer this worker's to list (cancelled, lease lapsed)

:func:`translate` turns a driver error that escaped a transaction into one of these (or None when
it means a bug: then it stays a 500). ``DriverError`` is the family it accepts, for the one
handler the API registers. :func:`translated` wraps a store operation so that a driver's "cannot
reach the server" (a refused connection, a restart, a failover: see ``db.is_unavailable``) leaves
it as ``StoreUnavailable``, raised from the driver's error, which stays reachable as ``__cause__``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from ingestd.domain.errors import BadRequest, Conflict, IngestdError, Unavailable
from ingestd.store.db import is_unavailable, is_unstorable_text

P = ParamSpec("P")
T = TypeVar("T")

DriverError = DBAPIError
RETRY_AFTER_SECONDS = 1  # what a 503 for an unreachable database tells clients to wait


class RowsRefused(IngestdError):
    """The database refused the rows as invalid (an integrity or data error)."""


class Duplicate(Conflict):
    """The row's unique key is already taken."""


class StoreUnavailable(Unavailable):
    """The database cannot be reached right now (down, restarting, failing over)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}


class UnstorableText(BadRequest):
    title = "Invalid text"


@contextmanager
def refused_rows(what: str) -> Iterator[None]:
    """Turn an integrity or data error raised inside into :class:`RowsRefused` naming ``what``."""
    try:
        yield
    except (IntegrityError, DataError) as exc:
        raise RowsRefused(f"the database refused {what}: {type(exc.orig).__name__}") from exc


@contextmanager
def duplicate_as(detail: str) -> Iterator[None]:
    """Turn a unique-key violation raised inside into :class:`Duplicate` with ``detail``."""
    try:
        yield
    except IntegrityError as exc:
        raise Duplicate(detail) from exc


def translate(exc: BaseException) -> IngestdError | None:
    """What a driver error that escaped means for the caller, or None for a bug (a 500)."""
    if is_unstorable_text(exc):
        return UnstorableText(
            "the request holds text that cannot be stored: a NUL (\\u0000) character"
        )
    if is_unavailable(exc):
        return StoreUnavailable("the database cannot be reached right now; try again shortly")
    return None


class LeaseLost(Exception):
    """The file is no longer ours: another worker has it, or it was reset."""


class ListingStopped(Exception):
    """The source is no longer this worker's to list (the job was cancelled, or the lease lapsed)."""


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


__all__ = [
    "DriverError",
    "Duplicate",
    "LeaseLost",
    "ListingStopped",
    "RowsRefused",
    "StoreUnavailable",
    "UnstorableText",
    "duplicate_as",
    "refused_rows",
    "translate",
    "translated",
]
