"""PDF via pypdfium2 and our layout analysis (``ingestd.pipeline.layout``).

Per page: pdfium's text as line segments with boxes and fonts, running headers and footers
found by repetition across pages (``metadata.furniture``, out of the body), tables from ruling
lines or aligned columns, reading order across columns, then paragraphs (hard-wrapped lines
joined, hyphenation undone), headings (levels from font size and weight), list items, captions
and footnotes (at the end of their page). Every element has its page and box (points, y down,
as the page is displayed, /Rotate applied).

A page without a usable text layer (none, too thin for its ink, or garbled) is read by OCR when
the ``ocr`` extra is installed (``ingestd.pipeline.ocr``); its ``PageInfo`` says
``text_source="ocr"`` with the mean word confidence. pdfium is not thread-safe; extraction runs
in worker processes, one document at a time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ingestd.domain.documents import Document, Element, ElementKind, PageInfo, TextSource
from ingestd.domain.errors import FileError
from ingestd.domain.options import OcrMode
from ingestd.pipeline.extractors._common import clean, collapse_ws, table_element, translate_errors
from ingestd.pipeline.layout.blocks import Block, blocks_of, body_size
from ingestd.pipeline.layout.furniture import mark_furniture
from ingestd.pipeline.layout.order import reading_order, rows_of, split_row
from ingestd.pipeline.layout.segments import Line, PageText, Segment, read_page
from ingestd.pipeline.layout.tables import FoundTable, aligned_tables, ruled_tables

# A page with at least this many characters has a text layer; the (render-based) ink check
# of the OCR decision is only made below it.
_DENSE_PAGE_CHARS = 400


@dataclass(slots=True)
class _Page:
    number: int
    text: PageText
    rows: list[Line]
    source: TextSource = "text_layer"
    confidence: float | None = None
    needs_ocr: str | None = None  # why its text layer was judged unusable
    ocr_note: str | None = None  # why it was not read by OCR after all


def extract(path: Path, *, ocr: OcrMode = "auto") -> Document:
    reader = _Ocr(ocr)
    with translate_errors("the PDF"):
        pdf = _open(path)
        try:
            pages = [_read(pdf, index, reader) for index in range(len(pdf))]
            bookmarks = _sections_by_page(pdf)
        finally:
            pdf.close()
    metadata: dict[str, Any] = {"title": None, "furniture": []}
    unavailable = [p.number for p in pages if p.ocr_note == "ocr_unavailable"]
    if unavailable:
        if not any(p.text.segments for p in pages):
            _require_ocr()  # nothing to keep: the file fails, to be retried once OCR is installed
        metadata["warnings"] = [_ocr_unavailable_warning(unavailable)]
    furniture = mark_furniture([(p.rows, p.text.height) for p in pages])
    body = body_size([row for p in pages for row in p.rows if row.kind != "furniture"])
    elements: list[Element] = []
    for page in pages:
        elements += _page_elements(page, body)
    _set_heading_levels(elements)
    if bookmarks and not any(e.kind in ("heading", "title") for e in elements):
        elements = _bookmark_sections(elements, bookmarks)
    metadata["title"] = next((e.text for e in elements if e.kind == "title"), None)
    metadata["furniture"] = furniture
    infos = [
        PageInfo(
            p.number,
            p.text.width,
            p.text.height,
            p.source,
            p.confidence,
            needs_ocr=p.needs_ocr,
            ocr_note=p.ocr_note,
        )
        for p in pages
    ]
    return Document(elements=elements, pages=infos, metadata=metadata)


def _open(path: Path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise FileError("parse_error", "the PDF is encrypted and needs a password") from None
        if exc.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise FileError("parse_error", "the PDF uses an unsupported encryption") from None
        raise FileError("parse_error", f"the PDF could not be opened: {exc}") from None


def _read(pdf: pdfium.PdfDocument, index: int, reader: _Ocr) -> _Page:
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            text = read_page(page, textpage)
        finally:
            textpage.close()
        result = _Page(index + 1, text, [])
        _maybe_ocr(page, result, reader)
    finally:
        page.close()
    result.rows = rows_of(result.text.segments)
    return result


# -- OCR hook -----------------------------------------------------------------------------------


class _Ocr:
    """The OCR side of one document: the job's ``options.ocr``, and ``ingestd.pipeline.ocr`` and
    its engine looked up once (not once per page)."""

    def __init__(self, mode: OcrMode) -> None:
        self.mode = mode
        self._module: Any | None = None
        self._ready: bool | None = None

    def module(self) -> Any:
        """``ingestd.pipeline.ocr``: its page decision needs no engine."""
        if self._module is None:
            self._module = importlib.import_module("ingestd.pipeline.ocr")
        return self._module

    def ready(self) -> bool:
        """The engine and its language data are installed on this worker."""
        if self._ready is None:
            self._ready = bool(self.module().ocr_available())
        return self._ready


def _needs_ocr(page: Any, text: PageText, reader: _Ocr) -> str | None:
    """Why the page's text layer cannot be used as it is (or ``None``)."""
    if reader.mode == "force":
        return "forced"
    if text.chars >= _DENSE_PAGE_CHARS and text.text.isascii():
        return None  # plenty of plain text: a usable layer (and no render needed to know it)
    ocr = reader.module()
    ink = ocr.ink_ratio(page) if text.chars < _DENSE_PAGE_CHARS else 0.0
    reason: str | None = ocr.page_needs_ocr(text.text, char_boxes=text.chars, ink_ratio=ink)
    return reason


