from __future__ import annotations

from pathlib import Path

import pytest

from ingestd.pipeline.extractors import extract
from ingestd.pipeline.extractors.text import MAX_PARAGRAPH_CHARS


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"])
def test_paragraphs_split_on_blank_lines_in_any_encoding(tmp_path: Path, encoding: str) -> None:
    text = (
        "Première ligne, café crème.\nSuite du paragraphe à l'été.\n\n\n"
        "Deuxième paragraphe: où est la gare? Ça va très bien.\n  \nTroisième.\n"
    )
    if encoding == "cp1252":
        text += "\nGuillemets “typographiques” \u2013 tiret.\n"
    path = tmp_path / "notes.txt"
    path.write_bytes(text.encode(encoding))

    elements = extract(path, "text/plain")

    texts = [element.text for element in elements]
    assert texts[:3] == [
        "Première ligne, café crème.\nSuite du paragraphe à l'été.",
        "Deuxième paragraphe: où est la gare? Ça va très bien.",
        "Troisième.",
    ]
    if encoding == "cp1252":
        assert texts[3] == "Guillemets “typographiques” \u2013 tiret."
    assert {element.kind for element in elements} == {"paragraph"}
    assert all(element.page is None for element in elements)


def test_windows_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"one\r\ntwo\r\n\r\nthree\r\n")
    assert [e.text for e in extract(path, "text/plain")] == ["one\ntwo", "three"]


def test_huge_line_is_cut_into_bounded_paragraphs(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("x" * (MAX_PARAGRAPH_CHARS * 3 + 10))
    elements = extract(path, "text/plain")
    assert len(elements) >= 3
    assert all(len(e.text) <= MAX_PARAGRAPH_CHARS for e in elements)
    assert sum(len(e.text) for e in elements) == MAX_PARAGRAPH_CHARS * 3 + 10


@pytest.mark.parametrize("content", [b"", b"   \n\n\t\n"])
def test_empty_text_gives_no_elements(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    assert extract(path, "text/plain") == []
