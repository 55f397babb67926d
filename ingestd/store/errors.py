"""Driver errors, translated into ours where they leave the store.

The store is the only code that sees SQLAlchemy's and the drivers' exceptions; callers handle
these instead:

    RowsRefused        a row the database refuses as invalid (an integrity or data error):
                       the rows are at fault, not the database — retrying them will not help
    └── Duplicate      (409) the row's unique key is taken (an API key hash, …)
    StoreUnavailable   (503) the database cannot be reached right now; try again shortly
    UnstorableText     (400) text the database cannot hold (a NUL byte in PostgreSQL)

:func:`translate` turns a driver error that escaped a transaction into one of these (or None when
it means a bug: then it stays a 500). ``DriverError`` is the family it accepts, for the one
handler the API registers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from ingestd.domain.errors import BadRequest, Conflict, IngestdError, Unavailable
from ingestd.store.db import is_unavailable, is_unstorable_text

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


__all__ = [
    "DriverError",
    "Duplicate",
    "RowsRefused",
    "StoreUnavailable",
    "UnstorableText",
    "duplicate_as",
    "refused_rows",
    "translate",
]