def _maybe_ocr(page: Any, result: _Page, reader: _Ocr) -> None:
    """Replace the page's text layer by OCR when the layer is missing, thin or garbled (or the
    job forces OCR). The text layer stays when OCR cannot run here (``ocr_unavailable``), when
    the job turned OCR off, and when OCR of a thin layer reads fewer words than it had."""
    reason = _needs_ocr(page, result.text, reader)
    if reason is None:
        return
    result.needs_ocr = reason
    if reader.mode == "off":
        result.ocr_note = "ocr_off"
        return
    if not reader.ready():
        if reader.mode == "force":
            _require_ocr()
        result.ocr_note = "ocr_unavailable"
        return
    scanned = reader.module().ocr_pdf_page(page)
    if reason == "thin_text_layer" and _word_count(scanned.words) < len(result.text.text.split()):
        result.ocr_note = "text_layer_kept"  # a thin but real layer beats a poorer reading
        return
    result.text.segments = segments_from_ocr(scanned.words)
    result.text.rules = []
    result.source = "ocr"
    result.confidence = round(float(scanned.confidence), 3)


def _word_count(words: Any) -> int:
    return sum(len(word.text.split()) for word in words)


def _require_ocr() -> None:
    """Raise ``FileError("ocr_unavailable")`` naming what to install."""
    from ingestd.pipeline.ocr import require_ocr

    require_ocr()


def _ocr_unavailable_warning(pages: list[int]) -> dict[str, Any]:
    from ingestd.pipeline.ocr import INSTALL_HINT

    shown = ", ".join(map(str, pages[:20])) + (" …" if len(pages) > 20 else "")
    return {
        "code": "ocr_unavailable",
        "pages": pages,
        "detail": f"page(s) {shown} need OCR but it is not installed on this worker: their "
        f"text layer was kept as it is; install it with {INSTALL_HINT} and tesseract's "
        "language data, then retry the file",
    }


def segments_from_ocr(words: Any) -> list[Segment]:
    """OCR words grouped by the engine's (block, paragraph, line) into line segments."""
    lines: dict[tuple[int, int, int], list[Any]] = {}
    for word in words:
        if word.text.strip():
            lines.setdefault((word.block, word.paragraph, word.line), []).append(word)
    segments: list[Segment] = []
    for group in lines.values():
        group.sort(key=lambda w: w.bbox[0])
        x0 = min(w.bbox[0] for w in group)
        y0 = min(w.bbox[1] for w in group)
        x1 = max(w.bbox[2] for w in group)
        y1 = max(w.bbox[3] for w in group)
        text = " ".join(w.text.strip() for w in group)
        # A word box is about the font's cap height to descender: ~0.9 of its size.
        segments.append(Segment(text, x0, y0, x1, y1, size=round((y1 - y0) / 0.9 * 2) / 2))
    return segments


# -- one page -----------------------------------------------------------------------------------


