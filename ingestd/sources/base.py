"""What every source yields (:class:`SourceEntry`) and how a whole source fails (:class:`SourceError`).

The include/exclude filter is :class:`ingestd.domain.paths.PathFilter`, the one implementation the
server, the SDK and the CLI share; it is re-exported here for the sources that use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingestd.domain.paths import PathFilter, is_hidden


@dataclass(frozen=True, slots=True)
class SourceEntry:
    """One file a source found.

    ``path`` is the display path (POSIX, relative to the source root or archive); ``local_path``
    the absolute path a worker opens (the real file for directories, the blob for zip entries).
    An entry that was refused carries ``error`` = ``(code, message)``: it must still be listed as a
    failed file, never silently dropped, and its ``local_path`` must not be opened.
    """

    name: str
    path: str
    size: int
    local_path: str
    blob_key: str | None
    error: tuple[str, str] | None = None


class SourceError(Exception):
    """A whole source failed (e.g. ``zip_bomb``, ``invalid_archive``). Picklable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Crosses process boundaries (sources may be expanded in a worker process).
        return (SourceError, (self.code, self.message))


__all__ = ["PathFilter", "SourceEntry", "SourceError", "is_hidden"]
