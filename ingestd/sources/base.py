"""How a whole source fails (:class:`SourceError`). What every source yields is
``domain.work.SourceEntry``; the include/exclude filter is :class:`ingestd.domain.paths.PathFilter`,
the one implementation the server, the SDK and the CLI share, re-exported here for the sources.
"""

from __future__ import annotations

from typing import Any

from ingestd.domain.paths import PathFilter, is_hidden


class SourceError(Exception):
    """A whole source failed (e.g. ``zip_bomb``, ``invalid_archive``). Picklable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Crosses process boundaries (sources may be expanded in a worker process).
        return (SourceError, (self.code, self.message))


__all__ = ["PathFilter", "SourceError", "is_hidden"]
