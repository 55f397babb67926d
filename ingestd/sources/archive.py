"""Expand a zip archive into blobs, entry by entry, treating the archive as hostile.

Nothing is ever extracted to a path taken from the archive: each member is streamed into the
content-addressed blob store, so names only matter for display. Names with ``..``, absolute or
drive paths, backslashes, NUL or control characters, symlink members, encrypted members and
unsupported compression are listed as failed entries (never silently dropped, never stored).

Zip bombs are refused as a whole (:class:`SourceError` ``zip_bomb``): too many entries, too many
uncompressed bytes in total, or an entry that inflates by more than ``max_ratio``. The limits are
checked against the header's *declared* sizes up front (fail fast) and again against the bytes
*actually* streamed (a lying header cannot fill the disk: the stream is aborted and the blob
store removes its temporary file). Nested zips (detected by magic bytes, not by name) are
expanded up to ``max_depth`` levels and share the same entry and size budget.
"""

from __future__ import annotations

import os
import stat
import struct
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ingestd.blobs.base import BlobStore
from ingestd.domain.errors import FileError
from ingestd.domain.refs import BlobRef
from ingestd.domain.work import SourceEntry
from ingestd.sources.base import PathFilter, SourceError
from ingestd.sources.directory import RootedSource
from ingestd.sources.upload import BlobSource

