"""OCR words → paragraph ``Element``s, in the engine's reading order.

Tesseract's page layout finds columns and text blocks and numbers them in reading order, so a
two-column page comes back left column first. We keep that order, join each paragraph's lines
into one text (a hard-wrapped line end is not a paragraph break), and rejoin words the scan
hyphenated across a line end ("infor-" + "mation" → "information").
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import Any

from ingestd.domain.documents import Element
from ingestd.pipeline.ocr._model import OcrPage, OcrWord

TEXT_SOURCE_OCR = "ocr"
TEXT_SOURCE_TEXT_LAYER = "text_layer"


def ocr_page_meta(page: OcrPage) -> dict[str, Any]:
    """What every element of an OCR'd page carries in ``meta`` (and so its chunks' metadata)."""
    return {"text_source": TEXT_SOURCE_OCR, "ocr_confidence": round(page.confidence, 3)}


def ocr_elements(page: OcrPage, page_number: int, *, section: str | None = None) -> list[Element]:
    """One ``paragraph`` element per OCR paragraph of ``page``, in reading order.

    ``meta`` holds ``text_source: "ocr"``, the page's ``ocr_confidence`` (0..1, the mean word
    confidence) and the paragraph's ``bbox`` (``[x0, y0, x1, y1]`` in the page's unit).
    """
    base = ocr_page_meta(page)
    elements = []
    for words in paragraph_words(page):
        text = paragraph_text(words)
        if not text:
            continue
        x0, y0, x1, y1 = (round(v, 1) for v in _union(words))
        meta = {**base, "bbox": [x0, y0, x1, y1]}
        elements.append(
            Element(
                kind="paragraph",
                text=text,
                page=page_number,
                section=(section,) if section else (),
                bbox=(x0, y0, x1, y1),
                meta=meta,
            )
        )
    return elements


def paragraph_words(page: OcrPage) -> Iterator[list[OcrWord]]:
    """The page's words grouped by paragraph, in the engine's order."""
    for _, words in groupby(page.words, key=lambda word: (word.block, word.paragraph)):
        yield list(words)


def paragraph_text(words: list[OcrWord]) -> str:
    """A paragraph's lines joined by spaces, with line-end hyphenation undone."""
    text = ""
    for _, line_words in groupby(words, key=lambda word: word.line):
        line = " ".join(word.text for word in line_words)
        if not text:
            text = line
        elif _hyphenated(text, line):
            text = text[:-1] + line
        else:
            text = f"{text} {line}"
    return text


def _hyphenated(text: str, next_line: str) -> bool:
    """``infor-`` at a line end followed by ``mation``: one word cut by the typesetter."""
    return (
        len(text) >= 2 and text[-1] in "-\u00ad" and text[-2].isalpha() and next_line[:1].islower()
    )


def _union(words: list[OcrWord]) -> tuple[float, float, float, float]:
    return (
        min(word.bbox[0] for word in words),
        min(word.bbox[1] for word in words),
        max(word.bbox[2] for word in words),
        max(word.bbox[3] for word in words),
    )
