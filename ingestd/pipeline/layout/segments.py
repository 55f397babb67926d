"""Text segments and ruling lines of a PDF page, read from pdfium.

pdfium's own line breaking (the ``\\r\\n`` it generates between lines) splits the page text into
lines; ``FPDFText_CountRects``/``GetRect`` then give each line's boxes, one per run of text
drawn together. A line with one box needs no per-character call; only lines of several runs
(table rows, columns side by side) are split by their characters' boxes. That keeps layout
analysis within a small factor of plain text extraction.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any

import pypdfium2.raw as pdfium_c

_BOLD_NAMES = ("bold", "black", "heavy", "semibold", "demibold")
_FONT_NAME_BYTES = 128


@dataclass(slots=True)
class Segment:
    """A run of text on one line: its box in points (x0, y0, x1, y1, y down), font size, bold."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float
    bold: bool = False

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass(slots=True)
class Line:
    """Segments on one baseline that read as one line of text (or one table row)."""

    segments: list[Segment]
    x0: float = 0.0
    y0: float = 0.0
    x1: float = 0.0
    y1: float = 0.0
    kind: str = ""  # set by later steps: "furniture", "footnote"…

    def __post_init__(self) -> None:
        self.update()

    def update(self) -> None:
        self.x0 = min(s.x0 for s in self.segments)
        self.y0 = min(s.y0 for s in self.segments)
        self.x1 = max(s.x1 for s in self.segments)
        self.y1 = max(s.y1 for s in self.segments)

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)

    @property
    def size(self) -> float:
        return max(s.size for s in self.segments)

    @property
    def bold(self) -> bool:
        return all(s.bold for s in self.segments)


@dataclass(frozen=True, slots=True)
class Rule:
    """A ruling line: horizontal (``y0 == y1`` give or take its width) or vertical."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def horizontal(self) -> bool:
        return (self.x1 - self.x0) >= (self.y1 - self.y0)


@dataclass(slots=True)
class PageText:
    """What one page gives the layout steps."""

    width: float
    height: float
    segments: list[Segment] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    text: str = ""
    chars: int = 0


class _Transform:
    """User space (y up, unrotated) → the page as displayed (y down, after /Rotate)."""

    def __init__(self, width: float, height: float, rotation: int) -> None:
        self.w, self.h, self.rotation = width, height, rotation % 360

    @property
    def size(self) -> tuple[float, float]:
        return (self.h, self.w) if self.rotation in (90, 270) else (self.w, self.h)

    def box(
        self, left: float, bottom: float, right: float, top: float
    ) -> tuple[float, float, float, float]:
        r = self.rotation
        if r == 90:
            return bottom, left, top, right
        if r == 180:
            return self.w - right, bottom, self.w - left, top
        if r == 270:
            return self.h - top, self.w - right, self.h - bottom, self.w - left
        return left, self.h - top, right, self.h - bottom


def read_page(page: Any, textpage: Any) -> PageText:
    """Segments and rules of a pypdfium2 page (and its text page)."""
    width, height = _user_size(page)
    transform = _Transform(width, height, page.get_rotation())
    shown_w, shown_h = transform.size
    raw = textpage.raw
    count = pdfium_c.FPDFText_CountChars(raw)
    text = textpage.get_text_range(0, count) if count > 0 else ""
    out = PageText(width=shown_w, height=shown_h, text=text)
    out.chars = sum(1 for ch in text if not ch.isspace())
    if count <= 0 or len(text) != count:
        if text.strip():  # characters outside the BMP: pdfium's indices no longer match
            out.segments = _segments_by_char(raw, text, transform)
        out.rules = _rules(page, transform)
        return out
    out.segments = _segments(raw, text, transform)
    out.rules = _rules(page, transform)
    return out


def _user_size(page: Any) -> tuple[float, float]:
    left, bottom, right, top = page.get_mediabox()
    return float(right - left), float(top - bottom)


def _segments(raw: Any, text: str, transform: _Transform) -> list[Segment]:
    segments: list[Segment] = []
    left, top, right, bottom = (ctypes.c_double() for _ in range(4))
    start = 0
    length = len(text)
    while start < length:
        end = text.find("\r\n", start)
        if end < 0:
            end = length
        line = text[start:end]
        if line.strip():
            rects = pdfium_c.FPDFText_CountRects(raw, start, end - start)
            if rects == 1:
                pdfium_c.FPDFText_GetRect(raw, 0, left, top, right, bottom)
                first = start + (len(line) - len(line.lstrip()))
                size, bold = _font(raw, first)
                x0, y0, x1, y1 = transform.box(left.value, bottom.value, right.value, top.value)
                segments.append(Segment(line.strip(), x0, y0, x1, y1, size=size, bold=bold))
            elif rects > 1:
                segments.extend(_split_line(raw, text, start, end, transform))
        start = end + 2
    return segments


def _split_line(raw: Any, text: str, start: int, end: int, transform: _Transform) -> list[Segment]:
    """A line of several runs: cut where the gap between characters is wide."""
    boxes = [(i, _char_box(raw, i, transform)) for i in range(start, end) if not text[i].isspace()]
    return _group(raw, text, boxes)


def _char_box(raw: Any, index: int, transform: _Transform) -> tuple[float, ...]:
    """A character's loose box: the font's full height, so "." and "g" line up with "A"."""
    rect = pdfium_c.FS_RECTF()
    pdfium_c.FPDFText_GetLooseCharBox(raw, index, rect)
    return transform.box(rect.left, rect.bottom, rect.right, rect.top)


def _segments_by_char(raw: Any, text: str, transform: _Transform) -> list[Segment]:
    """Fallback when text offsets and character indices disagree: every character's box."""
    count = pdfium_c.FPDFText_CountChars(raw)
    chars = []
    boxes: list[tuple[int, tuple[float, ...]]] = []
    for index in range(count):
        code = pdfium_c.FPDFText_GetUnicode(raw, index)
        ch = chr(code) if 0 < code < 0x110000 else " "
        chars.append(ch)
        if not ch.isspace() and ch != "\x00":
            boxes.append((index, _char_box(raw, index, transform)))
    return _group(raw, "".join(chars), boxes)


