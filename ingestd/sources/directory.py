"""List the files of a directory source, streaming and in a deterministic order.

The walk uses ``os.scandir`` (one directory in memory at a time, sorted by name so repeated runs
list files identically). One bad entry never stops the walk: it is listed with an ``error`` so the
job shows it as a failed file. Symlinks are followed only when their target stays inside the
source roots; each real directory is visited once, which also breaks symlink cycles.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestd.config import Settings
from ingestd.domain.errors import BadRequest
from ingestd.domain.refs import FileRef, PathRef
from ingestd.domain.work import SourceEntry
from ingestd.sources.base import PathFilter, SourceError
from ingestd.sources.port import BaseSource, FetchLimits, LocalFile
from ingestd.sources.roots import is_within, parse_path_mapping, real_roots, resolve_source_path

UNSAFE_LINK = ("unsafe_path", "symlink points outside the source roots")


@dataclass(slots=True)
class _Walk:
    """State of one directory walk."""

    filter: PathFilter
    recursive: bool
    roots: list[Path]
    seen_dirs: set[tuple[int, int]] = field(default_factory=set)


def iter_directory(
    root: Path,
    *,
    recursive: bool,
    include: Sequence[str],
    exclude: Sequence[str],
    roots: Sequence[Path],
) -> Iterator[SourceEntry]:
    """Yield the selected files under ``root`` (or ``root`` itself if it is a file).

    ``root`` should come from ``resolve_source_path`` (real and inside ``roots``). Display paths
    are relative to ``root``. Raises SourceError only when ``root`` itself cannot be read.
    """
    walk = _Walk(PathFilter.of(include, exclude), recursive, real_roots(roots))
    real = _real_root(root, walk.roots)
    try:
        st = real.stat()
    except OSError as exc:
        raise SourceError("access_error", f"cannot read the source: {_reason(exc)}") from None
    if stat.S_ISREG(st.st_mode):
        yield SourceEntry(real.name, real.name, st.st_size, PathRef(str(real)))
        return
    if not stat.S_ISDIR(st.st_mode):
        raise SourceError("access_error", "the source is neither a directory nor a regular file")
    walk.seen_dirs.add((st.st_dev, st.st_ino))
    yield from _walk_tree(walk, real)


def _real_root(root: Path, roots: list[Path]) -> Path:
    """Resolve ``root`` and insist it is inside the roots (defence in depth for direct callers)."""
    try:
        real = root.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        reason = _reason(exc) if isinstance(exc, OSError) else "symlink loop"
        raise SourceError("access_error", f"cannot read the source: {reason}") from None
    if not is_within(real, roots):
        raise SourceError("unsafe_path", "the source is outside the configured source roots")
    return real


def _walk_tree(walk: _Walk, top: Path) -> Iterator[SourceEntry]:
    """Depth-first walk with an explicit stack (no recursion limit on deep trees)."""
    stack: list[Iterator[tuple[str, os.DirEntry[str]]]] = [_listing(top, "")]
    while stack:
        try:
            rel, entry = next(stack[-1])
        except StopIteration:
            stack.pop()
            continue
        except _ListingFailed as failed:
            stack.pop()
            yield failed.entry
            continue
        for item in _visit(walk, rel, entry):
            if isinstance(item, SourceEntry):
                yield item
            else:
                stack.append(_listing(item[0], item[1]))


class _ListingFailed(Exception):
    """A subdirectory could not be listed; carries the error entry to report instead."""

    def __init__(self, entry: SourceEntry) -> None:
        super().__init__(entry.error)
        self.entry = entry


def _listing(directory: Path, rel: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """The entries of one directory, sorted by name, with their relative display paths."""
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        if not rel:
            raise SourceError("access_error", f"cannot list the source: {_reason(exc)}") from None
        raise _ListingFailed(_failed(rel, "access_error", _reason(exc))) from None
    for entry in entries:
        yield (f"{rel}/{entry.name}" if rel else entry.name), entry


def _visit(
    walk: _Walk, rel: str, entry: os.DirEntry[str]
) -> Iterator[SourceEntry | tuple[Path, str]]:
    """Classify one directory entry: a file entry, an error entry, or a directory to descend."""
    try:
        is_link = entry.is_symlink()
        if is_link:
            yield from _visit_link(walk, rel, entry)
            return
        st = entry.stat(follow_symlinks=False)
    except OSError as exc:
        if walk.filter.wants_file(rel):
            yield _failed(rel, "access_error", _reason(exc))
        return
    yield from _classify(walk, rel, Path(entry.path), st)


def _visit_link(
    walk: _Walk, rel: str, entry: os.DirEntry[str]
) -> Iterator[SourceEntry | tuple[Path, str]]:
    """Follow a symlink only when its real target stays inside the roots."""
    try:
        real = Path(entry.path).resolve(strict=True)
        st = real.stat()
    except (OSError, RuntimeError) as exc:
        if walk.filter.wants_file(rel):
            reason = _reason(exc) if isinstance(exc, OSError) else "symlink loop"
            yield _failed(rel, "access_error", f"broken symbolic link ({reason})")
        return
    if not is_within(real, walk.roots):
        wanted = (
            walk.filter.wants_dir(rel) if stat.S_ISDIR(st.st_mode) else walk.filter.wants_file(rel)
        )
        if wanted and (walk.recursive or not stat.S_ISDIR(st.st_mode)):
            yield _failed(rel, *UNSAFE_LINK)
        return
    yield from _classify(walk, rel, real, st)


def _classify(
    walk: _Walk, rel: str, real: Path, st: os.stat_result
) -> Iterator[SourceEntry | tuple[Path, str]]:
    """Yield a file entry, a directory to descend into, or an error for special files."""
    if stat.S_ISDIR(st.st_mode):
        key = (st.st_dev, st.st_ino)
        if walk.recursive and key not in walk.seen_dirs and walk.filter.wants_dir(rel):
            walk.seen_dirs.add(key)
            yield real, rel
        return
    if not walk.filter.wants_file(rel):
        return
    if stat.S_ISREG(st.st_mode):
        if os.access(real, os.R_OK):
            yield SourceEntry(_name(rel), rel, st.st_size, PathRef(str(real)))
        else:
            yield _failed(rel, "access_error", "permission denied")
    else:  # a FIFO would hang the worker that opens it; devices and sockets make no sense
        yield _failed(rel, "type_not_allowed", "not a regular file (device, FIFO or socket)")


def _failed(rel: str, code: str, message: str) -> SourceEntry:
    """An entry that is listed as a failed file and must not be opened."""
    return SourceEntry(_name(rel), rel, 0, None, (code, message))


def _name(rel: str) -> str:
    return rel.rsplit("/", 1)[-1]


def _reason(exc: OSError) -> str:
    """A short reason without the absolute server path."""
    return exc.strerror or type(exc).__name__


# -- the adapter ------------------------------------------------------------------------------
def resolve_spec_path(settings: Settings, spec: dict[str, Any], *, index: int) -> Path:
    """The real path a directory or zip source names, inside the source roots (else 400)."""
    mappings = [parse_path_mapping(m) for m in settings.path_maps]
    try:
        return resolve_source_path(spec["path"], settings.resolved_source_roots, mappings)
    except BadRequest as exc:
        raise BadRequest(f"sources[{index}].path: {exc.detail}") from None


class RootedSource(BaseSource):
    """A source that names a path under the source roots (``directory``, ``zip``): checked and
    resolved when the job is created, shown without the server's own path."""

    def check(self, spec: dict[str, Any], *, index: int) -> dict[str, Any]:
        path = resolve_spec_path(self.context.settings, spec, index=index)
        problem = self.refuse(path)
        if problem:
            raise BadRequest(f"sources[{index}].path: {spec['path']!r} {problem}")
        return {**spec, "resolved_path": str(path)}

    def refuse(self, path: Path) -> str | None:
        """Why the resolved path cannot be this source, or None."""
        return None if path.exists() else "does not exist"

    @staticmethod
    def describe(spec: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in spec.items() if k not in ("type", "resolved_path")}


class DirectorySource(RootedSource):
    """A folder (or one file) under the source roots; its files are opened where they are."""

    type = "directory"
    ref_kinds: tuple[str, ...] = ("path",)

    def entries(self, spec: Mapping[str, Any]) -> Iterator[SourceEntry]:
        return iter_directory(
            Path(spec["resolved_path"]),
            recursive=spec.get("recursive", True),
            include=spec.get("include") or [],
            exclude=spec.get("exclude") or [],
            roots=self.context.settings.resolved_source_roots,
        )

    def is_remote(self, ref: FileRef) -> bool:
        return False

    @contextlib.asynccontextmanager
    async def materialise(self, ref: FileRef, limits: FetchLimits) -> AsyncIterator[LocalFile]:
        if not isinstance(ref, PathRef):
            raise TypeError(f"not a path reference: {ref!r}")
        yield LocalFile(Path(ref.path))
