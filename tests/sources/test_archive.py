"""Zip expansion against hostile archives: traversal, symlinks, bombs, lying headers, nesting."""

from __future__ import annotations

import io
import os
import pickle
import stat
import struct
import warnings
import zipfile
from collections.abc import Generator, Iterable, Sequence
from pathlib import Path

import pytest

from ingestd.blobs.local import LocalBlobStore
from ingestd.domain.refs import BlobRef
from ingestd.domain.work import SourceEntry
from ingestd.sources.archive import ArchiveLimits, expand_zip
from ingestd.sources.base import SourceError

MiB = 1024 * 1024


def _bytes(blobs: LocalBlobStore, entry: SourceEntry) -> bytes:
    assert isinstance(entry.ref, BlobRef)
    return blobs.path(entry.ref.key).read_bytes()


def _zip_bytes(
    members: Iterable[tuple[str | zipfile.ZipInfo, bytes]], *, deflate: bool = True
) -> bytes:
    """Build an archive in memory; duplicate names are intended here, so silence their warning."""
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name: ..."
        with zipfile.ZipFile(buffer, "w", compression=method) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return buffer.getvalue()


def _write_zip(
    path: Path, members: Iterable[tuple[str | zipfile.ZipInfo, bytes]], **kw: bool
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_zip_bytes(members, **kw))
    return path


def _patch_name(data: bytes, old: bytes, new: bytes) -> bytes:
    """Rewrite a member name in both local and central headers (same length)."""
    assert len(old) == len(new) and data.count(old) == 2
    return data.replace(old, new)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def _expand(
    archive: Path,
    blobs: LocalBlobStore,
    limits: ArchiveLimits = ArchiveLimits(),
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> list[SourceEntry]:
    return list(expand_zip(archive, blobs, limits=limits, include=include, exclude=exclude))


def _files_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*") if p.is_file() or p.is_symlink()}


def _assert_clean(blobs: LocalBlobStore) -> None:
    assert list(blobs.tmp_dir().iterdir()) == [], "temporary files left behind"


def _errors(entries: list[SourceEntry]) -> dict[str, tuple[str, str] | None]:
    return {entry.path: entry.error for entry in entries}


# -- the happy path ------------------------------------------------------------------------------


def test_members_are_streamed_into_blobs(workdir: Path, blobs: LocalBlobStore) -> None:
    archive = _write_zip(
        workdir / "batch.zip",
        [
            ("docs/a.txt", b"hello"),
            ("docs/", b""),
            ("b.pdf", b"%PDF-1.4" * 100),
            ("./c//d.txt", b"d"),
        ],
    )
    entries = _expand(archive, blobs)
    assert [(e.path, e.name, e.size, e.error) for e in entries] == [
        ("docs/a.txt", "a.txt", 5, None),
        ("b.pdf", "b.pdf", 800, None),
        ("c/d.txt", "d.txt", 1, None),
    ]
    for entry in entries:
        assert isinstance(entry.ref, BlobRef)
        assert blobs.path(entry.ref.key).is_file()
    assert _bytes(blobs, entries[0]) == b"hello"
    _assert_clean(blobs)


def test_include_exclude_and_hidden(workdir: Path, blobs: LocalBlobStore) -> None:
    archive = _write_zip(
        workdir / "f.zip",
        [
            ("a.pdf", b"a"),
            ("x/b.PDF", b"b"),
            ("x/c.txt", b"c"),
            (".DS_Store", b"junk"),
            ("__MACOSX/._a.pdf", b"junk"),
            ("skip/d.pdf", b"d"),
        ],
    )
    entries = _expand(archive, blobs, include=["*.pdf"], exclude=["skip"])
    assert [e.path for e in entries] == ["a.pdf", "x/b.PDF"]


def test_empty_member(workdir: Path, blobs: LocalBlobStore) -> None:
    entries = _expand(_write_zip(workdir / "e.zip", [("empty.txt", b"")]), blobs)
    assert [(e.path, e.size, e.error) for e in entries] == [("empty.txt", 0, None)]


# -- unsafe names and members --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../evil.txt",
        "a/../../evil.txt",
        "/etc/cron.d/evil",
        "C:\\Windows\\evil.txt",
        "C:/Windows/evil.txt",
        "..\\..\\evil.txt",
        "a\\b.txt",
        "ok/\x1b[31m.txt",
    ],
)
def test_unsafe_names_are_listed_not_extracted(
    tmp_path: Path, workdir: Path, blobs: LocalBlobStore, name: str
) -> None:
    archive = _write_zip(workdir / "evil.zip", [(name, b"pwned"), ("fine.txt", b"ok")])
    before = _files_under(tmp_path)
    entries = _expand(archive, blobs)
    assert len(entries) == 2
    bad, good = entries
    assert bad.error is not None and bad.error[0] == "unsafe_path"
    assert bad.ref is None
    assert "\x1b" not in bad.path
    assert good.error is None
    new_files = _files_under(tmp_path) - before
    assert all(blobs.root in path.parents for path in new_files)
    assert not any(path.read_bytes() == b"pwned" for path in new_files)
    _assert_clean(blobs)


