"""Parse and normalise user-supplied paths, lexically and without touching the filesystem.

Clients send paths in whatever form their machine uses: Windows (``C:\\a\\b``, ``C:/a/b``,
``\\\\server\\share\\a``), macOS (``/Volumes/Docs/a``) or POSIX (``/a/b``, ``a/b``, ``./a``). This
module turns such a string into a :class:`ParsedPath`, resolves ``.`` and ``..`` lexically, applies
the configured :class:`PathMapping` s (client form -> server path) and yields a ``PurePosixPath``.
It never consults the disk; confinement to the source roots (including symlinks) is the job of
``ingestd.sources.roots``.

:class:`PathFilter` holds the include/exclude glob rules: the one implementation that the server's
directory, zip and S3 sources, the SDK's uploads and the CLI all use, so a pattern selects the
same files wherever it is applied.

Every input is hostile, so: NUL bytes, control characters, lone surrogates, empty strings and
absurdly long strings are refused with :class:`BadRequest`, and error messages echo at most
~200 characters of the input.

A backslash is always a separator (a POSIX file name containing one cannot be addressed), which is
what makes the Windows forms work and removes a whole class of "``..\\``" tricks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Literal

from ingestd.domain.errors import BadRequest

MAX_PATH_CHARS = 4096  # longer input is refused outright
ECHO_CHARS = 200  # at most this much of a hostile input goes back into an error message

Flavour = Literal["posix", "windows"]

_DRIVE = re.compile(r"^([A-Za-z]):")


@dataclass(frozen=True, slots=True)
class ParsedPath:
    """A lexically normalised path: no ``.``/``..``/empty components remain in ``parts``.

    ``anchor`` is ``""`` (relative), ``"/"`` (POSIX absolute), ``"c:"`` (a Windows drive, lower
    case) or ``"//server/share"`` (UNC, case as given).
    """

    flavour: Flavour
    anchor: str
    parts: tuple[str, ...]

    @property
    def is_absolute(self) -> bool:
        return self.anchor != ""

    def display(self) -> str:
        """The path as a human would write it (for messages and round-trip tests)."""
        if self.flavour == "windows":
            anchor = self.anchor.replace("/", "\\")
            if self.anchor.endswith(":") or (self.anchor and self.parts):
                anchor += "\\"
            return anchor + "\\".join(self.parts) if (anchor or self.parts) else "."
        if self.anchor == "/":
            return "/" + "/".join(self.parts)
        return "/".join(self.parts) or "."


@dataclass(frozen=True, slots=True)
class PathMapping:
    """Translate client paths under ``source`` to server paths under ``target``.

    Windows sources match case-insensitively (drive letters, server, share and components);
    POSIX sources (e.g. macOS ``/Volumes/Docs``) match exactly.
    """

    source: ParsedPath
    target: PurePosixPath

    def match_length(self, path: ParsedPath) -> int | None:
        """How many components of ``path`` this mapping's source covers, or None if no match."""
        if path.flavour != self.source.flavour or not path.is_absolute:
            return None
        n = len(self.source.parts)
        if len(path.parts) < n:
            return None
        if self.source.flavour == "windows":
            same = _fold(path.anchor) == _fold(self.source.anchor) and all(
                _fold(a) == _fold(b) for a, b in zip(path.parts[:n], self.source.parts, strict=True)
            )
        else:
            same = path.anchor == self.source.anchor and path.parts[:n] == self.source.parts
        return n if same else None


def show(raw: str) -> str:
    """A safe, bounded rendering of hostile input for error messages."""
    shown = repr(raw[:ECHO_CHARS])
    return shown + "…" if len(raw) > ECHO_CHARS else shown


def check_text(raw: str, what: str = "path") -> None:
    """Refuse empty, over-long or control-character-bearing input (raises BadRequest)."""
    if not raw:
        raise BadRequest(f"{what} is empty")
    if len(raw) > MAX_PATH_CHARS:
        raise BadRequest(f"{what} is longer than {MAX_PATH_CHARS} characters: {show(raw)}")
    if "\x00" in raw:
        raise BadRequest(f"{what} contains a NUL byte: {show(raw)}")
    for ch in raw:
        category = unicodedata.category(ch)
        if category == "Cc":
            raise BadRequest(f"{what} contains a control character (U+{ord(ch):04X}): {show(raw)}")
        if category == "Cs":
            raise BadRequest(f"{what} contains an unpaired surrogate: {show(raw)}")
    if not raw.strip():
        raise BadRequest(f"{what} is blank")