def _group(raw: Any, text: str, boxes: list[tuple[int, tuple[float, ...]]]) -> list[Segment]:
    segments: list[Segment] = []
    run: list[tuple[int, tuple[float, ...]]] = []

    def flush() -> None:
        if not run:
            return
        first, last = run[0][0], run[-1][0]
        size, bold = _font(raw, first)
        segments.append(
            Segment(
                " ".join(text[first : last + 1].split()),
                min(b[0] for _i, b in run),
                min(b[1] for _i, b in run),
                max(b[2] for _i, b in run),
                max(b[3] for _i, b in run),
                size=size,
                bold=bold,
            )
        )
        run.clear()

    for index, box in boxes:
        if run:
            previous = run[-1][1]
            height = max(previous[3] - previous[1], box[3] - box[1], 1.0)
            same_line = abs(box[1] - previous[1]) < height * 0.6
            gap = box[0] - previous[2]
            if not same_line or gap > height * 1.2 or gap < -height:
                flush()
        run.append((index, box))
    flush()
    return segments


def _font(raw: Any, index: int) -> tuple[float, bool]:
    size = float(pdfium_c.FPDFText_GetFontSize(raw, index))
    weight = pdfium_c.FPDFText_GetFontWeight(raw, index)
    if weight >= 600:
        return size, True
    buffer = ctypes.create_string_buffer(_FONT_NAME_BYTES)
    flags = ctypes.c_int()
    length = pdfium_c.FPDFText_GetFontInfo(raw, index, buffer, _FONT_NAME_BYTES, flags)
    name = buffer.raw[: max(0, min(length, _FONT_NAME_BYTES) - 1)].decode("latin-1").lower()
    return size, any(word in name for word in _BOLD_NAMES)


def _rules(page: Any, transform: _Transform) -> list[Rule]:
    """Thin path objects (drawn lines and the edges of thin rectangles) at the page's top level."""
    rules: list[Rule] = []
    raw = page.raw
    count = pdfium_c.FPDFPage_CountObjects(raw)
    if count > 20_000:
        return rules  # a drawing, not a document page: no tables to find here
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    for index in range(count):
        obj = pdfium_c.FPDFPage_GetObject(raw, index)
        if pdfium_c.FPDFPageObj_GetType(obj) != pdfium_c.FPDF_PAGEOBJ_PATH:
            continue
        if not pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
            continue
        x0, y0, x1, y1 = transform.box(left.value, bottom.value, right.value, top.value)
        if (x1 - x0) < 3 or (y1 - y0) < 3:
            rules.append(Rule(x0, y0, x1, y1))
    return rules