def _page_elements(page: _Page, body: float) -> list[Element]:
    rows = [row for row in page.rows if row.kind != "furniture"]
    tables = ruled_tables(rows, page.text.rules)
    taken = {id(line) for table in tables for line in table.lines}
    rest = [row for row in rows if id(row) not in taken]
    tables += aligned_tables(rest)
    taken = {id(line) for table in tables for line in table.lines}
    lines = [line for row in rows if id(row) not in taken for line in split_row(row)]
    items: list[Line | FoundTable] = [*lines, *tables]
    ordered = reading_order(items, _box)
    text_lines = [item for item in ordered if isinstance(item, Line)]
    blocks = blocks_of(text_lines, body, page.text.height)
    # Put tables back among the blocks where reading order placed them.
    position = {id(item): index for index, item in enumerate(ordered)}
    sequence: list[tuple[float, Block | FoundTable]] = []
    last = 0.0
    for block in blocks:
        if block.kind == "footnote":
            sequence.append((len(ordered) + 1.0, block))
            continue
        last = float(position.get(id(block.lines[0]), last))
        sequence.append((last, block))
    for table in tables:
        sequence.append((position[id(table)] - 0.5, table))
    sequence.sort(key=lambda pair: pair[0])
    elements = _elements([item for _pos, item in sequence], page.number)
    if page.source == "ocr":  # the chunks say where their text came from
        source = {"text_source": "ocr", "ocr_confidence": page.confidence}
        elements = [replace(e, meta={**e.meta, **source}) for e in elements]
    return elements


def _box(item: Line | FoundTable) -> tuple[float, float, float, float]:
    return item.x0, item.y0, item.x1, item.y1


def _elements(items: list[Block | FoundTable], number: int) -> list[Element]:
    out: list[Element] = []
    pending_caption: Element | None = None
    for item in items:
        if isinstance(item, FoundTable):
            caption = pending_caption.text if pending_caption is not None else None
            if pending_caption is not None:
                out.remove(pending_caption)
            table = item.table
            if caption:
                table = replace(table, caption=caption)
            element = table_element(table, page=number, bbox=(item.x0, item.y0, item.x1, item.y1))
            if element is not None:
                out.append(element)
            pending_caption = None
            continue
        text = clean(item.text())
        if not text:
            continue
        kind: ElementKind = item.kind  # type: ignore[assignment]
        if kind in ("heading", "title"):
            text = collapse_ws(text)
        element = Element(
            kind=kind,
            text=text,
            page=number,
            bbox=tuple(round(v, 2) for v in item.box),  # type: ignore[arg-type]
            meta={"size": round(item.size, 1)} if kind == "heading" else {},
        )
        out.append(element)
        pending_caption = element if kind == "caption" else None
    return out


def _set_heading_levels(elements: list[Element]) -> None:
    """Heading levels by font size across the document (largest = 1; bold body-size headings
    come last); the largest heading at the very start of page 1 becomes the title."""
    headings = [i for i, e in enumerate(elements) if e.kind == "heading"]
    if not headings:
        return
    sizes = sorted({elements[i].meta.get("size", 0.0) for i in headings}, reverse=True)
    first = headings[0]
    if (
        first == 0
        and elements[first].page == 1
        and len(sizes) > 1
        and elements[first].meta.get("size") == sizes[0]
        and sum(1 for i in headings if elements[i].meta.get("size") == sizes[0]) == 1
    ):
        elements[first] = Element(
            kind="title",
            text=elements[first].text,
            page=1,
            bbox=elements[first].bbox,
            meta=elements[first].meta,
        )
        sizes = sizes[1:]
        headings = headings[1:]
    levels = {size: index + 1 for index, size in enumerate(sizes[:6])}
    for i in headings:
        e = elements[i]
        level = levels.get(e.meta.get("size", 0.0), 6)
        elements[i] = Element(
            kind="heading", text=e.text, page=e.page, bbox=e.bbox, meta=e.meta, level=level
        )


_MAX_BOOKMARKS = 5000


def _sections_by_page(pdf: pdfium.PdfDocument) -> dict[int, str]:
    """Page number → title of the first bookmark that starts on it.

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
            if title and index is not None and index + 1 not in sections:
                sections[index + 1] = title
    except Exception:  # a malformed outline must not cost us the text
        return {}
    return sections


def _bookmark_sections(elements: list[Element], bookmarks: dict[int, str]) -> list[Element]:
    """Sections from the outline, for a document whose text shows no headings."""
    out: list[Element] = []
    section: str | None = None
    for element in elements:
        section = bookmarks.get(element.page or 0, section)
        out.append(replace(element, section=(section,)) if section else element)
    return out