MiB = 1024 * 1024
GiB = 1024 * MiB
READ_CHUNK = 64 * 1024  # bytes decompressed per read; bounds memory per member
ZIP_MAGIC = b"PK\x03\x04"
MAX_NAME_CHARS = 1024
SHOW_CHARS = 200
CENTRAL_RECORD_BUDGET = 1024  # bytes of central directory allowed per permitted entry
SUPPORTED_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})  # bounded inflation
# Errors meaning "this member's data is bad". OSError is deliberately absent: a full disk or an
# I/O error is the server's problem, not the file's, and must not mark the file as corrupt.
CORRUPT_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError)


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Bounds on what one archive source (nested archives included) may expand to.

    ``max_ratio`` is only judged once an entry inflates past ``ratio_min_size`` bytes, so small,
    highly repetitive files (a page of spaces) are not mistaken for bombs.
    """

    max_entries: int = 10_000
    max_total_size: int = 2 * GiB
    max_entry_size: int = 1 * GiB
    max_ratio: int = 100
    max_depth: int = 2
    ratio_min_size: int = 1 * MiB


def expand_zip(
    archive: Path,
    blobs: BlobStore,
    *,
    limits: ArchiveLimits = ArchiveLimits(),
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> Iterator[SourceEntry]:
    """Stream the selected members of ``archive`` into ``blobs`` and yield one entry each.

    Display paths are relative to the archive (``inner.zip/file.txt`` for nested members).
    Raises SourceError ``invalid_archive`` (not a zip, corrupt directory) or ``zip_bomb``;
    blobs already yielded stay stored, temporary files are always removed.
    """
    expander = _Expander(blobs, limits, PathFilter.of(include, exclude))
    yield from expander.expand(archive, prefix="", depth=0)


class _Expander:
    """One expansion: the shared entry/byte budget across nesting levels."""

    def __init__(self, blobs: BlobStore, limits: ArchiveLimits, filter: PathFilter) -> None:
        self.blobs = blobs
        self.limits = limits
        self.filter = filter
        self.entries = 0  # members seen, all levels
        self.total = 0  # bytes streamed, all levels

    def expand(self, archive: Path, *, prefix: str, depth: int) -> Iterator[SourceEntry]:
        """Yield the entries of one (possibly nested) archive."""
        with _open_zip(archive, self._entry_room(), prefix) as zf:
            infos = zf.infolist()
            self._count(len(infos), prefix)
            self._check_declared(infos, prefix)
            seen: set[str] = set()
            for info in infos:
                yield from self._member(zf, info, prefix, depth, seen)

    # -- limits -------------------------------------------------------------------------------

    def _entry_room(self) -> int:
        return self.limits.max_entries - self.entries

    def _count(self, n: int, prefix: str) -> None:
        self.entries += n
        if self.entries > self.limits.max_entries:
            raise SourceError(
                "zip_bomb",
                f"{_where(prefix)}has too many entries: {self.entries} in total, "
                f"more than the limit of {self.limits.max_entries}",
            )

    def _check_declared(self, infos: Sequence[zipfile.ZipInfo], prefix: str) -> None:
        """Fail fast on sizes and ratios the headers admit to."""
        declared = sum(info.file_size for info in infos if not info.is_dir())
        if self.total + declared > self.limits.max_total_size:
            raise SourceError(
                "zip_bomb",
                f"{_where(prefix)}declares {declared} uncompressed bytes; with "
                f"{self.total} already expanded that is over the total limit of "
                f"{self.limits.max_total_size} bytes",
            )
        for info in infos:
            self._check_ratio(info.file_size, info, prefix)

    def _check_ratio(self, size: int, info: zipfile.ZipInfo, prefix: str) -> None:
        limit = self.limits.max_ratio * max(info.compress_size, 1)
        if size > self.limits.ratio_min_size and size > limit:
            raise SourceError(
                "zip_bomb",
                f"entry {_show(prefix + info.orig_filename)} inflates {info.compress_size} "
                f"compressed bytes to more than {size} (ratio over the limit of "
                f"{self.limits.max_ratio})",
            )

    def _check_streamed(self, produced: int, info: zipfile.ZipInfo, prefix: str) -> None:
        """Limits on the bytes actually produced so far by one member."""
        name = _show(prefix + info.orig_filename)
        if produced > info.file_size:
            raise SourceError(
                "zip_bomb",
                f"entry {name} produced more than the {info.file_size} bytes its header declares",
            )
        if produced > self.limits.max_entry_size:
            raise SourceError(
                "zip_bomb",
                f"entry {name} produced more than the per-entry limit of "
                f"{self.limits.max_entry_size} bytes",
            )
        if self.total + produced > self.limits.max_total_size:
            raise SourceError(
                "zip_bomb",
                f"archive expanded past the total limit of {self.limits.max_total_size} bytes "
                f"(at entry {name})",
            )
        self._check_ratio(produced, info, prefix)

    # -- members ------------------------------------------------------------------------------

    def _member(
        self,
        zf: zipfile.ZipFile,
        info: zipfile.ZipInfo,
        prefix: str,
        depth: int,
        seen: set[str],
    ) -> Iterator[SourceEntry]:
        """Yield what one member turns into: nothing, a failed entry, a blob, or nested entries."""
        if info.is_dir():
            return
        problem = unsafe_member_name(info.orig_filename)
        if problem is not None:
            yield _failed(prefix + _sanitise(info.orig_filename), "unsafe_path", problem)
            return
        rel = clean_member_name(info.orig_filename)
        if not self.filter.wants_path(rel) or rel.split("/", 1)[0] == "__MACOSX":
            return  # excluded, hidden, or macOS resource-fork clutter
        if rel in seen:
            yield _failed(prefix + rel, "unsafe_path", "duplicate name in archive")
            return
        seen.add(rel)
        refusal = _refusal(info)
        if refusal is not None:
            if self.filter.wants_file(rel):
                yield _failed(prefix + rel, *refusal)
            return
        yield from self._content(zf, info, prefix, rel, depth)

    def _content(
        self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, prefix: str, rel: str, depth: int
    ) -> Iterator[SourceEntry]:
        """Peek at the member: expand it if it is a zip within depth, else store it if selected."""
        display = prefix + rel
        nested: Path | None = None
        try:
            with zf.open(info) as stream:
                first = stream.read(READ_CHUNK)
                if self._is_nested(first, info, depth):
                    nested = self._spool(stream, first, info, prefix)
                elif self.filter.wants_file(rel):
                    entry = self._store(stream, first, info, prefix, display)
                else:
                    return
        except CORRUPT_ERRORS as exc:
            yield _failed(display, "invalid_archive", f"entry is corrupt: {_reason(exc)}")
            return
        if nested is None:
            yield entry
            return
        try:
            yield from self._nested(nested, display, depth)
        finally:
            nested.unlink(missing_ok=True)

    def _is_nested(self, first: bytes, info: zipfile.ZipInfo, depth: int) -> bool:
        """A zip member within the depth (an oversized one is refused as a plain entry)."""
        return (
            first.startswith(ZIP_MAGIC)
            and depth < self.limits.max_depth
            and info.file_size <= self.limits.max_entry_size
        )

    def _store(
        self, stream: IO[bytes], first: bytes, info: zipfile.ZipInfo, prefix: str, display: str
    ) -> SourceEntry:
        """Stream one member into the blob store, enforcing limits on the real byte count."""
        if info.file_size > self.limits.max_entry_size:
            return _failed(
                display,
                "too_large",
                f"declares {info.file_size} bytes, over the per-entry limit of "
                f"{self.limits.max_entry_size}",
            )
        chunks = self._chunks(stream, first, info, prefix)
        try:
            blob = self.blobs.write_chunks(chunks, limit=self.limits.max_entry_size)
        except FileError as exc:  # the store's own limit: only reachable with a lying header
            raise SourceError("zip_bomb", f"entry {_show(display)}: {exc.message}") from None
        self.total += blob.size
        return SourceEntry(display.rsplit("/", 1)[-1], display, blob.size, BlobRef(blob.key))

    def _spool(self, stream: IO[bytes], first: bytes, info: zipfile.ZipInfo, prefix: str) -> Path:
        """Copy a nested archive to a private temporary file (zipfile needs to seek)."""
        fd, name = tempfile.mkstemp(dir=self.blobs.tmp_dir(), suffix=".zip")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                size = 0
                for chunk in self._chunks(stream, first, info, prefix):
                    size += len(chunk)
                    out.write(chunk)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self.total += size
        return tmp

    def _nested(self, archive: Path, display: str, depth: int) -> Iterator[SourceEntry]:
        """Expand a nested archive; a corrupt one fails as an entry, a bomb fails the source."""
        try:
            yield from self.expand(archive, prefix=display + "/", depth=depth + 1)
        except SourceError as exc:
            if exc.code != "invalid_archive":
                raise
            yield _failed(display, "invalid_archive", exc.message)

    def _chunks(
        self, stream: IO[bytes], first: bytes, info: zipfile.ZipInfo, prefix: str
    ) -> Iterator[bytes]:
        """The member's bytes, checked against the limits as they are produced."""
        produced = 0
        chunk = first
        while chunk:
            produced += len(chunk)
            self._check_streamed(produced, info, prefix)
            yield chunk
            chunk = stream.read(READ_CHUNK)


