"""``ink_ratio`` and ``ocr_pdf_page`` on pages rendered from known text."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from ingestd.pipeline.ocr import ink_ratio, ocr_pdf_page, page_needs_ocr
from tests.pipeline.ocr import corpus

pytestmark = pytest.mark.usefixtures("ocr")


def _first_page(data: bytes) -> pdfium.PdfPage:
    return pdfium.PdfDocument(data)[0]


def _decide(data: bytes) -> str | None:
    page = _first_page(data)
    textpage = page.get_textpage()
    return page_needs_ocr(
        textpage.get_text_range(), char_boxes=textpage.count_chars(), ink_ratio=ink_ratio(page)
    )


def test_one_column_page_reads_back_its_text() -> None:
    paragraphs = corpus.paragraphs(1, 6)
    page = ocr_pdf_page(_first_page(corpus.text_pdf([paragraphs])), dpi=300)
    assert corpus.similarity("\n\n".join(paragraphs), page.text) >= 0.95
    assert 0.8 <= page.confidence <= 1.0
    assert all(0.0 <= word.confidence <= 1.0 for word in page.words)


def test_word_boxes_are_in_pdf_points_from_the_top() -> None:
    data = io.BytesIO()
    pdf = canvas.Canvas(data, pagesize=A4)
    pdf.setFont("Helvetica", 24)
    pdf.drawString(72, A4[1] - 100, "Invoice")  # baseline 100 pt below the top edge
    pdf.drawString(300, 80, "Total")  # 80 pt above the bottom edge
    pdf.save()
    page = ocr_pdf_page(_first_page(data.getvalue()), dpi=300)
    assert (page.width, page.height) == pytest.approx(A4, abs=0.5)
    words = {word.text: word.bbox for word in page.words}
    x0, _, _, y1 = words["Invoice"]
    assert x0 == pytest.approx(72, abs=3) and y1 == pytest.approx(100, abs=4)
    x0, _, _, y1 = words["Total"]
    assert x0 == pytest.approx(300, abs=3) and y1 == pytest.approx(A4[1] - 80, abs=4)


def test_two_column_page_keeps_column_order() -> None:
    paragraphs = corpus.paragraphs(2, 8)
    page = ocr_pdf_page(_first_page(corpus.text_pdf([paragraphs], columns=2)), dpi=300)
    assert corpus.similarity("\n\n".join(paragraphs), page.text) >= 0.95
    # every paragraph is found, whole, in the order written: left column, then right
    flat = " ".join(page.text.split())
    found = [flat.find(" ".join(p.split()[:6])) for p in paragraphs]
    assert -1 not in found
    assert found == sorted(found)


def test_a_rotated_page_is_read_upright() -> None:
    paragraphs = corpus.paragraphs(3, 3)
    pdf = pdfium.PdfDocument(corpus.text_pdf([paragraphs]))
    pdf[0].set_rotation(90)
    buffer = io.BytesIO()
    pdf.save(buffer)
    page = ocr_pdf_page(_first_page(buffer.getvalue()), dpi=300)
    assert page.width > page.height  # the page as displayed: landscape
    assert corpus.similarity("\n\n".join(paragraphs), page.text) >= 0.95


def test_ink_ratio_tells_blank_from_text() -> None:
    blank = io.BytesIO()
    empty = canvas.Canvas(blank, pagesize=A4)
    empty.showPage()
    empty.save()
    assert ink_ratio(_first_page(blank.getvalue())) == 0.0
    text = ink_ratio(_first_page(corpus.text_pdf([corpus.paragraphs(1, 6)])))
    assert 0.03 < text < 0.2
    # invisible text draws nothing
    assert ink_ratio(_first_page(corpus.text_pdf([corpus.paragraphs(1, 6)], invisible=True))) == 0


def test_decisions_on_real_pages() -> None:
    text_pdf = corpus.text_pdf([corpus.paragraphs(4, 6)])
    assert _decide(text_pdf) is None
    assert _decide(corpus.text_pdf([corpus.paragraphs(4, 8)], columns=2)) is None
    assert _decide(corpus.scanned_pdf(text_pdf, dpi=150)) == "no_text_layer"
    scan = corpus.scanned_pdf(text_pdf, dpi=150, hidden_text="Scanned by ACME")
    assert _decide(scan) == "thin_text_layer"
    assert _decide(corpus.scanned_pdf(text_pdf, dpi=150, hidden_text="3")) == "thin_text_layer"


def test_a_scanned_page_goes_to_ocr_and_reads_back() -> None:
    paragraphs = corpus.paragraphs(5, 5)
    scan = corpus.scanned_pdf(corpus.text_pdf([paragraphs]), dpi=300, hidden_text="Page 1")
    assert _decide(scan) == "thin_text_layer"
    page = ocr_pdf_page(_first_page(scan), dpi=300)
    assert corpus.similarity("\n\n".join(paragraphs), page.text) >= 0.95


def test_a_garbled_text_layer_goes_to_ocr() -> None:
    # A scan whose hidden text layer was written in UTF-8 and read back as Windows-1252: every
    # accent is two junk characters. The decision sends it to OCR, which reads the page.
    paragraphs = corpus.paragraphs(6, 4)
    broken = "\n".join(
        "Le conseil a approuvé le budget prévu, les dépenses ont été réduites à l'été.".encode().decode(
            "cp1252"
        )
        for _ in range(30)
    )
    scan = corpus.scanned_pdf(corpus.text_pdf([paragraphs]), dpi=300, hidden_text=broken)
    assert _decide(scan) == "garbled"
    page = ocr_pdf_page(_first_page(scan), dpi=300)
    assert corpus.similarity("\n\n".join(paragraphs), page.text) >= 0.95
