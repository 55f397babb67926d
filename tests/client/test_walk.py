"""The SDK uploads exactly the files the server's directory source would take from the same
folder with the same include/exclude patterns: both use ``ingestd.domain.paths.PathFilter``."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestd.client import UploadError
from ingestd.client._walk import select
from ingestd.sources.directory import iter_directory

TREE = [
    "a.md",
    "B.MD",
    "notes.txt",
    "report.pdf",
    "drafts/c.md",
    "drafts/old/c2.md",
    "docs/deep/d.md",
    "docs/e.csv",
    "docs/.secret/s.md",
    ".hidden/f.md",
    ".g.md",
    "x [1].txt",
]
PATTERNS = [
    "*.md",
    "**/*.md",
    "docs/**",
    "drafts/*",
    "drafts",
    "*.MD",
    ".hidden/*",
    "**/.secret/*",
    "*.[tc]*",
    "x [1].txt",
    "?.md",
    "docs/*/d.md",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    for rel in TREE:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    return root


def server_takes(root: Path, include: list[str], exclude: list[str], recursive: bool) -> set[str]:
    entries = iter_directory(
        root, recursive=recursive, include=include, exclude=exclude, roots=[root]
    )
    return {e.path for e in entries if e.error is None}


def sdk_takes(root: Path, include: list[str], exclude: list[str], recursive: bool) -> set[str]:
    return {
        f.rel for f in select(root, include=include, exclude=exclude, recursive=recursive).files
    }


@pytest.mark.parametrize(
    ("include", "exclude"),
    [
        ([], []),
        (["*.md"], []),
        (["*.md"], ["drafts/*"]),
        (["docs/**"], []),
        ([], ["drafts"]),
        ([".hidden/*"], []),
        (["**/.secret/*"], []),
        (["*.[tc]*"], ["x [1].txt"]),
    ],
)
@pytest.mark.parametrize("recursive", [True, False])
def test_the_same_files_as_the_server(
    folder: Path, include: list[str], exclude: list[str], recursive: bool
) -> None:
    expected = server_takes(folder, include, exclude, recursive)
    assert sdk_takes(folder, include, exclude, recursive) == expected


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    include=st.lists(st.sampled_from(PATTERNS), max_size=2),
    exclude=st.lists(st.sampled_from(PATTERNS), max_size=2),
)
def test_any_patterns_select_the_same_files(
    folder: Path, include: list[str], exclude: list[str]
) -> None:
    expected = server_takes(folder, include, exclude, True)
    assert sdk_takes(folder, include, exclude, True) == expected


def test_named_files_are_taken_and_several_folders_keep_their_names(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "same.txt").write_text(name)
    (tmp_path / "lone.md").write_text("x")
    picked = select([tmp_path / "one", tmp_path / "two", tmp_path / "lone.md"], include=["*.txt"])
    assert [f.rel for f in picked.files] == ["one/same.txt", "two/same.txt", "lone.md"]


def test_bad_input_is_said_before_anything_is_sent(tmp_path: Path) -> None:
    with pytest.raises(UploadError, match="missing"):
        select(tmp_path / "missing")
    with pytest.raises(ValueError, match="pattern"):
        select(tmp_path, include=["bad\x00pattern"])