def parse_path(raw: str) -> ParsedPath:
    """Parse a Windows, macOS or POSIX path string and resolve ``.``/``..`` lexically.

    Raises BadRequest for empty/control-character input, unsupported Windows forms (device
    paths, drive-relative ``C:foo``) and any ``..`` that climbs above the path's start.
    """
    check_text(raw)
    text = raw.replace("\\", "/")
    anchor, rest = _split_anchor(raw, text)
    # Only a drive or UNC anchor makes a path Windows; a relative path has no flavour to speak of
    # (mappings apply to absolute paths only), so it is kept as POSIX.
    flavour: Flavour = "posix" if anchor in {"", "/"} else "windows"
    return ParsedPath(flavour=flavour, anchor=anchor, parts=_resolve_dots(raw, rest))


def normalise_path(raw: str, mappings: Sequence[PathMapping] = ()) -> PurePosixPath:
    """Parse ``raw``, apply the longest matching mapping and return a server-side POSIX path.

    A relative result is relative to the source roots (``.`` means a root itself). A Windows path
    that no mapping covers cannot name anything on this server, so it is refused.
    """
    parsed = parse_path(raw)
    mapped = apply_mappings(parsed, mappings)
    if mapped is not None:
        return mapped
    if parsed.flavour == "windows" and parsed.is_absolute:
        raise BadRequest(
            f"path {show(raw)} is a Windows path that no path mapping covers, so it is outside "
            "the configured source roots"
        )
    if parsed.anchor == "/":
        return PurePosixPath("/", *parsed.parts)
    return PurePosixPath(*parsed.parts) if parsed.parts else PurePosixPath(".")


def apply_mappings(path: ParsedPath, mappings: Sequence[PathMapping]) -> PurePosixPath | None:
    """Translate ``path`` with the longest matching mapping (first wins on ties), else None."""
    best: tuple[int, PathMapping] | None = None
    for mapping in mappings:
        n = mapping.match_length(path)
        if n is not None and (best is None or n > best[0]):
            best = (n, mapping)
    if best is None:
        return None
    n, mapping = best
    return mapping.target.joinpath(*path.parts[n:])


def parse_path_mapping(spec: str) -> PathMapping:
    """Parse ``FROM=TO`` (e.g. ``C:\\Shares\\Docs=/srv/docs``); split at the first ``=``.

    FROM must be an absolute client path (Windows drive, UNC or POSIX); TO an absolute POSIX path.
    """
    check_text(spec, "path mapping")
    source_raw, sep, target_raw = spec.partition("=")
    if not sep or not source_raw or not target_raw:
        raise BadRequest(f"path mapping must look like FROM=TO, got {show(spec)}")
    source = parse_path(source_raw)
    if not source.is_absolute:
        raise BadRequest(f"path mapping source must be absolute, got {show(source_raw)}")
    target = parse_path(target_raw)
    if target.flavour != "posix" or target.anchor != "/":
        raise BadRequest(
            f"path mapping target must be an absolute POSIX path, got {show(target_raw)}"
        )
    return PathMapping(source=source, target=PurePosixPath("/", *target.parts))


def _split_anchor(raw: str, text: str) -> tuple[str, str]:
    """Split the (slash-normalised) ``text`` into its anchor and the remainder."""
    if text.startswith("//") and not text.startswith("///"):
        return _split_unc(raw, text)
    drive = _DRIVE.match(text)
    if drive:
        rest = text[2:]
        if not rest.startswith("/"):
            raise BadRequest(
                f"path {show(raw)} is drive-relative (like C:foo); give a full path like C:\\foo"
            )
        return drive.group(1).lower() + ":", rest
    if text.startswith("/"):
        return "/", text
    return "", text


def _split_unc(raw: str, text: str) -> tuple[str, str]:
    r"""Split ``//server/share/rest``; refuse ``\\?\`` and ``\\.\`` device/extended paths."""
    pieces = text[2:].split("/", 2)
    if len(pieces) < 2 or not pieces[0] or not pieces[1]:
        raise BadRequest(f"UNC path {show(raw)} must name a server and a share")
    server, share = pieces[0], pieces[1]
    if server in {"?", "."} or share in {".", ".."} or server == "..":
        raise BadRequest(f"Windows device or extended-length path {show(raw)} is not supported")
    rest = pieces[2] if len(pieces) == 3 else ""
    return f"//{server}/{share}", rest


def _resolve_dots(raw: str, rest: str) -> tuple[str, ...]:
    """Drop empty and ``.`` components and apply ``..``; climbing above the start is an error."""
    parts: list[str] = []
    for piece in rest.split("/"):
        if piece in {"", "."}:
            continue
        if piece == "..":
            if not parts:
                raise BadRequest(f"path {show(raw)} climbs above its starting point with '..'")
            parts.pop()
            continue
        parts.append(piece)
    return tuple(parts)


def _fold(text: str) -> str:
    return text.casefold()


# -- include/exclude globs: the one filter of the server, the SDK and the CLI --------------------


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