def test_nul_in_member_name(workdir: Path, blobs: LocalBlobStore) -> None:
    data = _patch_name(_zip_bytes([("evilXname.txt", b"x")]), b"evilXname", b"evil\x00name")
    archive = workdir / "nul.zip"
    archive.write_bytes(data)
    [entry] = _expand(archive, blobs)
    assert entry.error == ("unsafe_path", "NUL byte in member name")
    assert "\x00" not in entry.path


def test_symlink_member_is_refused(workdir: Path, blobs: LocalBlobStore) -> None:
    info = zipfile.ZipInfo("link")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = _write_zip(workdir / "link.zip", [(info, b"/etc/passwd")])
    [entry] = _expand(archive, blobs)
    assert entry.error == ("unsafe_path", "symbolic link in archive")
    assert entry.ref is None


def test_encrypted_member_is_an_error_entry(workdir: Path, blobs: LocalBlobStore) -> None:
    data = bytearray(_zip_bytes([("secret.txt", b"top secret")], deflate=False))
    # set the "encrypted" general-purpose bit in the local and central headers
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 6] |= 0x1
    data[central + 8] |= 0x1
    archive = workdir / "enc.zip"
    archive.write_bytes(bytes(data))
    [entry] = _expand(archive, blobs)
    assert entry.error is not None and entry.error[0] == "encrypted"


def test_duplicate_names_are_flagged(workdir: Path, blobs: LocalBlobStore) -> None:
    archive = _write_zip(workdir / "dup.zip", [("a.txt", b"first"), ("a.txt", b"second")])
    entries = _expand(archive, blobs)
    assert [(e.path, e.error) for e in entries] == [
        ("a.txt", None),
        ("a.txt", ("unsafe_path", "duplicate name in archive")),
    ]


def test_unsupported_compression_is_an_error_entry(workdir: Path, blobs: LocalBlobStore) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_BZIP2) as zf:
        zf.writestr("a.txt", b"a" * 1000)
    archive = workdir / "bz.zip"
    archive.write_bytes(buffer.getvalue())
    [entry] = _expand(archive, blobs)
    assert entry.error is not None and entry.error[0] == "invalid_archive"


# -- nesting -------------------------------------------------------------------------------------


def test_nested_zips_expand_up_to_max_depth(workdir: Path, blobs: LocalBlobStore) -> None:
    level3 = _zip_bytes([("deep.txt", b"deep")])
    level2 = _zip_bytes([("l2.zip", level3), ("file.txt", b"two")])
    level1 = _zip_bytes([("inner.zip", level2), ("one.txt", b"one")])
    archive = _write_zip(workdir / "top.zip", [("outer.zip", level1), ("top.txt", b"top")])
    entries = _expand(archive, blobs, ArchiveLimits(max_depth=2))
    assert [(e.path, e.error) for e in entries] == [
        ("outer.zip/inner.zip/l2.zip", None),  # beyond the depth: kept as a plain entry
        ("outer.zip/inner.zip/file.txt", None),
        ("outer.zip/one.txt", None),
        ("top.txt", None),
    ]
    assert _bytes(blobs, entries[0]) == level3
    _assert_clean(blobs)


