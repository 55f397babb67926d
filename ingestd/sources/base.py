"""How a whole source fails (:class:`SourceError`), and the include/exclude glob filter shared by
directory, archive and bucket sources. What every source yields is ``domain.work.SourceEntry``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ingestd.domain.errors import BadRequest
from ingestd.domain.paths import check_text, show


class SourceError(Exception):
    """A whole source failed (e.g. ``zip_bomb``, ``invalid_archive``). Picklable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Crosses process boundaries (sources may be expanded in a worker process).
        return (SourceError, (self.code, self.message))


@dataclass(frozen=True, slots=True)
class PathFilter:
    """Include/exclude glob patterns, matched against a relative POSIX path and its bare name.

    ``*`` and ``?`` stay within one component, ``**`` spans any number of them (``**/`` may match
    none), ``[abc]``/``[!abc]`` are character classes. Matching is case-insensitive so
    ``*.pdf`` also selects ``REPORT.PDF``. No include patterns means "everything". Hidden names
    (a component starting with ``.``) are only selected by an include pattern that itself names a
    hidden component, e.g. ``.config/*.yml``.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def of(cls, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> PathFilter:
        """Build a filter, refusing malformed patterns up front (BadRequest)."""
        for pattern in (*include, *exclude):
            check_text(pattern, "include/exclude pattern")
            try:
                _compile(pattern)
            except re.error as exc:
                raise BadRequest(f"bad glob pattern {show(pattern)}: {exc.msg}") from None
        return cls(tuple(include), tuple(exclude))

    def wants_file(self, rel: str) -> bool:
        """Whether the file at relative path ``rel`` is selected."""
        if _matches_any(self.exclude, rel):
            return False
        if is_hidden(rel):
            return _matches_any(self._explicit_hidden(), rel)
        return not self.include or _matches_any(self.include, rel)

    def wants_dir(self, rel: str) -> bool:
        """Whether to descend into the directory at ``rel`` (excluded or hidden dirs are pruned)."""
        if _matches_any(self.exclude, rel):
            return False
        return not is_hidden(rel) or bool(self._explicit_hidden())

    def wants_path(self, rel: str) -> bool:
        """Whether ``rel`` and every directory above it survive pruning (for flat listings)."""
        parts = rel.split("/")
        return all(self.wants_dir("/".join(parts[:i])) for i in range(1, len(parts) + 1))

    def _explicit_hidden(self) -> tuple[str, ...]:
        return tuple(p for p in self.include if is_hidden(p.replace("\\", "/")))


def is_hidden(rel: str) -> bool:
    """Whether any component of the relative POSIX path starts with a dot (``.`` excluded)."""
    return any(part.startswith(".") and part not in {".", ".."} for part in rel.split("/"))


def _matches_any(patterns: Sequence[str], rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(_compile(p).fullmatch(rel) or _compile(p).fullmatch(name) for p in patterns)


@lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    """Translate a glob into a regex (``**`` aware); see :class:`PathFilter`."""
    pat = pattern.replace("\\", "/").lstrip("/")
    out: list[str] = []
    i, n = 0, len(pat)
    while i < n:
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("/**", i) and i + 3 == n:
            out.append("(?:/.*)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif pat[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pat[i] == "?":
            out.append("[^/]")
            i += 1
        elif pat[i] == "[":
            token, i = _char_class(pat, i)
            out.append(token)
        else:
            out.append(re.escape(pat[i]))
            i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _char_class(pat: str, i: int) -> tuple[str, int]:
    """Translate ``[...]`` starting at ``pat[i]``; an unterminated ``[`` is a literal."""
    j = i + 1
    if j < len(pat) and pat[j] in "!^":
        j += 1
    if j < len(pat) and pat[j] == "]":
        j += 1
    end = pat.find("]", j)
    if end < 0:
        return re.escape("["), i + 1
    body = pat[i + 1 : end]
    negate = body[:1] in {"!", "^"}
    if negate:
        body = body[1:]
    body = "".join("\\" + ch if ch in "\\^[]&~|" else ch for ch in body)
    body = body.replace("--", "-\\-")  # "--" inside a set is a FutureWarning in `re`
    return ("[^/" + body + "]" if negate else "(?!/)[" + body + "]"), end + 1