# -- opening and the central directory ----------------------------------------------------------


def _open_zip(archive: Path, entry_room: int, prefix: str) -> zipfile.ZipFile:
    """Open ``archive`` after a cheap look at its end record (bounds the central directory)."""
    try:
        with archive.open("rb") as fp:
            _precheck_directory(fp, entry_room, prefix)
        return zipfile.ZipFile(archive)
    except SourceError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, struct.error, EOFError, ValueError) as exc:
        raise SourceError("invalid_archive", f"{_where(prefix)}is not a valid zip: {exc}") from None
    except (OSError, NotImplementedError) as exc:
        raise SourceError(
            "invalid_archive", f"{_where(prefix)}cannot be read: {_reason(exc)}"
        ) from None


def _precheck_directory(fp: IO[bytes], entry_room: int, prefix: str) -> None:
    """Refuse, before ``zipfile`` loads it, a central directory too big for the entry budget.

    ``zipfile`` builds a ``ZipInfo`` for every central record (it walks the directory by byte
    size), so both the declared entry count and the directory size are bounded here. Anything
    unusual is left for ``zipfile`` to judge.
    """
    found = _end_record(fp)
    if found is None:
        raise SourceError("invalid_archive", f"{_where(prefix)}is not a zip file")
    count, cd_size = found
    if count > entry_room or cd_size > max(entry_room, 0) * CENTRAL_RECORD_BUDGET:
        raise SourceError(
            "zip_bomb",
            f"{_where(prefix)}declares {count} entries in a {cd_size}-byte directory, "
            f"over the remaining entry limit of {max(entry_room, 0)}",
        )