def test_nested_zip_detected_by_magic_not_name(workdir: Path, blobs: LocalBlobStore) -> None:
    inner = _zip_bytes([("x.txt", b"x")])
    archive = _write_zip(workdir / "top.zip", [("data.bin", inner)])
    assert [e.path for e in _expand(archive, blobs)] == ["data.bin/x.txt"]
    assert [e.path for e in _expand(archive, blobs, ArchiveLimits(max_depth=0))] == ["data.bin"]


def test_corrupt_nested_zip_is_an_error_entry(workdir: Path, blobs: LocalBlobStore) -> None:
    archive = _write_zip(workdir / "top.zip", [("broken.zip", b"PK\x03\x04" + b"\xff" * 100)])
    [entry] = _expand(archive, blobs)
    assert entry.path == "broken.zip"
    assert entry.error is not None and entry.error[0] == "invalid_archive"
    _assert_clean(blobs)


# -- bombs ---------------------------------------------------------------------------------------


def test_real_zip_bomb_is_refused(workdir: Path, blobs: LocalBlobStore) -> None:
    archive = _write_zip(workdir / "bomb.zip", [("zeros.bin", bytes(50 * MiB))])
    assert archive.stat().st_size < MiB
    with pytest.raises(SourceError) as caught:
        _expand(archive, blobs, ArchiveLimits(max_ratio=100))
    assert caught.value.code == "zip_bomb"
    assert "ratio" in caught.value.message
    assert _files_under(blobs.root) == set()


def test_total_size_limit(workdir: Path, blobs: LocalBlobStore) -> None:
    archive = _write_zip(
        workdir / "big.zip", [(f"f{i}.bin", os.urandom(300_000)) for i in range(4)]
    )
    with pytest.raises(SourceError) as caught:
        _expand(archive, blobs, ArchiveLimits(max_total_size=1_000_000))
    assert caught.value.code == "zip_bomb"
    assert "1000000" in caught.value.message


def test_total_size_is_shared_across_nesting(workdir: Path, blobs: LocalBlobStore) -> None:
    inner = _zip_bytes([("r.bin", os.urandom(400_000))], deflate=False)
    archive = _write_zip(workdir / "top.zip", [("a.zip", inner), ("b.zip", inner)], deflate=False)
    with pytest.raises(SourceError) as caught:
        _expand(archive, blobs, ArchiveLimits(max_total_size=1_500_000))
    assert caught.value.code == "zip_bomb"
    _assert_clean(blobs)


def test_entry_count_bomb(workdir: Path, blobs: LocalBlobStore) -> None:
    archive = _write_zip(workdir / "many.zip", [(f"f{i}.txt", b"") for i in range(50)])
    with pytest.raises(SourceError) as caught:
        _expand(archive, blobs, ArchiveLimits(max_entries=10))
    assert caught.value.code == "zip_bomb"
    assert "10" in caught.value.message
    assert _files_under(blobs.root) == set()


def test_entry_count_is_shared_across_nesting(workdir: Path, blobs: LocalBlobStore) -> None:
    inner = _zip_bytes([(f"i{i}.txt", b"i") for i in range(6)])
    archive = _write_zip(
        workdir / "top.zip", [("in.zip", inner), *[(f"o{i}", b"o") for i in range(5)]]
    )
    with pytest.raises(SourceError) as caught:
        _expand(archive, blobs, ArchiveLimits(max_entries=10))
    assert caught.value.code == "zip_bomb"
    _assert_clean(blobs)


def test_declared_entry_too_large_is_an_error_entry(workdir: Path, blobs: LocalBlobStore) -> None:
    archive = _write_zip(workdir / "t.zip", [("big.bin", os.urandom(5000)), ("ok.txt", b"ok")])
    entries = _expand(archive, blobs, ArchiveLimits(max_entry_size=1000))
    assert entries[0].error is not None and entries[0].error[0] == "too_large"
    assert entries[1].error is None


def _lying_header(data: bytes, declared: int) -> bytes:
    """Rewrite the uncompressed size in the local and central headers of the only member."""
    patched = bytearray(data)
    local = patched.find(b"PK\x03\x04")
    central = patched.find(b"PK\x01\x02")
    struct.pack_into("<L", patched, local + 22, declared)
    struct.pack_into("<L", patched, central + 24, declared)
    return bytes(patched)


