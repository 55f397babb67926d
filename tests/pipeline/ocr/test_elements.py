"""OCR words → paragraph elements, and the fake page the extraction tests use. No engine needed."""

from __future__ import annotations

import pytest

from ingestd.pipeline.chunk import chunk_elements
from ingestd.pipeline.ocr import OcrPage, OcrWord, ocr_elements
from ingestd.pipeline.ocr.testing import fake_ocr_page


def test_fake_page_groups_lines_into_paragraphs() -> None:
    page = fake_ocr_page(["Quarterly report", "", "Revenue grew", "in every region."])
    assert page.text == "Quarterly report\n\nRevenue grew\nin every region."
    assert page.confidence == pytest.approx(0.95)
    assert [(w.paragraph, w.line) for w in page.words] == [(0, 0), (0, 0), (1, 1), (1, 1)] + [
        (1, 2)
    ] * 3
    x0, y0, x1, y1 = page.words[0].bbox
    assert 0 <= x0 < x1 <= page.width and 0 <= y0 < y1 <= page.height


def test_paragraph_lines_are_joined_and_hyphenation_undone() -> None:
    page = fake_ocr_page(["The infor-", "mation was", "re-", "Checked twice."])
    [element] = ocr_elements(page, 1)
    assert element.text == "The information was re- Checked twice."
    assert element.kind == "paragraph" and element.page == 1


def test_columns_keep_their_order() -> None:
    page = fake_ocr_page(["Left one.", "", "Left two."], columns=[["Right one.", "", "Right two."]])
    texts = [element.text for element in ocr_elements(page, 3)]
    assert texts == ["Left one.", "Left two.", "Right one.", "Right two."]
    assert {element.page for element in ocr_elements(page, 3)} == {3}


def test_elements_carry_the_text_source_and_confidence_into_chunk_metadata() -> None:
    page = fake_ocr_page(["A scanned paragraph of text.", "", "Another one."], confidence=0.875)
    elements = ocr_elements(page, 2)
    assert elements[0].meta["text_source"] == "ocr"
    assert elements[0].meta["ocr_confidence"] == 0.875
    assert elements[0].meta["bbox"][0] < elements[0].meta["bbox"][2]
    [chunk] = chunk_elements(elements, size=1000, overlap=0)
    assert chunk.metadata["text_source"] == "ocr"
    assert chunk.metadata["ocr_confidence"] == 0.875
    assert chunk.metadata["page"] == 2
    assert "bbox" not in chunk.metadata  # element geometry stays on the element


def test_an_empty_page_has_no_elements() -> None:
    assert ocr_elements(OcrPage(words=[], confidence=0.0, width=10, height=10), 1) == []


def test_words_keep_engine_order_within_a_line() -> None:
    words = [
        OcrWord("beta", (50, 0, 70, 10), 0.9, 0, 0, 0),
        OcrWord("alpha", (0, 0, 40, 10), 0.7, 0, 0, 0),
    ]
    page = OcrPage(words=words, confidence=0.8, width=100, height=20)
    assert [e.text for e in ocr_elements(page, 1)] == ["beta alpha"]
