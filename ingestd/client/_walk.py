"""Which local files an upload sends: files as given, folders walked with the server's own
include/exclude rules (``ingestd.domain.paths.PathFilter``, shared with the directory source),
so a pattern selects the same files whether the server reads the folder or the SDK uploads it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingestd.client._errors import UploadError
from ingestd.client._models import Rejected
from ingestd.domain.errors import BadRequest
from ingestd.domain.paths import PathFilter


@dataclass(frozen=True, slots=True)
class LocalFile:
    path: Path  # where to read it
    rel: str  # its POSIX path relative to what was given: the file's ``relative_path``
    size: int
    mtime_ns: int


@dataclass(slots=True)
class Selection:
    files: list[LocalFile]
    rejected: list[Rejected]  # found but unreadable, or not regular files

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)


def path_filter(include: Sequence[str], exclude: Sequence[str]) -> PathFilter:
    try:
        return PathFilter.of(list(include), list(exclude))
    except BadRequest as exc:
        raise ValueError(exc.detail) from None


def select(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    recursive: bool = True,
) -> Selection:
    """The files to send, in a stable order. A file named directly is always taken; a folder's
    files are those the filter selects. With several inputs, a folder's files keep its name as
    their first component, so that two folders' ``a.txt`` stay apart."""
    given = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    select_ = path_filter(include, exclude)
    found = Selection([], [])
    for raw in given:
        root = Path(raw)
        try:
            st = root.stat()
        except OSError as exc:
            raise UploadError(f"{root}: {exc.strerror or 'cannot be read'}") from None
        if stat.S_ISDIR(st.st_mode):
            prefix = root.resolve().name if len(given) > 1 else ""
            _walk(root, prefix, select_, recursive, found, {(st.st_dev, st.st_ino)})
        elif stat.S_ISREG(st.st_mode):
            found.files.append(LocalFile(root, root.name, st.st_size, st.st_mtime_ns))
        else:
            raise UploadError(f"{root}: not a regular file or folder")
    return found


def _walk(
    top: Path,
    prefix: str,
    select_: PathFilter,
    recursive: bool,
    found: Selection,
    seen: set[tuple[int, int]],
) -> None:
    stack: list[tuple[Path, str]] = [(top, "")]
    while stack:
        folder, rel_dir = stack.pop()
        subdirs: list[tuple[Path, str]] = []
        for entry, rel in _entries(folder, rel_dir, prefix, found):
            shown = f"{prefix}/{rel}" if prefix else rel
            try:
                st = entry.stat()  # symlinks followed; cycles broken by ``seen``
            except OSError as exc:
                if select_.wants_file(rel):
                    found.rejected.append(_refused(shown, exc.strerror or "cannot be read"))
                continue
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if recursive and key not in seen and select_.wants_dir(rel):
                    seen.add(key)
                    subdirs.append((Path(entry.path), rel))
            elif select_.wants_file(rel):
                if stat.S_ISREG(st.st_mode):
                    found.files.append(
                        LocalFile(Path(entry.path), shown, st.st_size, st.st_mtime_ns)
                    )
                else:
                    found.rejected.append(_refused(shown, "not a regular file"))
        stack.extend(reversed(subdirs))  # depth first, in name order


def _entries(
    folder: Path, rel_dir: str, prefix: str, found: Selection
) -> Iterator[tuple[os.DirEntry[str], str]]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        shown = "/".join(p for p in (prefix, rel_dir) if p) or str(folder)
        found.rejected.append(_refused(shown, exc.strerror or "cannot be listed"))
        return
    for entry in entries:
        yield entry, (f"{rel_dir}/{entry.name}" if rel_dir else entry.name)


def _refused(path: str, reason: str) -> Rejected:
    return Rejected(path=path, code="access_error", message=reason)
