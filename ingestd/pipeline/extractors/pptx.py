"""PPTX read straight from its XML parts (zip + lxml): per slide its title, text, tables, chart
titles and speaker notes, in reading order.

- The slide title is a level-1 heading; text in body placeholders and bulleted paragraphs are
  list items (with their level); other text is paragraphs.
- Shapes are read top to bottom, then left to right (shapes whose tops are within a few points
  form one row); a group is read as a whole at its own position. A placeholder that takes its
  position from the slide's layout gets it from there (each layout is read once per deck).
- Tables keep their merged cells (``gridSpan``/``rowSpan``) and the header row PowerPoint marks
  (``firstRow``), so the header stands on its own line.
- Chart titles are ``caption`` elements (``meta.chart``).
- Speaker notes are one ``notes`` element per slide, kept out of the slide's body (and of the
  chunks) unless the job sets ``options.include_notes``.
- Date, footer, slide-number and header placeholders, and a text repeated at the same place on
  most slides, are page furniture: ``metadata.furniture``, not body.

python-pptx is not used here: its placeholder inheritance walk (each placeholder's position and
type looked up through layout and master on every access) took over half the time.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from ingestd.domain.documents import BBox, Cell, Document, Element, ElementKind, PageInfo
from ingestd.pipeline.extractors._common import (
    check_ooxml_zip,
    clean,
    collapse_ws,
    finish_table,
    table_element,
    translate_errors,
)

_NS = {
    "p": "http://schemas.openxmlformats.org/presentationml/2006/main",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "dc": "http://purl.org/dc/elements/1.1/",
}
_P, _A, _R = (f"{{{_NS[k]}}}" for k in ("p", "a", "r"))
_EMU_PER_POINT = 12700
_TITLES = frozenset({"title", "ctrTitle"})
_FURNITURE = frozenset({"dt", "ftr", "sldNum", "hdr"})
_BULLETED = frozenset({"body", "obj", None})  # a placeholder without a type is an object
_ROW_TOLERANCE = 6 * _EMU_PER_POINT  # tops this close read as one row, left to right
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_MAX_SLIDES = 10_000
_REPEATED_SHARE = 0.5


@dataclass
class _Shape:
    top: int
    left: int
    width: int
    height: int
    elements: list[Element] = field(default_factory=list)


def extract(path: Path) -> Document:
    with translate_errors("the PPTX presentation"):
        check_ooxml_zip(path, "PPTX", "ppt/presentation.xml")
        with zipfile.ZipFile(path) as archive:
            return _Deck(archive).read()


class _Deck:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.names = set(archive.namelist())
        self.layouts: dict[str, dict[tuple[str | None, str | None], tuple[int, int, int, int]]] = {}
        self.furniture: list[str] = []

    def read(self) -> Document:
        presentation = self._xml("ppt/presentation.xml")
        size = presentation.find(f"{_P}sldSz")
        width = int(size.get("cx", "9144000")) / _EMU_PER_POINT if size is not None else 720.0
        height = int(size.get("cy", "6858000")) / _EMU_PER_POINT if size is not None else 540.0
        rels = self._rels("ppt/presentation.xml")
        slides: list[list[tuple[_Shape, bool]]] = []
        notes: list[str] = []
        titles: list[str] = []
        ids = presentation.findall(f"{_P}sldIdLst/{_P}sldId")[:_MAX_SLIDES]
        for slide_id in ids:
            target = rels.get(slide_id.get(f"{_R}id", ""))
            if target is None or target not in self.names:
                continue
            shapes, slide_title, note = self._slide(target, len(slides) + 1)
            slides.append(shapes)
            titles.append(slide_title)
            notes.append(note)
        repeated = self._repeated(slides)
        elements: list[Element] = []
        for number, shapes in enumerate(slides, start=1):
            for shape, _title in _reading_order(shapes):
                for element in shape.elements:
                    if element.kind != "heading" and _key(element) in repeated:
                        continue
                    elements.append(element)
            if notes[number - 1]:
                elements.append(
                    Element(kind="notes", text=notes[number - 1], page=number, meta={"notes": True})
                )
        pages = [PageInfo(number=n, width=width, height=height) for n in range(1, len(slides) + 1)]
        furniture = list(dict.fromkeys([*self.furniture, *(text for _p, text in repeated)]))
        title = self._core_title() or next((t for t in titles if t), None)
        return Document(
            elements=elements, pages=pages, metadata={"title": title, "furniture": furniture}
        )

    # -- parts -------------------------------------------------------------------------------

    def _xml(self, name: str) -> Any:
        with self.archive.open(name) as part:
            return etree.parse(part, _PARSER).getroot()

    def _rels(self, part: str, kind: str | None = None) -> dict[str, str]:
        """rId → the target part's name (relative targets resolved)."""
        folder, base = posixpath.split(part)
        name = posixpath.join(folder, "_rels", base + ".rels")
        if name not in self.names:
            return {}
        out: dict[str, str] = {}
        for rel in self._xml(name).iter(f"{{{_NS['rel']}}}Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            if kind is not None and not (rel.get("Type") or "").endswith(kind):
                continue
            target = rel.get("Target", "")
            resolved = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(folder, target))
            )
            out[rel.get("Id", "")] = resolved
        return out

    def _core_title(self) -> str | None:
        if "docProps/core.xml" not in self.names:
            return None
        node = self._xml("docProps/core.xml").find(f"{{{_NS['dc']}}}title")
        if node is None:
            return None
        return collapse_ws(node.text or "") or None

    # -- one slide ---------------------------------------------------------------------------

    def _slide(self, name: str, number: int) -> tuple[list[tuple[_Shape, bool]], str, str]:
        root = self._xml(name)
        rels = self._rels(name)
        layout = next(
            (t for t in self._rels(name, "/slideLayout").values() if t in self.names), None
        )
        positions = self._layout_positions(layout) if layout else {}
        tree = root.find(f"{_P}cSld/{_P}spTree")
        shapes: list[tuple[_Shape, bool]] = []
        title = ""
        if tree is not None:
            reader = _SlideReader(self, number, rels, positions)
            shapes = reader.shapes(tree)
            title = reader.title
        notes_part = next(
            (t for t in self._rels(name, "/notesSlide").values() if t in self.names), None
        )
        return shapes, title, self._notes(notes_part) if notes_part else ""

    def _layout_positions(
        self, layout: str
    ) -> dict[tuple[str | None, str | None], tuple[int, int, int, int]]:
        """Placeholder (type, idx) → (left, top, width, height) from the layout, then its
        master: read once per layout."""
        if layout in self.layouts:
            return self.layouts[layout]
        positions: dict[tuple[str | None, str | None], tuple[int, int, int, int]] = {}
        master = next(
            (t for t in self._rels(layout, "/slideMaster").values() if t in self.names), None
        )
        for part in (master, layout):  # the layout overrides its master
            if part is None:
                continue
            for sp in self._xml(part).iter(f"{_P}sp"):
                ph = sp.find(f"{_P}nvSpPr/{_P}nvPr/{_P}ph")
                box = _xfrm(sp.find(f"{_P}spPr"))
                if ph is not None and box is not None:
                    if ph.get("idx"):
                        positions[(None, ph.get("idx"))] = box
                    positions[(ph.get("type") or "obj", None)] = box
        self.layouts[layout] = positions
        return positions

    def _notes(self, name: str) -> str:
        root = self._xml(name)
        texts: list[str] = []
        for sp in root.iter(f"{_P}sp"):
            ph = sp.find(f"{_P}nvSpPr/{_P}nvPr/{_P}ph")
            if ph is None or ph.get("type") != "body":
                continue
            body = sp.find(f"{_P}txBody")
            if body is not None:
                texts.extend(text for _level, text, _b in _paragraphs(body) if text)
        return clean("\n".join(texts))

    def _chart_title(self, name: str) -> str:
        if name not in self.names:
            return ""
        title = self._xml(name).find(f"{{{_NS['c']}}}chart/{{{_NS['c']}}}title")
        if title is None:
            return ""
        return collapse_ws(" ".join(t.text or "" for t in title.iter(f"{_A}t")))

    def _repeated(self, slides: list[list[tuple[_Shape, bool]]]) -> set[tuple[int, str]]:
        """Texts that stand at the same place on most slides (a hand-made deck footer)."""
        if len(slides) < 3:
            return set()
        counts: Counter[tuple[int, str]] = Counter()
        for shapes in slides:
            seen = {_key(e) for shape, is_title in shapes if not is_title for e in shape.elements}
            counts.update(seen)
        limit = max(3, int(len(slides) * _REPEATED_SHARE) + 1)
        return {key for key, count in counts.items() if count >= limit}