def _end_record(fp: IO[bytes]) -> tuple[int, int] | None:
    """(entry count, central directory size) from the end record, zip64 aware; None if absent."""
    fp.seek(0, os.SEEK_END)
    size = fp.tell()
    tail_len = min(size, 22 + 0xFFFF)
    fp.seek(size - tail_len)
    tail = fp.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < 22:
        return None
    fields = struct.unpack("<4s4H2LH", tail[pos : pos + 22])
    count, cd_size = int(fields[5]), int(fields[6])
    zip64 = _zip64_record(fp, size - tail_len + pos)
    return zip64 if zip64 is not None else (count, cd_size)


def _zip64_record(fp: IO[bytes], end_offset: int) -> tuple[int, int] | None:
    """The zip64 end record's (count, size), if a zip64 locator precedes the end record."""
    if end_offset < 20:
        return None
    fp.seek(end_offset - 20)
    locator = fp.read(20)
    if locator[:4] != b"PK\x06\x07":
        return None
    record_offset = struct.unpack("<4sLQL", locator)[2]
    fp.seek(record_offset)
    record = fp.read(56)
    if len(record) < 56 or record[:4] != b"PK\x06\x06":
        return None  # possibly offset by prepended data; zipfile copes or refuses
    fields = struct.unpack("<4sQ2H2L4Q", record)
    return int(fields[7]), int(fields[8])


# -- names --------------------------------------------------------------------------------------


def unsafe_member_name(name: str) -> str | None:
    """Why a member name is unsafe to use even as a display path, or None if it is fine."""
    if "\x00" in name:
        return "NUL byte in member name"
    if any(unicodedata.category(ch) in {"Cc", "Cs"} for ch in name):
        return "control character in member name"
    if "\\" in name:
        return "backslash in member name"
    if name.startswith("/"):
        return "absolute member name"
    if len(name) >= 2 and name[1] == ":" and name[0].isascii() and name[0].isalpha():
        return "Windows drive in member name"
    if ".." in name.split("/"):
        return "'..' in member name"
    if len(name) > MAX_NAME_CHARS:
        return f"member name longer than {MAX_NAME_CHARS} characters"
    if not clean_member_name(name):
        return "empty member name"
    return None


def clean_member_name(name: str) -> str:
    """The member name without empty or ``.`` components (``./a//b`` -> ``a/b``)."""
    return "/".join(part for part in name.split("/") if part not in {"", "."})


def _refusal(info: zipfile.ZipInfo) -> tuple[str, str] | None:
    """Why a member with a safe name is still not extracted, or None."""
    if stat.S_ISLNK(info.external_attr >> 16):
        return ("unsafe_path", "symbolic link in archive")
    if info.flag_bits & 0x1:
        return ("encrypted", "entry is encrypted; password-protected archives are not supported")
    if info.compress_type not in SUPPORTED_METHODS:
        return ("invalid_archive", f"unsupported compression method {info.compress_type}")
    return None


def _failed(display: str, code: str, message: str) -> SourceEntry:
    return SourceEntry(display.rsplit("/", 1)[-1], display, 0, None, (code, message))


def _sanitise(name: str) -> str:
    """A hostile name made displayable: control characters replaced, length bounded."""
    clean = "".join("?" if unicodedata.category(ch) in {"Cc", "Cs"} else ch for ch in name)
    return clean[:SHOW_CHARS] + ("…" if len(clean) > SHOW_CHARS else "")


def _show(name: str) -> str:
    return repr(_sanitise(name))


def _where(prefix: str) -> str:
    return f"nested archive {_show(prefix.rstrip('/'))} " if prefix else "archive "


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)[:SHOW_CHARS] or type(exc).__name__


# -- the adapter --------------------------------------------------------------------------------


class ZipSource(RootedSource, BlobSource):
    """A zip archive under the source roots: expanded into blobs while it is listed."""

    type = "zip"

    def refuse(self, path: Path) -> str | None:
        return None if path.is_file() else "is not a file"

    def entries(self, spec: Mapping[str, Any]) -> Iterator[SourceEntry]:
        return expand_zip(
            Path(spec["resolved_path"]),
            self.context.blob_store(),
            include=spec.get("include") or [],
            exclude=spec.get("exclude") or [],
        )
