"""PDF text layer via pypdfium2, page by page; bookmarks (if any) name the sections.

No OCR: a scanned PDF without a text layer yields ``[]`` (the lead decides what to do with it).
pdfium is not thread-safe; extraction runs in worker processes, one document at a time.
"""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ingestd.domain.documents import Element
from ingestd.domain.errors import FileError
from ingestd.pipeline.extractors._common import clean, translate_errors

_BLANK_LINES = re.compile(r"\n\s*\n")
_MAX_BOOKMARKS = 5000


def extract(path: Path) -> list[Element]:
    with translate_errors("the PDF"):
        pdf = _open(path)
        try:
            sections = _sections_by_page(pdf)
            elements: list[Element] = []
            section: str | None = None
            for index in range(len(pdf)):
                section = sections.get(index, section)
                elements.extend(_page_elements(pdf, index, section))
            return elements
        finally:
            pdf.close()


def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise FileError("parse_error", "the PDF is encrypted and needs a password") from None
        if exc.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise FileError("parse_error", "the PDF uses an unsupported encryption") from None
        raise FileError("parse_error", f"the PDF could not be opened: {exc}") from None


def _page_elements(pdf: pdfium.PdfDocument, index: int, section: str | None) -> list[Element]:
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range()
        finally:
            textpage.close()
    finally:
        page.close()
    page_number = index + 1
    return [
        Element(
            kind="paragraph", text=block, page=page_number, section=(section,) if section else ()
        )
        for block in (clean(part) for part in _BLANK_LINES.split(clean(text)))
        if block
    ]


def _sections_by_page(pdf: pdfium.PdfDocument) -> dict[int, str]:
    """Page index → title of the last top-level-or-deeper bookmark that starts on it.

    Bookmarks are optional and often broken; any failure just means no sections.
    """
    sections: dict[int, str] = {}
    try:
        for count, bookmark in enumerate(pdf.get_toc()):
            if count >= _MAX_BOOKMARKS:
                break
            dest = bookmark.get_dest()
            title = clean(bookmark.get_title() or "")
            index = dest.get_index() if dest is not None else None
            if title and index is not None and index not in sections:
                sections[index] = title
    except Exception:  # a malformed outline must not cost us the text
        return {}
    return sections
