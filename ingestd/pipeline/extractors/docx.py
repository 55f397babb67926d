"""DOCX via python-docx: paragraphs and tables in document order, headings set the section."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
from docx.oxml.ns import nsmap, qn
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph
from lxml import etree

from ingestd.domain.documents import Cell, Element, ElementKind
from ingestd.pipeline.extractors._common import (
    Builder,
    check_ooxml_zip,
    collapse_ws,
    finish_table,
    table_element,
    translate_errors,
)

_P, _TBL, _SDT, _SDT_CONTENT = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent")
# Run text in one compiled XPath: python-docx's Paragraph.text compiles two XPath expressions
# per paragraph and per run, which dominated extraction time (~7x slower). Text boxes
# (w:txbxContent) hold their own paragraphs and are excluded, as python-docx does.
_RUN_TEXT = etree.XPath(
    ".//*[(self::w:t or self::w:tab or self::w:br or self::w:cr) and not(ancestor::w:txbxContent)]",
    namespaces={"w": nsmap["w"]},
)
_T, _TAB = qn("w:t"), qn("w:tab")
_TR, _TC, _TCPR, _TRPR = qn("w:tr"), qn("w:tc"), qn("w:tcPr"), qn("w:trPr")
_GRID_SPAN, _VMERGE, _VAL = qn("w:gridSpan"), qn("w:vMerge"), qn("w:val")
_TBL_HEADER, _GRID_BEFORE = qn("w:tblHeader"), qn("w:gridBefore")
_PPR, _NUMPR, _ILVL = qn("w:pPr"), qn("w:numPr"), qn("w:ilvl")
_HEADING = re.compile(r"^heading\s*(\d)$", re.I)
_CODE_STYLES = ("code", "html preformatted", "source", "macro text")
_QUOTE_STYLES = ("quote", "intense quote")


def extract(path: Path) -> list[Element]:
    with translate_errors("the DOCX document"):
        check_ooxml_zip(path, "DOCX", "word/document.xml")
        document = docx.Document(str(path))
        # paragraph.style resolves the style through the styles part on every call (a linear
        # scan, quadratic over a document); one id → name map makes it a dict lookup.
        styles = {style.style_id: style.name or style.style_id for style in document.styles}
        out = Builder()
        body = document._body
        for block in _blocks(document.element.body, body):
            if isinstance(block, Paragraph):
                _paragraph(out, block, styles)
            else:
                element = _table(block)
                if element is not None:
                    out.elements.append(element)
        return out.elements


def _blocks(element: Any, parent: Any) -> Iterator[Paragraph | DocxTable]:
    """Paragraphs and tables in document order.

    Not ``Document.iter_inner_content()``: its ``./w:p | ./w:tbl`` XPath union is quadratic
    (seconds on a 1 MB document), and it skips content controls (``w:sdt``), whose paragraphs
    are real text (cover pages, forms).
    """
    for child in element.iterchildren():
        if child.tag == _P:
            yield Paragraph(child, parent)
        elif child.tag == _TBL:
            yield DocxTable(child, parent)
        elif child.tag == _SDT:
            content = child.find(_SDT_CONTENT)
            if content is not None:
                yield from _blocks(content, parent)


def _paragraph(out: Builder, paragraph: Paragraph, styles: dict[str, str]) -> None:
    text = _text(paragraph._p)
    if not text.strip():
        return
    style_id = paragraph._p.style  # None for the default paragraph style
    style = (styles.get(style_id, style_id) if style_id else "").strip()
    heading = _HEADING.match(style)
    if heading:
        out.add("heading", text, level=max(1, int(heading.group(1))))
        return
    kind = _kind(paragraph, style.lower())
    meta: dict[str, Any] = {"style": style} if style else {}
    if style.lower() in _QUOTE_STYLES:
        meta["quote"] = True
    level = _list_level(paragraph, style) if kind == "list_item" else None
    out.add(kind, text, level=level, meta=meta)


def _kind(paragraph: Paragraph, style: str) -> ElementKind:
    if style == "title":
        return "title"
    if style.startswith("list") or _is_numbered(paragraph):
        return "list_item"
    if any(name in style for name in _CODE_STYLES):
        return "code"
    return "paragraph"


def _list_level(paragraph: Paragraph, style: str) -> int:
    """1 for an outer list item: ``w:ilvl`` + 1, or the digit of "List Bullet 2"."""
    ilvl = paragraph._p.find(f"{_PPR}/{_NUMPR}/{_ILVL}")
    if ilvl is not None:
        try:
            return max(0, min(int(ilvl.get(_VAL, "0")), 8)) + 1
        except ValueError:
            return 1
    digits = re.search(r"(\d)$", style)
    return int(digits.group(1)) if digits else 1


def _is_numbered(paragraph: Paragraph) -> bool:
    # Bullets applied by direct formatting (not via a "List ..." style) show up as numPr.
    ppr = paragraph._p.pPr
    return ppr is not None and ppr.numPr is not None


def _table(table: DocxTable) -> Element | None:
    """A Word table on its grid: ``gridSpan`` is a colspan, a ``vMerge`` run is one cell with a
    rowspan (its value once, never repeated), ``tblHeader`` rows are the header."""
    rows: list[list[list[Any]]] = []  # per row: [text, colspan, rowspan] of its own cells
    origin: dict[int, list[Any]] = {}  # grid column → the cell a vertical merge continues
    marked_header = 0
    counting_header = True
    for tr in table._tbl.iterchildren(_TR):
        row: list[list[Any]] = []
        column = _grid_before(tr)
        for tc in tr.iterchildren(_TC):
            tcpr = tc.find(_TCPR)
            span = _int_val(tcpr.find(_GRID_SPAN)) if tcpr is not None else 1
            merge = tcpr.find(_VMERGE) if tcpr is not None else None
            if merge is not None and merge.get(_VAL) != "restart" and column in origin:
                origin[column][2] += 1  # continues the merge above: covered, not a cell
            else:
                text = collapse_ws(" ".join(_text(p) for p in tc.iterchildren(_P)))
                cell = [text, span, 1]
                row.append(cell)
                for c in range(column, column + span):
                    origin.pop(c, None)
                if merge is not None:
                    origin[column] = cell
            column += span
        trpr = tr.find(_TRPR)
        if counting_header and trpr is not None and trpr.find(_TBL_HEADER) is not None:
            marked_header += 1
        else:
            counting_header = False
        rows.append(row)
    cells = [tuple(Cell(t, c, r) for t, c, r in row) for row in rows]
    return table_element(finish_table(cells, header_rows=marked_header or None))


def _grid_before(tr: Any) -> int:
    trpr = tr.find(_TRPR)
    before = trpr.find(_GRID_BEFORE) if trpr is not None else None
    return _int_val(before) - 1 if before is not None else 0


def _int_val(node: Any) -> int:
    if node is None:
        return 1
    try:
        return max(1, min(int(node.get(_VAL, "1")), 1000))
    except ValueError:
        return 1


def _text(paragraph: Any) -> str:
    """The text of a ``w:p`` element: runs, hyperlinks and tracked insertions, tabs and breaks."""
    parts: list[str] = []
    for node in _RUN_TEXT(paragraph):
        if node.tag == _T:
            parts.append(node.text or "")
        else:
            parts.append("\t" if node.tag == _TAB else "\n")
    return "".join(parts)
