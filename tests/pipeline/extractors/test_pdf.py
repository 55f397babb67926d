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


def test_layout_on_a_generated_report(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
    from fidelity.corpus import make_pdf

    from ingestd.pipeline.extractors import extract_document

    path = tmp_path / "report.pdf"
    make_pdf(path, 1)
    document = extract_document(path, PDF)
    kinds = [e.kind for e in document.elements]
    assert kinds[0] == "title"
    assert document.metadata["title"] == "Quarterly review of the Northwind group 1"
    assert "Northwind Quarterly Review — Internal Use Only" in document.metadata["furniture"]
    assert {"heading", "paragraph", "list_item", "footnote", "table"} <= set(kinds)
    footnote = next(e for e in document.elements if e.kind == "footnote")
    page_one = [e for e in document.elements if e.page == 1]
    assert page_one[-1] is footnote, "a footnote ends its page"
    tables = [e for e in document.elements if e.kind == "table"]
    assert tables[0].table is not None and tables[0].table.caption == "Table 1. Sales by region"
    assert all(e.bbox is not None and e.page is not None for e in document.elements)
    assert [p.width for p in document.pages] == [595, 595, 595, 842]  # the last one turned
    assert all(p.text_source == "text_layer" for p in document.pages)
    assert "inves tment" not in document.text() and "￾" not in document.text()


def test_scanned_page_goes_to_ocr_when_the_extra_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys
    import types
    from dataclasses import dataclass

    from ingestd.pipeline.extractors import extract_document

    @dataclass
    class Word:
        text: str
        bbox: tuple[float, float, float, float]
        confidence: float
        block: int
        paragraph: int
        line: int

    @dataclass
    class Page:
        words: list[Word]
        confidence: float
        width: float
        height: float

    words = [
        Word("Scanned", (72, 100, 130, 112), 0.9, 1, 1, 1),
        Word("heading", (134, 100, 190, 112), 0.9, 1, 1, 1),
    ]
    calls: list[str] = []
    fake = types.ModuleType("ingestd.pipeline.ocr")
    fake.ocr_available = lambda: True  # type: ignore[attr-defined]
    fake.ink_ratio = lambda page: 0.2  # type: ignore[attr-defined]

    def needs(text: str, *, char_boxes: int, ink_ratio: float) -> str | None:
        calls.append(text)
        return "no_text_layer" if char_boxes == 0 else None

    fake.page_needs_ocr = needs  # type: ignore[attr-defined]
    fake.ocr_pdf_page = lambda page, dpi=300: Page(words, 0.9, 595, 842)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ingestd.pipeline.ocr", fake)
    path = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(100, 100, 200, 200, fill=1)  # ink, no text
    pdf.showPage()
    pdf.drawString(72, 750, "A real text layer.")
    pdf.showPage()
    pdf.save()

    document = extract_document(path, PDF)

    assert [(p.text_source, p.ocr_confidence) for p in document.pages] == [
        ("ocr", 0.9),
        ("text_layer", None),
    ]
    assert [(e.page, e.text) for e in document.elements] == [
        (1, "Scanned heading"),
        (2, "A real text layer."),
    ]
    assert document.pages_by_source() == {"total": 2, "text_layer": 1, "ocr": 1}