def _key(element: Element) -> tuple[int, str]:
    top = int(element.bbox[1] // 10) if element.bbox else -1
    return (top, element.text)


class _SlideReader:
    def __init__(
        self,
        deck: _Deck,
        number: int,
        rels: dict[str, str],
        positions: dict[tuple[str | None, str | None], tuple[int, int, int, int]],
    ) -> None:
        self.deck = deck
        self.number = number
        self.rels = rels
        self.positions = positions
        self.title = ""

    def shapes(self, tree: Any) -> list[tuple[_Shape, bool]]:
        out: list[tuple[_Shape, bool]] = []
        for child in tree:
            tag = child.tag
            if tag == f"{_P}sp":
                shape = self._text_shape(child)
            elif tag == f"{_P}graphicFrame":
                shape = self._frame(child)
            elif tag == f"{_P}grpSp":
                shape = self._group(child)
            else:
                continue  # pictures, connectors, content parts
            if shape is not None:
                out.append(shape)
        return out

    def _group(self, group: Any) -> tuple[_Shape, bool] | None:
        box = _xfrm(group.find(f"{_P}grpSpPr")) or (0, 0, 0, 0)
        inner = self.shapes(group)
        if not inner:
            return None
        shape = _Shape(box[1], box[0], box[2], box[3])
        for member, _is_title in _reading_order(inner):
            shape.elements.extend(member.elements)
        return shape, False

    def _text_shape(self, sp: Any) -> tuple[_Shape, bool] | None:
        ph = sp.find(f"{_P}nvSpPr/{_P}nvPr/{_P}ph")
        kind = ph.get("type") if ph is not None else None
        body = sp.find(f"{_P}txBody")
        if body is None:
            return None
        box = _xfrm(sp.find(f"{_P}spPr"))
        if box is None and ph is not None:
            box = self.positions.get((None, ph.get("idx"))) if ph.get("idx") else None
            box = box or self.positions.get((kind or "obj", None))
            if box is None and kind in (None, "obj"):
                box = self.positions.get(("body", None))
        box = box or (0, 0, 0, 0)
        shape = _Shape(box[1], box[0], box[2], box[3])
        bbox = _points(box)
        paragraphs = _paragraphs(body)
        if ph is not None and kind in _FURNITURE:
            self.deck.furniture.extend(t for _l, t, _b in paragraphs if t)
            return None
        if ph is not None and kind in _TITLES:
            text = collapse_ws(" ".join(t for _l, t, _b in paragraphs))
            if not text:
                return None
            self.title = self.title or text
            shape.elements.append(self._element("heading", text, bbox, level=1))
            return shape, True
        bulleted_placeholder = ph is not None and kind in _BULLETED
        for level, text, bullet in paragraphs:
            if not text:
                continue
            if bullet is True or (bullet is None and (bulleted_placeholder or level > 0)):
                shape.elements.append(self._element("list_item", text, bbox, level=level + 1))
            else:
                shape.elements.append(self._element("paragraph", text, bbox))
        return (shape, False) if shape.elements else None

    def _frame(self, frame: Any) -> tuple[_Shape, bool] | None:
        box = _xfrm(frame.find(f"{_P}xfrm")) or (0, 0, 0, 0)
        shape = _Shape(box[1], box[0], box[2], box[3])
        data = frame.find(f"{_A}graphic/{_A}graphicData")
        if data is None:
            return None
        table = data.find(f"{_A}tbl")
        if table is not None:
            element = _table(table, self.number, _points(box))
            if element is not None:
                shape.elements.append(element)
        chart = data.find(f"{{{_NS['c']}}}chart")
        if chart is not None:
            target = self.rels.get(chart.get(f"{_R}id", ""))
            title = self.deck._chart_title(target) if target else ""
            if title:
                shape.elements.append(
                    self._element("caption", title, _points(box), meta={"chart": True})
                )
        return (shape, False) if shape.elements else None

    def _element(
        self,
        kind: ElementKind,
        text: str,
        bbox: BBox | None,
        *,
        level: int | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Element:
        return Element(
            kind=kind, text=text, page=self.number, level=level, bbox=bbox, meta=meta or {}
        )


def _reading_order(shapes: list[tuple[_Shape, bool]]) -> list[tuple[_Shape, bool]]:
    """Top to bottom; shapes whose tops lie within a few points of each other, left to right."""
    ordered = sorted(shapes, key=lambda s: (s[0].top, s[0].left))
    rows: list[list[tuple[_Shape, bool]]] = []
    for item in ordered:
        if rows and item[0].top - rows[-1][0][0].top <= _ROW_TOLERANCE:
            rows[-1].append(item)
        else:
            rows.append([item])
    return [item for row in rows for item in sorted(row, key=lambda s: s[0].left)]


def _xfrm(parent: Any) -> tuple[int, int, int, int] | None:
    """(left, top, width, height) in EMU of a shape's ``a:xfrm``, when it has one."""
    if parent is None:
        return None
    xfrm = parent if parent.tag.endswith("}xfrm") else parent.find(f"{_A}xfrm")
    if xfrm is None:
        return None
    off = xfrm.find(f"{_A}off")
    ext = xfrm.find(f"{_A}ext")
    if off is None:
        off = xfrm.find(f"{_P}off")
    try:
        left = int(off.get("x", "0")) if off is not None else 0
        top = int(off.get("y", "0")) if off is not None else 0
        width = int(ext.get("cx", "0")) if ext is not None else 0
        height = int(ext.get("cy", "0")) if ext is not None else 0
    except ValueError:
        return None
    return left, top, width, height


def _points(box: tuple[int, int, int, int]) -> BBox | None:
    left, top, width, height = box
    if not (width or height):
        return None
    scale = _EMU_PER_POINT
    return (left / scale, top / scale, (left + width) / scale, (top + height) / scale)


def _paragraphs(body: Any) -> list[tuple[int, str, bool | None]]:
    """(level, text, bulleted) of each ``a:p``; ``bulleted`` is ``None`` when the paragraph does
    not say (the placeholder decides)."""
    out: list[tuple[int, str, bool | None]] = []
    for paragraph in body.iter(f"{_A}p"):
        parts: list[str] = []
        for node in paragraph:
            tag = node.tag
            if tag in (f"{_A}r", f"{_A}fld"):
                text = node.find(f"{_A}t")
                if text is not None and text.text:
                    parts.append(text.text)
            elif tag == f"{_A}br":
                parts.append("\n")
        ppr = paragraph.find(f"{_A}pPr")
        level = 0
        bullet: bool | None = None
        if ppr is not None:
            try:
                level = max(0, min(int(ppr.get("lvl", "0")), 8))
            except ValueError:
                level = 0
            if ppr.find(f"{_A}buNone") is not None:
                bullet = False
            elif ppr.find(f"{_A}buChar") is not None or ppr.find(f"{_A}buAutoNum") is not None:
                bullet = True
        text = "\n".join(collapse_ws(line) for line in "".join(parts).split("\n")).strip()
        out.append((level, text, bullet))
    return out


def _table(table: Any, page: int, bbox: BBox | None) -> Element | None:
    rows: list[tuple[Cell, ...]] = []
    for tr in table.iter(f"{_A}tr"):
        row: list[Cell] = []
        for tc in tr.iter(f"{_A}tc"):
            if tc.get("hMerge") in ("1", "true") or tc.get("vMerge") in ("1", "true"):
                continue  # covered by a merge to the left or above
            body = tc.find(f"{_A}txBody")
            text = " ".join(t for _l, t, _b in _paragraphs(body) if t) if body is not None else ""
            row.append(Cell(collapse_ws(text), _span(tc.get("gridSpan")), _span(tc.get("rowSpan"))))
        rows.append(tuple(row))
    props = table.find(f"{_A}tblPr")
    first_row = props is not None and props.get("firstRow") in ("1", "true")
    result = finish_table(rows, header_rows=1 if first_row else None)
    return table_element(result, page=page, bbox=bbox)


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or "1"), 1000))
    except ValueError:
        return 1
