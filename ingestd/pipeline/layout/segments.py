"""Text segments and ruling lines of a PDF page, read from pdfium.

pdfium's own line breaking (the ``\\r\\n`` it generates between lines) splits the page text into
lines; ``FPDFText_CountRects``/``GetRect`` then give each line's boxes, one per run of text
drawn together. A line with one box needs no per-character call; only lines of several runs
(table rows, columns side by side) are split by their characters' boxes. That keeps layout
analysis within a small factor of plain text extraction.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field
from typing import Any

import pypdfium2.raw as pdfium_c

_BOLD_NAMES = ("bold", "black", "heavy", "semibold", "demibold")
_FONT_NAME_BYTES = 128
_WORD = re.compile(r"\S+")
# pdfium keeps a word hyphenated at a line end on one text line, the hyphen as U+FFFE, though
# its halves sit on two lines (and in two runs): the part after it starts a run of its own.
_RUN_WORD = re.compile(r"[^\s\ufffe]+")

# A character or a word: the indices of its first and last character, and its box.
_Span = tuple[int, int, tuple[float, ...]]


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
    """Segments on one baseline that read as one line of text (or one table row).

    Its box, text, size and weight are computed once, when it is made: the layout steps read
    them many times and a line's segments never change afterwards.
    """

    segments: list[Segment]
    x0: float = 0.0
    y0: float = 0.0
    x1: float = 0.0
    y1: float = 0.0
    kind: str = ""  # set by later steps: "furniture", "footnote"…
    text: str = ""
    size: float = 0.0
    bold: bool = False

    def __post_init__(self) -> None:
        self.update()

    def update(self) -> None:
        """Recompute the box, text, size and weight from the segments."""
        segments = self.segments
        first = segments[0]
        if len(segments) == 1:
            self.x0, self.y0, self.x1, self.y1 = first.x0, first.y0, first.x1, first.y1
            self.text, self.size, self.bold = first.text, first.size, first.bold
            return
        self.x0 = min(s.x0 for s in segments)
        self.y0 = min(s.y0 for s in segments)
        self.x1 = max(s.x1 for s in segments)
        self.y1 = max(s.y1 for s in segments)
        self.text = " ".join(s.text for s in segments)
        self.size = max(s.size for s in segments)
        self.bold = all(s.bold for s in segments)


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
    _BOLD_BY_NAME.clear()  # fonts are the document's: never carry a name's weight across
    width, height = _user_size(page)
    transform = _Transform(width, height, page.get_rotation())
    shown_w, shown_h = transform.size
    raw = textpage.raw
    count = pdfium_c.FPDFText_CountChars(raw)
    text = textpage.get_text_range(0, count) if count > 0 else ""
    out = PageText(width=shown_w, height=shown_h, text=text)
    out.chars = len("".join(text.split()))  # non-space characters, counted in C
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
                runs = _split_by_runs(raw, text, start, end, rects, transform)
                segments += (
                    runs if runs is not None else _split_line(raw, text, start, end, transform)
                )
        start = end + 2
    return segments


def _split_by_runs(
    raw: Any, text: str, start: int, end: int, rects: int, transform: _Transform
) -> list[Segment] | None:
    """A line of several runs (pdfium's rectangles, one per text object), cut where the gap
    between two runs is wide; ``None`` when a run does not start at a word.

    Where each run starts is found by counting the runs up to each word's first character
    (``FPDFText_CountRects``, one cheap call per word), so the cut never lands inside a run.
    Most lines of several runs are table rows and columns side by side; this costs a call per
    word instead of two or more.
    """
    left, top, right, bottom = (ctypes.c_double() for _ in range(4))
    boxes: list[tuple[float, float, float, float]] = []
    for k in range(rects):
        pdfium_c.FPDFText_GetRect(raw, k, left, top, right, bottom)
        boxes.append(transform.box(left.value, bottom.value, right.value, top.value))
    starts = [start]
    seen = 1
    for word in _RUN_WORD.finditer(text, start, end):
        head = word.start()
        if head == start:
            continue
        runs = pdfium_c.FPDFText_CountRects(raw, start, head - start + 1)
        if runs == seen:
            continue
        # A new run starts at this word's first character: exactly one more, and not before.
        if runs != seen + 1 or pdfium_c.FPDFText_CountRects(raw, start, head - start) != seen:
            return None
        starts.append(head)
        seen = runs
    if seen != rects:
        return None
    starts.append(end)
    fonts = [_font(raw, _first_visible(text, starts[k], end)) for k in range(rects)]
    # The line's height for the gap test: its largest font size (about a loose glyph box).
    height = max(1.0, *(size for size, _bold in fonts))
    segments: list[Segment] = []
    group = [0]
    for k in range(1, rects + 1):
        if k < rects:
            previous, box = boxes[group[-1]], boxes[k]
            gap = box[0] - previous[2]
            if abs(box[1] - previous[1]) < height * 0.6 and -height <= gap <= height * 1.2:
                group.append(k)
                continue
        head = starts[group[0]]
        piece = " ".join(text[head : starts[group[-1] + 1]].split())
        if piece:
            size, bold = fonts[group[0]]
            segments.append(
                Segment(
                    piece,
                    min(boxes[i][0] for i in group),
                    min(boxes[i][1] for i in group),
                    max(boxes[i][2] for i in group),
                    max(boxes[i][3] for i in group),
                    size=size,
                    bold=bold,
                )
            )
        group = [k]
    return segments


def _first_visible(text: str, start: int, end: int) -> int:
    """The index of the first non-space character in ``text[start:end]`` (else ``start``)."""
    match = _WORD.search(text, start, end)
    return match.start() if match else start


def _split_line(raw: Any, text: str, start: int, end: int, transform: _Transform) -> list[Segment]:
    """A line of several runs: cut where the gap between words is wide.

    Only the first and last character of each word are measured: a gap wide enough to cut at
    is always where pdfium put a space (or a line break), never inside a word, so the boxes of
    the characters between tell nothing more and cost a call each.
    """
    boxes: list[_Span] = []
    for word in _WORD.finditer(text, start, end):
        first, last = word.start(), word.end() - 1
        head = _char_box(raw, first, transform)
        if last == first:
            boxes.append((first, first, head))
            continue
        tail = _char_box(raw, last, transform)
        if abs(tail[1] - head[1]) >= max(head[3] - head[1], tail[3] - tail[1], 1.0) * 0.6:
            # The word changes line (or a character is raised): measure every character.
            boxes += [(i, i, _char_box(raw, i, transform)) for i in range(first, last + 1)]
            continue
        box = (head[0], min(head[1], tail[1]), max(head[2], tail[2]), max(head[3], tail[3]))
        boxes.append((first, last, box))
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
    boxes: list[_Span] = []
    for index in range(count):
        code = pdfium_c.FPDFText_GetUnicode(raw, index)
        ch = chr(code) if 0 < code < 0x110000 else " "
        chars.append(ch)
        if not ch.isspace() and ch != "\x00":
            boxes.append((index, index, _char_box(raw, index, transform)))
    return _group(raw, "".join(chars), boxes)


def _group(raw: Any, text: str, boxes: list[_Span]) -> list[Segment]:
    """Runs of characters (or words) as segments, cut where the text jumps line or leaves a
    gap wider than its height."""
    segments: list[Segment] = []
    run: list[_Span] = []

    def flush() -> None:
        if not run:
            return
        first, last = run[0][0], run[-1][1]
        size, bold = _font(raw, first)
        segments.append(
            Segment(
                " ".join(text[first : last + 1].split()),
                min(b[0] for _f, _l, b in run),
                min(b[1] for _f, _l, b in run),
                max(b[2] for _f, _l, b in run),
                max(b[3] for _f, _l, b in run),
                size=size,
                bold=bold,
            )
        )
        run.clear()

    for span in boxes:
        box = span[2]
        if run:
            previous = run[-1][2]
            height = max(previous[3] - previous[1], box[3] - box[1], 1.0)
            same_line = abs(box[1] - previous[1]) < height * 0.6
            gap = box[0] - previous[2]
            if not same_line or gap > height * 1.2 or gap < -height:
                flush()
        run.append(span)
    flush()
    return segments


# Reused by every call: pdfium runs one document at a time per process (it is not thread-safe).
_FONT_NAME = ctypes.create_string_buffer(_FONT_NAME_BYTES)
_FONT_FLAGS = ctypes.c_int()
_BOLD_BY_NAME: dict[bytes, bool] = {}  # a font's name → whether it is bold (weight or name)


def _font(raw: Any, index: int) -> tuple[float, bool]:
    """The size and weight of the font of character ``index``.

    Bold is read from the font's name and weight once per font name (a page has a handful of
    fonts and hundreds of lines)."""
    size = float(pdfium_c.FPDFText_GetFontSize(raw, index))
    length = pdfium_c.FPDFText_GetFontInfo(raw, index, _FONT_NAME, _FONT_NAME_BYTES, _FONT_FLAGS)
    name = _FONT_NAME.raw[: max(0, min(length, _FONT_NAME_BYTES) - 1)]
    bold = _BOLD_BY_NAME.get(name)
    if bold is None:
        lowered = name.decode("latin-1").lower()
        weight = pdfium_c.FPDFText_GetFontWeight(raw, index)
        bold = weight >= 600 or any(word in lowered for word in _BOLD_NAMES)
        if name:
            _BOLD_BY_NAME[name] = bold
    return size, bold


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
