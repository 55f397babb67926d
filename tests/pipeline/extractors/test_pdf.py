from __future__ import annotations

from pathlib import Path

import pytest
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.pdfgen import canvas

from ingestd.domain.errors import FileError
from ingestd.pipeline.extractors import extract

PDF = "application/pdf"


def _write_pdf(
    path: Path,
    pages: list[list[str]],
    *,
    bookmarks: dict[int, str] | None = None,
    encrypt: StandardEncryption | None = None,
) -> None:
    pdf = canvas.Canvas(str(path), encrypt=encrypt)
    for index, lines in enumerate(pages):
        if bookmarks and index in bookmarks:
            key = f"page{index}"
            pdf.bookmarkPage(key)
            pdf.addOutlineEntry(bookmarks[index], key, level=0)
        y = 750
        for line in lines:
            if line:
                pdf.drawString(72, y, line)
            y -= 40 if not line else 16  # an empty line leaves a visible gap
        pdf.showPage()
    pdf.save()


def test_pages_and_sections(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    _write_pdf(
        path,
        [["Introduction text on page one.", "Still page one."], [], ["Results on page three."]],
        bookmarks={0: "Introduction", 2: "Results"},
    )

    elements = extract(path, PDF)

    assert [e.page for e in elements] == [1, 3]
    assert "Introduction text on page one." in elements[0].text
    assert "Still page one." in elements[0].text
    assert elements[1].text == "Results on page three."
    assert [e.section for e in elements] == [("Introduction",), ("Results",)]
    assert {e.kind for e in elements} == {"paragraph"}


def test_pages_without_bookmarks_have_no_section(tmp_path: Path) -> None:
    path = tmp_path / "plain.pdf"
    _write_pdf(path, [["Héllo wörld"], ["Second page"]])
    elements = extract(path, PDF)
    assert [(e.text, e.page, e.section) for e in elements] == [
        ("Héllo wörld", 1, ()),
        ("Second page", 2, ()),
    ]


def test_pdf_without_text_layer_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(100, 100, 200, 200, fill=1)  # drawing, no text (like a scan)
    pdf.showPage()
    pdf.save()
    assert extract(path, PDF) == []


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.95])
def test_truncated_pdf_is_a_parse_error(tmp_path: Path, fraction: float) -> None:
    whole = tmp_path / "whole.pdf"
    _write_pdf(whole, [["Some text"] * 20] * 5)
    data = whole.read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(FileError) as info:
        extract(path, PDF)
    assert info.value.code == "parse_error"
    assert "PDF" in info.value.message
    assert "Traceback" not in info.value.message


def test_garbage_with_pdf_header_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    with pytest.raises(FileError) as info:
        extract(path, PDF)
    assert info.value.code == "parse_error"


def test_encrypted_pdf_says_so(tmp_path: Path) -> None:
    path = tmp_path / "secret.pdf"
    _write_pdf(path, [["Top secret"]], encrypt=StandardEncryption("user-pw", "owner-pw"))
    with pytest.raises(FileError) as info:
        extract(path, PDF)
    assert info.value.code == "parse_error"
    assert "encrypted" in info.value.message
