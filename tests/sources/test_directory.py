"""Directory walking: order, filters, hidden files, symlinks, and bad entries that are listed."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path

import pytest

from ingestd.domain.errors import BadRequest
from ingestd.domain.refs import PathRef
from ingestd.domain.work import SourceEntry
from ingestd.sources.base import SourceError
from ingestd.sources.directory import iter_directory


def _write(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    _write(root / "b.pdf", b"bb")
    _write(root / "a.txt", b"a")
    _write(root / "sub" / "c.pdf", b"ccc")
    _write(root / "sub" / "deeper" / "d.PDF", b"dddd")
    _write(root / "build" / "e.pdf")
    _write(root / ".hidden.pdf")
    _write(root / ".git" / "config")
    _write(root / ".config" / "app.yml")
    return root


def _walk(
    root: Path,
    *,
    recursive: bool = True,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    roots: Sequence[Path] | None = None,
) -> list[SourceEntry]:
    return list(
        iter_directory(
            root,
            recursive=recursive,
            include=include,
            exclude=exclude,
            roots=roots if roots is not None else [root],
        )
    )


def _paths(entries: list[SourceEntry]) -> list[str]:
    return [entry.path for entry in entries]


def test_recursive_walk_is_sorted_and_skips_hidden(tree: Path) -> None:
    entries = _walk(tree)
    assert _paths(entries) == [
        "a.txt",
        "b.pdf",
        "build/e.pdf",
        "sub/c.pdf",
        "sub/deeper/d.PDF",
    ]
    first = entries[0]
    assert first.name == "a.txt" and first.size == 1 and first.error is None
    assert first.ref == PathRef(str(tree / "a.txt"))


def test_non_recursive(tree: Path) -> None:
    assert _paths(_walk(tree, recursive=False)) == ["a.txt", "b.pdf"]


def test_include_matches_bare_name_and_relative_path(tree: Path) -> None:
    assert _paths(_walk(tree, include=["*.pdf"])) == [
        "b.pdf",
        "build/e.pdf",
        "sub/c.pdf",
        "sub/deeper/d.PDF",
    ]
    assert _paths(_walk(tree, include=["sub/*.pdf"])) == ["sub/c.pdf"]
    assert _paths(_walk(tree, include=["sub/**/*.pdf"])) == ["sub/c.pdf", "sub/deeper/d.PDF"]
    assert _paths(_walk(tree, include=["**/d.*"])) == ["sub/deeper/d.PDF"]


def test_exclude_prunes_files_and_directories(tree: Path) -> None:
    assert _paths(_walk(tree, include=["*.pdf"], exclude=["build"])) == [
        "b.pdf",
        "sub/c.pdf",
        "sub/deeper/d.PDF",
    ]
    assert _paths(_walk(tree, exclude=["sub/**", "*.txt"])) == ["b.pdf", "build/e.pdf"]


def test_hidden_only_when_explicitly_included(tree: Path) -> None:
    assert _paths(_walk(tree, include=[".*.pdf"])) == [".hidden.pdf"]
    assert _paths(_walk(tree, include=[".config/*.yml"])) == [".config/app.yml"]
    assert ".git/config" not in _paths(_walk(tree, include=["*"]))


def test_single_file_source(tree: Path) -> None:
    entries = _walk(tree / "sub" / "c.pdf", roots=[tree])
    assert entries == [SourceEntry("c.pdf", "c.pdf", 3, PathRef(str(tree / "sub" / "c.pdf")))]


def test_symlink_inside_roots_is_followed(tree: Path) -> None:
    (tree / "link_to_sub").symlink_to(tree / "sub")
    (tree / "link.pdf").symlink_to(tree / "b.pdf")
    entries = {e.path: e for e in _walk(tree, include=["*.pdf"])}
    assert entries["link.pdf"].ref == PathRef(str(tree / "b.pdf"))
    assert entries["link.pdf"].error is None
    # each real directory is walked once ("link_to_sub" sorts first, so it wins over "sub")
    assert "link_to_sub/c.pdf" in entries
    assert not any(path.startswith("sub/") for path in entries)


def test_symlinked_directory_listed_through_link_when_first(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _write(root / "z_real" / "f.txt")
    (root / "a_link").symlink_to(root / "z_real")
    assert _paths(_walk(root)) == ["a_link/f.txt"]


def test_symlink_outside_roots_is_an_error_entry(tree: Path, tmp_path: Path) -> None:
    outside = _write(tmp_path / "secret" / "passwords.txt")
    (tree / "evil.txt").symlink_to(outside)
    (tree / "evil_dir").symlink_to(outside.parent)
    entries = {e.path: e for e in _walk(tree)}
    for path in ("evil.txt", "evil_dir"):
        assert entries[path].error == ("unsafe_path", "symlink points outside the source roots")
        assert entries[path].ref is None
    assert not any("passwords" in path for path in entries)


def test_symlink_into_another_root_is_allowed(tree: Path, tmp_path: Path) -> None:
    other = tmp_path / "other_root"
    _write(other / "o.txt")
    (tree / "to_other").symlink_to(other)
    entries = _walk(tree, include=["to_other/*"], roots=[tree, other])
    assert [(e.path, e.error) for e in entries] == [("to_other/o.txt", None)]


def test_broken_symlink_and_loop(tree: Path) -> None:
    (tree / "broken.txt").symlink_to(tree / "missing.txt")
    (tree / "loop").symlink_to(tree / "loop")
    (tree / "sub" / "up").symlink_to(tree)  # a cycle back to the root
    entries = {e.path: e for e in _walk(tree)}
    assert entries["broken.txt"].error is not None
    assert entries["broken.txt"].error[0] == "access_error"
    assert entries["loop"].error is not None
    assert not any(path.startswith("sub/up/") for path in entries)


def test_fifo_is_listed_as_not_allowed(tree: Path) -> None:
    os.mkfifo(tree / "pipe.pdf")
    entries = {e.path: e for e in _walk(tree, include=["*.pdf"])}
    assert entries["pipe.pdf"].error is not None
    assert entries["pipe.pdf"].error[0] == "type_not_allowed"


def test_unlistable_subdirectory_is_an_error_entry(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str]) -> Iterator[os.DirEntry[str]]:
        if Path(path).name == "sub":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr("ingestd.sources.directory.os.scandir", scandir)
    entries = {e.path: e for e in _walk(tree)}
    assert entries["sub"].error == ("access_error", "Permission denied")
    assert "build/e.pdf" in entries  # the walk went on


def test_unreadable_file_is_an_error_entry(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "ingestd.sources.directory.os.access", lambda path, mode: Path(path).name != "a.txt"
    )
    entries = {e.path: e for e in _walk(tree)}
    assert entries["a.txt"].error == ("access_error", "permission denied")
    assert entries["b.pdf"].error is None


def test_unlistable_root_fails_the_source(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def scandir(path: str | os.PathLike[str]) -> Iterator[os.DirEntry[str]]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("ingestd.sources.directory.os.scandir", scandir)
    with pytest.raises(SourceError) as caught:
        _walk(tree)
    assert caught.value.code == "access_error"


def test_root_outside_roots_is_refused(tree: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        _walk(tree, roots=[tmp_path / "elsewhere"])
    assert caught.value.code == "unsafe_path"


def test_bad_pattern_is_a_bad_request(tree: Path) -> None:
    with pytest.raises(BadRequest, match="bad glob pattern"):
        _walk(tree, include=["[z-a]"])


def test_streams_lazily(tree: Path) -> None:
    walker = iter_directory(tree, recursive=True, include=[], exclude=[], roots=[tree])
    assert isinstance(walker, Generator)
    assert next(walker).path == "a.txt"
    walker.close()
