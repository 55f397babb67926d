"""Lexical path normalisation: forms, mappings, hostile input, and properties that must hold."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestd.domain.errors import BadRequest
from ingestd.domain.paths import (
    ECHO_CHARS,
    PathMapping,
    apply_mappings,
    normalise_path,
    parse_path,
    parse_path_mapping,
)

WIN = parse_path_mapping(r"C:\Shares\Docs=/srv/docs")
MAC = parse_path_mapping("/Volumes/Docs=/srv/docs")
UNC = parse_path_mapping(r"\\fileserver\public=/srv/public")
MAPPINGS = (WIN, MAC, UNC)

# -- forms ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/a/b", "/a/b"),
        ("a/b", "a/b"),
        ("./a", "a"),
        (".", "."),
        ("a/./b//c/", "a/b/c"),
        ("a/b/../c", "a/c"),
        ("a/..", "."),
        ("/srv/docs/x/../y", "/srv/docs/y"),
        ("~/x", "~/x"),  # no home expansion: "~" is just a name
        (r"a\b\c.pdf", "a/b/c.pdf"),
        (r"\srv\docs", "/srv/docs"),
        ("///srv//docs", "/srv/docs"),
    ],
)
def test_posix_and_relative_forms(raw: str, expected: str) -> None:
    assert normalise_path(raw) == PurePosixPath(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (r"C:\Shares\Docs\papers\a.pdf", "/srv/docs/papers/a.pdf"),
        ("C:/Shares/Docs/papers/a.pdf", "/srv/docs/papers/a.pdf"),
        (r"c:\shares\DOCS\Papers\A.pdf", "/srv/docs/Papers/A.pdf"),  # prefix case-insensitive
        (r"C:\Shares\Docs", "/srv/docs"),
        (r"C:\Shares\Docs\x\..\y", "/srv/docs/y"),
        (r"\\fileserver\public\a\b.txt", "/srv/public/a/b.txt"),
        (r"\\FILESERVER\Public\a", "/srv/public/a"),
        ("//fileserver/public/a", "/srv/public/a"),
        ("/Volumes/Docs/2024/x.pdf", "/srv/docs/2024/x.pdf"),
    ],
)
def test_mapped_forms(raw: str, expected: str) -> None:
    assert normalise_path(raw, MAPPINGS) == PurePosixPath(expected)


def test_macos_mapping_is_case_sensitive() -> None:
    assert normalise_path("/volumes/docs/a", MAPPINGS) == PurePosixPath("/volumes/docs/a")


def test_mapping_does_not_match_partial_component() -> None:
    # C:\Shares\DocsExtra is not under C:\Shares\Docs
    with pytest.raises(BadRequest, match="no path mapping"):
        normalise_path(r"C:\Shares\DocsExtra\a", MAPPINGS)


def test_longest_prefix_wins() -> None:
    mappings = (
        parse_path_mapping(r"C:\Shares=/srv/shares"),
        parse_path_mapping(r"C:\Shares\Docs\Special=/srv/special"),
        parse_path_mapping(r"C:\Shares\Docs=/srv/docs"),
    )
    assert normalise_path(r"C:\Shares\Docs\Special\x", mappings) == PurePosixPath("/srv/special/x")
    assert normalise_path(r"C:\Shares\Docs\x", mappings) == PurePosixPath("/srv/docs/x")
    assert normalise_path(r"C:\Shares\Other\x", mappings) == PurePosixPath("/srv/shares/Other/x")


def test_escaping_a_mapping_with_dotdot_is_resolved_before_mapping() -> None:
    with pytest.raises(BadRequest, match="no path mapping"):
        normalise_path(r"C:\Shares\Docs\..\..\Windows\system32", MAPPINGS)
    # /Volumes/Docs/../Other is not under the mapping any more: it stays a plain POSIX path
    assert normalise_path("/Volumes/Docs/../Other", MAPPINGS) == PurePosixPath("/Volumes/Other")


@pytest.mark.parametrize("raw", [r"C:\Windows\system32", "D:/data", r"\\other\share\x"])
def test_unmapped_windows_paths_are_refused(raw: str) -> None:
    with pytest.raises(BadRequest, match="outside the configured source roots"):
        normalise_path(raw, MAPPINGS)


# -- hostile input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("   ", "blank"),
        ("a\x00b", "NUL"),
        ("a\nb", "control character"),
        ("a\x1bb", "control character"),
        ("a\x7f", "control character"),
        ("a\ud800b", "surrogate"),
        ("../x", "climbs above"),
        ("a/../../x", "climbs above"),
        ("/../etc/passwd", "climbs above"),
        (r"C:\..\x", "climbs above"),
        ("C:foo", "drive-relative"),
        (r"\\?\C:\x", "device or extended-length"),
        (r"\\.\PhysicalDrive0", "device or extended-length"),
        (r"\\server", "server and a share"),
        ("a" * 5000, "longer than"),
    ],
)
def test_hostile_input_is_refused(raw: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        normalise_path(raw, MAPPINGS)


def test_error_messages_do_not_echo_long_input() -> None:
    raw = "x/" * 1000 + "\x00"
    with pytest.raises(BadRequest) as caught:
        normalise_path(raw)
    assert len(caught.value.detail) < ECHO_CHARS + 100


@pytest.mark.parametrize(
    "spec",
    ["nonsense", "=/srv", r"C:\x=", r"relative\x=/srv", r"C:\x=relative", r"C:\x=D:\y"],
)
def test_bad_mappings_are_refused(spec: str) -> None:
    with pytest.raises(BadRequest):
        parse_path_mapping(spec)


def test_mapping_target_is_normalised() -> None:
    mapping = parse_path_mapping("/Volumes/X=/srv//x/./y")
    assert mapping.target == PurePosixPath("/srv/x/y")


# -- properties ----------------------------------------------------------------------------------

SEGMENTS = st.sampled_from(["a", "B", "..", ".", "", "c d", "é", "~", "x.pdf", "C:", "..."])
SEPARATORS = st.sampled_from(["/", "\\"])


@st.composite
def raw_paths(draw: st.DrawFn) -> str:
    """Paths in any of the supported forms, with dots and mixed separators."""
    segments = draw(st.lists(SEGMENTS, max_size=8))
    seps = draw(st.lists(SEPARATORS, min_size=len(segments), max_size=len(segments)))
    body = "".join(sep + seg for sep, seg in zip(seps, segments, strict=True))
    anchor = draw(
        st.sampled_from(["", "", "/", "./", "C:", "c:", "//srv/share", "/Volumes/Docs", r"\\h\s"])
    )
    raw = anchor + body if anchor else body.lstrip("/\\")
    return raw or "."


def _render(path: PurePosixPath) -> str:
    """A normalised path as a client would resend it (relative paths made explicit)."""
    return str(path) if path.is_absolute() else "./" + str(path)


@given(raw_paths())
def test_normalisation_never_escapes(raw: str) -> None:
    try:
        result = normalise_path(raw, MAPPINGS)
    except BadRequest:
        return
    assert ".." not in result.parts
    assert "." not in result.parts[1:]
    if result.is_absolute():
        assert result.parts[0] == "/"
    if not parse_path(raw).is_absolute:
        assert not result.is_absolute()


@given(raw_paths())
def test_normalisation_is_idempotent(raw: str) -> None:
    try:
        once = normalise_path(raw, MAPPINGS)
    except BadRequest:
        return
    assert normalise_path(_render(once), MAPPINGS) == once


@given(raw_paths())
def test_parse_display_round_trip(raw: str) -> None:
    try:
        parsed = parse_path(raw)
    except BadRequest:
        return
    assert ".." not in parsed.parts and "." not in parsed.parts and "" not in parsed.parts
    if not (parsed.anchor == "" and parsed.parts and parsed.parts[0].endswith(":")):
        assert parse_path(parsed.display()) == parsed


@given(st.lists(st.sampled_from(["a", "b", "Docs", "x y"]), max_size=5))
def test_mapped_paths_land_under_the_target(rest: list[str]) -> None:
    raw = "C:\\SHARES\\docs" + "".join("\\" + part for part in rest)
    assert normalise_path(raw, MAPPINGS) == PurePosixPath("/srv/docs", *rest)


@given(st.text(max_size=60))
def test_arbitrary_text_never_crashes(raw: str) -> None:
    try:
        result = normalise_path(raw, MAPPINGS)
    except BadRequest as exc:
        assert len(exc.detail) < ECHO_CHARS + 150
        return
    assert ".." not in result.parts
    assert all("\x00" not in part for part in result.parts)


def test_apply_mappings_returns_none_for_relative() -> None:
    mapping: PathMapping = WIN
    assert apply_mappings(parse_path("a/b"), [mapping]) is None