def test_lying_header_cannot_fill_the_disk(workdir: Path, blobs: LocalBlobStore) -> None:
    real = _zip_bytes([("small.txt", bytes(20 * MiB))])
    archive = workdir / "liar.zip"
    archive.write_bytes(_lying_header(real, 1000))
    limits = ArchiveLimits(max_entry_size=MiB, max_total_size=2 * MiB)
    try:
        entries = _expand(archive, blobs, limits)
    except SourceError as exc:
        assert exc.code in {"zip_bomb", "invalid_archive"}
    else:
        [entry] = entries
        assert entry.error is not None and entry.ref is None  # bad CRC: listed as failed
    assert sum(p.stat().st_size for p in _files_under(blobs.root)) <= 1000
    _assert_clean(blobs)


def test_streamed_bytes_are_counted_even_if_the_reader_trusts_the_data(
    workdir: Path, blobs: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: a reader that ignored the declared size must still be cut off."""
    archive = _write_zip(workdir / "liar.zip", [("small.txt", b"tiny")])
    flood = bytes(5 * MiB)
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *a, **k: io.BytesIO(flood))
    with pytest.raises(SourceError) as caught:
        _expand(archive, blobs, ArchiveLimits(max_entry_size=MiB))
    assert caught.value.code == "zip_bomb"
    assert "declares" in caught.value.message
    assert _files_under(blobs.root) == set()
    _assert_clean(blobs)


def test_abort_mid_nested_cleans_temporary_files(workdir: Path, blobs: LocalBlobStore) -> None:
    inner = _zip_bytes([("zeros.bin", bytes(30 * MiB))])
    archive = _write_zip(workdir / "top.zip", [("inner.zip", inner)])
    with pytest.raises(SourceError):
        _expand(archive, blobs, ArchiveLimits(max_ratio=50))
    _assert_clean(blobs)


def test_closing_early_cleans_temporary_files(workdir: Path, blobs: LocalBlobStore) -> None:
    inner = _zip_bytes([("a.txt", b"a"), ("b.txt", b"b")])
    archive = _write_zip(workdir / "top.zip", [("inner.zip", inner)])
    expansion = expand_zip(archive, blobs)
    assert isinstance(expansion, Generator)
    assert next(expansion).path == "inner.zip/a.txt"
    assert len(list(blobs.tmp_dir().iterdir())) == 1  # the spooled nested archive
    expansion.close()
    _assert_clean(blobs)


# -- broken archives -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not a zip at all", b"PK\x03\x04" + os.urandom(4096)],
)
def test_not_a_zip(workdir: Path, blobs: LocalBlobStore, content: bytes) -> None:
    archive = workdir / "bad.zip"
    archive.write_bytes(content)
    with pytest.raises(SourceError) as caught:
        _expand(archive, blobs)
    assert caught.value.code == "invalid_archive"


def test_truncated_archive(workdir: Path, blobs: LocalBlobStore) -> None:
    data = _zip_bytes([("a.txt", b"a" * 1000)])
    archive = workdir / "cut.zip"
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError) as caught:
        _expand(archive, blobs)
    assert caught.value.code == "invalid_archive"


def test_corrupt_member_data_is_an_error_entry(workdir: Path, blobs: LocalBlobStore) -> None:
    payload = os.urandom(2000)
    data = bytearray(_zip_bytes([("a.bin", payload), ("b.txt", b"fine")], deflate=False))
    offset = data.find(payload)
    data[offset + 10] ^= 0xFF  # flip a byte: the CRC no longer matches
    archive = workdir / "crc.zip"
    archive.write_bytes(bytes(data))
    entries = _expand(archive, blobs)
    assert entries[0].error is not None and entries[0].error[0] == "invalid_archive"
    assert entries[1].error is None
    _assert_clean(blobs)


def test_empty_archive(workdir: Path, blobs: LocalBlobStore) -> None:
    assert _expand(_write_zip(workdir / "empty.zip", []), blobs) == []


def test_missing_archive(workdir: Path, blobs: LocalBlobStore) -> None:
    with pytest.raises(SourceError) as caught:
        _expand(workdir / "nope.zip", blobs)
    assert caught.value.code == "invalid_archive"


def test_source_error_pickles() -> None:
    error = SourceError("zip_bomb", "too many entries")
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.code, clone.message, str(clone)) == ("zip_bomb", "too many entries", str(error))
