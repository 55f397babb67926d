"""Confine user-supplied directory/zip paths to the configured source roots.

The lexical work (Windows/macOS/POSIX forms, ``..``, mappings) happens in
``ingestd.domain.paths``; here we touch the disk: find a relative path under the roots, resolve
symlinks, and check that the *real* path is still inside a root's *real* path, so neither ``..``
nor a symlink can reach files the server was not told to expose.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from ingestd.domain.errors import BadRequest
from ingestd.domain.paths import PathMapping, normalise_path, parse_path_mapping, show

__all__ = [
    "PathMapping",
    "is_within",
    "parse_path_mapping",
    "real_roots",
    "resolve_source_path",
]


def resolve_source_path(raw: str, roots: Sequence[Path], mappings: Sequence[PathMapping]) -> Path:
    """Turn a user path into the real, existing path it names inside one of ``roots``.

    A relative path is tried under each root in order (the first that exists wins); an absolute
    or mapped path must lie under a root. Symlinks are then resolved and the real path checked
    again. Raises BadRequest when the path is malformed, missing or outside the roots.
    """
    if not roots:
        raise BadRequest("no source roots are configured")
    normalised = normalise_path(raw, mappings)
    if normalised.is_absolute():
        candidate = _absolute_candidate(raw, normalised, roots)
    else:
        candidate = _relative_candidate(raw, normalised, roots)
    return _confine(raw, candidate, roots)


def real_roots(roots: Sequence[Path]) -> list[Path]:
    """The symlink-free paths of the roots that exist (a missing root confines nothing)."""
    found: list[Path] = []
    for root in roots:
        try:
            found.append(Path(os.path.abspath(root)).resolve(strict=True))
        except (OSError, RuntimeError):
            continue
    return found


def is_within(path: Path, roots: Sequence[Path]) -> bool:
    """Whether ``path`` equals or lies below one of ``roots`` (purely by components)."""
    return any(path == root or root in path.parents for root in roots)


def _absolute_candidate(raw: str, path: PurePosixPath, roots: Sequence[Path]) -> Path:
    """An absolute path must be under a root, as given or as resolved (roots may be symlinks)."""
    candidate = Path(path)
    lexical = [Path(os.path.abspath(root)) for root in roots]
    if not is_within(candidate, lexical + real_roots(roots)):
        raise BadRequest(f"path {show(raw)} is outside the configured source roots")
    return candidate


def _relative_candidate(raw: str, path: PurePosixPath, roots: Sequence[Path]) -> Path:
    """The first root under which the relative ``path`` exists."""
    for root in roots:
        candidate = Path(os.path.abspath(root)) / path
        if _exists(candidate):
            return candidate
    raise BadRequest(f"path {show(raw)} was not found under the source roots")


def _exists(path: Path) -> bool:
    """``Path.exists`` that treats permission errors and odd names as absent rather than raising."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _confine(raw: str, candidate: Path, roots: Sequence[Path]) -> Path:
    """Resolve symlinks and require the real path to lie inside a root's real path."""
    try:
        real = candidate.resolve(strict=True)
    except FileNotFoundError:
        raise BadRequest(f"path {show(raw)} was not found under the source roots") from None
    except (OSError, RuntimeError) as exc:  # permission denied, symlink loop, name too long
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "cannot resolve"
        raise BadRequest(f"path {show(raw)} cannot be accessed: {reason}") from None
    if not is_within(real, real_roots(roots)):
        raise BadRequest(f"path {show(raw)} is outside the configured source roots")
    return real
