"""Confinement of user paths to the source roots: dot-dot, absolute paths, mappings, symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingestd.domain.errors import BadRequest
from ingestd.sources.roots import parse_path_mapping, resolve_source_path


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """Two roots with some content, and a secret directory outside both."""
    root_a = tmp_path / "root_a"
    root_b = tmp_path / "root_b"
    secret = tmp_path / "secret"
    for directory in (root_a / "papers" / "2024", root_b / "only_b", secret):
        directory.mkdir(parents=True)
    (root_a / "papers" / "2024" / "a.pdf").write_bytes(b"%PDF")
    (root_b / "only_b" / "b.txt").write_text("b")
    (root_b / "papers").mkdir()
    (secret / "passwords.txt").write_text("hunter2")
    return {"a": root_a, "b": root_b, "secret": secret, "tmp": tmp_path}


def test_relative_path_first_existing_root_wins(layout: dict[str, Path]) -> None:
    roots = [layout["a"], layout["b"]]
    assert resolve_source_path("papers", roots, []) == layout["a"] / "papers"
    assert resolve_source_path("only_b/b.txt", roots, []) == layout["b"] / "only_b" / "b.txt"
    assert resolve_source_path(".", roots, []) == layout["a"]


def test_relative_path_missing_everywhere(layout: dict[str, Path]) -> None:
    with pytest.raises(BadRequest, match="not found under the source roots"):
        resolve_source_path("nope", [layout["a"], layout["b"]], [])


@pytest.mark.parametrize("raw", ["..", "../secret", "../../etc/passwd", "papers/../../secret"])
def test_dotdot_cannot_escape(layout: dict[str, Path], raw: str) -> None:
    with pytest.raises(BadRequest):
        resolve_source_path(raw, [layout["a"]], [])


def test_absolute_path_inside_a_root(layout: dict[str, Path]) -> None:
    target = layout["a"] / "papers" / "2024"
    assert resolve_source_path(str(target), [layout["a"]], []) == target


@pytest.mark.parametrize("which", ["secret", "tmp"])
def test_absolute_path_outside_the_roots(layout: dict[str, Path], which: str) -> None:
    with pytest.raises(BadRequest, match="outside the configured source roots"):
        resolve_source_path(str(layout[which]), [layout["a"], layout["b"]], [])
    with pytest.raises(BadRequest, match="outside the configured source roots"):
        resolve_source_path("/etc/passwd", [layout["a"]], [])


def test_sibling_with_common_prefix_is_outside(layout: dict[str, Path]) -> None:
    sibling = layout["tmp"] / "root_a_evil"
    sibling.mkdir()
    with pytest.raises(BadRequest, match="outside"):
        resolve_source_path(str(sibling), [layout["a"]], [])


def test_windows_path_unmapped_is_refused(layout: dict[str, Path]) -> None:
    with pytest.raises(BadRequest, match="outside the configured source roots"):
        resolve_source_path(r"C:\Shares\Docs\papers", [layout["a"]], [])


def test_windows_path_mapped_into_a_root(layout: dict[str, Path]) -> None:
    mapping = parse_path_mapping(rf"C:\Shares\Docs={layout['a']}")
    got = resolve_source_path(r"c:\shares\docs\papers\2024\a.pdf", [layout["a"]], [mapping])
    assert got == layout["a"] / "papers" / "2024" / "a.pdf"


def test_windows_path_mapped_outside_the_roots(layout: dict[str, Path]) -> None:
    mapping = parse_path_mapping(rf"C:\Shares\Secret={layout['secret']}")
    with pytest.raises(BadRequest, match="outside"):
        resolve_source_path(r"C:\Shares\Secret\passwords.txt", [layout["a"]], [mapping])


def test_volumes_path_mapped_inside_and_outside(layout: dict[str, Path]) -> None:
    inside = parse_path_mapping(f"/Volumes/Docs={layout['a']}")
    outside = parse_path_mapping(f"/Volumes/Secret={layout['secret']}")
    roots = [layout["a"]]
    got = resolve_source_path("/Volumes/Docs/papers", roots, [inside, outside])
    assert got == layout["a"] / "papers"
    with pytest.raises(BadRequest, match="outside"):
        resolve_source_path("/Volumes/Secret/passwords.txt", roots, [inside, outside])
    with pytest.raises(BadRequest, match="outside"):
        resolve_source_path("/Volumes/Docs/../Secret/passwords.txt", roots, [inside, outside])


def test_symlink_escaping_the_roots_is_refused(layout: dict[str, Path]) -> None:
    (layout["a"] / "sneaky").symlink_to(layout["secret"])
    (layout["a"] / "sneaky_file").symlink_to(layout["secret"] / "passwords.txt")
    for raw in ("sneaky", "sneaky/passwords.txt", "sneaky_file", str(layout["a"] / "sneaky")):
        with pytest.raises(BadRequest, match="outside the configured source roots"):
            resolve_source_path(raw, [layout["a"]], [])


def test_symlink_within_the_roots_is_resolved(layout: dict[str, Path]) -> None:
    (layout["a"] / "to_b").symlink_to(layout["b"] / "only_b")
    got = resolve_source_path("to_b/b.txt", [layout["a"], layout["b"]], [])
    assert got == layout["b"] / "only_b" / "b.txt"


def test_root_given_through_a_symlink(layout: dict[str, Path]) -> None:
    link = layout["tmp"] / "root_link"
    link.symlink_to(layout["a"])
    target = link / "papers"
    assert resolve_source_path(str(target), [link], []) == layout["a"] / "papers"
    assert resolve_source_path("papers", [link], []) == layout["a"] / "papers"


def test_symlink_loop_is_a_bad_request(layout: dict[str, Path]) -> None:
    (layout["a"] / "loop1").symlink_to(layout["a"] / "loop2")
    (layout["a"] / "loop2").symlink_to(layout["a"] / "loop1")
    with pytest.raises(BadRequest):
        resolve_source_path(str(layout["a"] / "loop1"), [layout["a"]], [])


@pytest.mark.parametrize("raw", ["papers\x00/../../secret", "papers\n", "", "C:foo"])
def test_malformed_input(layout: dict[str, Path], raw: str) -> None:
    with pytest.raises(BadRequest):
        resolve_source_path(raw, [layout["a"]], [])


def test_no_roots_configured() -> None:
    with pytest.raises(BadRequest, match="no source roots"):
        resolve_source_path("x", [], [])


def test_relative_root_is_made_absolute(
    layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(layout["tmp"])
    got = resolve_source_path("papers/2024", [Path("root_a")], [])
    assert got == layout["a"] / "papers" / "2024"
    assert os.path.isabs(got)
