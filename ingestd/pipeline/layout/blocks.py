"""Lines in reading order → elements: paragraphs, headings, list items, captions, footnotes.

- A paragraph runs over hard-wrapped lines until the gap between lines grows, the font changes,
  the text jumps to another column, or a short line ends a sentence; a word hyphenated at a
  line end is joined again.
- Headings are lines set larger than the body text (levels by size, largest first) or short
  bold lines at body size; the largest text at the top of page 1 is the title.
- A line starting with a bullet or a number marker starts a list item; its hanging lines
  follow it.
- ``Table 1.`` / ``Figure 2:`` lines are captions (a table's own caption when one follows).
- Small-font lines at the foot of a page starting with a marker are footnotes, emitted at the
  end of their page.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from ingestd.pipeline.layout.segments import Line

_BULLET = re.compile(r"^(?:[•◦▪‣●○■□➢►\-\u2013\u2014*·]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+")
_CAPTION = re.compile(r"^(?:table|figure|fig\.|chart|exhibit|tabelle|abbildung)\s*\d+", re.I)
_FOOTNOTE = re.compile(r"^(?:\d{1,3}|[*†‡§¶])\s*\S")
_HYPHENS = ("-", "\u00ad", "\x02", "\ufffe")
_SOFT_HYPHENS = ("\u00ad", "\x02", "\ufffe")  # pdfium marks a line-end hyphen with U+FFFE


@dataclass(slots=True)
class Block:
    kind: str  # paragraph, heading, title, list_item, caption, footnote
    lines: list[Line]
    level: int | None = None

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (
            min(ln.x0 for ln in self.lines),
            min(ln.y0 for ln in self.lines),
            max(ln.x1 for ln in self.lines),
            max(ln.y1 for ln in self.lines),
        )

    @property
    def size(self) -> float:
        return max(ln.size for ln in self.lines)

    def text(self) -> str:
        out = ""
        for line in self.lines:
            text = line.text.strip()
            if self.kind == "list_item" and line is self.lines[0]:
                text = _BULLET.sub("", text, count=1)
            out = join_lines(out, text)
        return out


def join_lines(before: str, after: str) -> str:
    """Two hard-wrapped lines as running text: ``exam-`` + ``ple`` → ``example``."""
    if not before:
        return after
    if not after:
        return before
    if (
        before.endswith(_HYPHENS)
        and len(before) > 1
        and before[-2].isalpha()
        and after[0].islower()
    ):
        return before[:-1] + after
    if before.endswith(_SOFT_HYPHENS):
        return before[:-1] + after
    return f"{before} {after}"


def body_size(lines: list[Line]) -> float:
    """The font size most of the text is set in."""
    weights: Counter[float] = Counter()
    for line in lines:
        for segment in line.segments:
            weights[round(segment.size * 2) / 2] += len(segment.text)
    return weights.most_common(1)[0][0] if weights else 10.0


def blocks_of(lines: list[Line], body: float, page_height: float) -> list[Block]:
    """Group lines (in reading order) into blocks; footnotes go to the end of the page."""
    footnotes = [ln for ln in lines if _is_footnote_line(ln, body, page_height)]
    notes = set(map(id, footnotes))
    blocks: list[Block] = []
    gap = _typical_gap(lines)
    for line in lines:
        if id(line) in notes:
            continue
        kind = _line_kind(line, body)
        current = blocks[-1] if blocks else None
        if current is not None and _continues(current, line, kind, body, gap):
            current.lines.append(line)
            continue
        blocks.append(Block(kind, [line]))
    blocks += _footnote_blocks(footnotes)
    for block in blocks:
        if block.kind == "paragraph" and _CAPTION.match(block.text()):
            block.kind = "caption"
        elif block.kind == "heading" and len(block.text()) > 200:
            block.kind = "paragraph"  # a bold paragraph is not a heading
    return blocks


def _line_kind(line: Line, body: float) -> str:
    if line.size >= body * 1.15:
        return "heading"
    if line.bold and len(line.text) <= 120:
        return "heading"
    if _BULLET.match(line.text):
        return "list_item"
    return "paragraph"


def _continues(block: Block, line: Line, kind: str, body: float, gap: float) -> bool:
    last = block.lines[-1]
    if block.kind in ("title", "footnote", "caption"):
        return False
    if kind == "list_item":
        return False  # a marker starts a new item
    if block.kind == "heading":
        return kind == "heading" and abs(line.size - last.size) < 0.5 and _close(last, line, gap)
    if kind == "heading":
        return False
    if abs(line.size - last.size) > 0.6 or line.y0 < last.y0 - 1:
        return False  # another font, or back up to the top of the next column
    if not _close(last, line, gap):
        return False
    first = block.lines[0]
    if block.kind == "list_item":
        indent = _text_start(first)
        return line.x0 >= indent - 3 and line.x0 <= indent + 40
    if abs(line.x0 - last.x0) > 30 and abs(line.x0 - first.x0) > 30:
        return False
    width = max(ln.x1 - ln.x0 for ln in block.lines)
    short_end = (last.x1 - last.x0) < 0.7 * width and last.text.rstrip().endswith(
        (".", ":", "!", "?")
    )
    return not (short_end and len(block.lines) > 1)


def _close(above: Line, below: Line, gap: float) -> bool:
    space = below.y0 - above.y1
    return -2 <= space <= gap + 0.45 * max(above.size, below.size)


def _text_start(line: Line) -> float:
    """Where a list item's text starts (after its marker)."""
    if len(line.segments) > 1 and _BULLET.match(line.segments[0].text + " "):
        return line.segments[1].x0
    marker = _BULLET.match(line.text)
    if marker is None:
        return line.x0
    share = len(marker.group(0)) / max(len(line.text), 1)
    return line.x0 + (line.x1 - line.x0) * share


def _typical_gap(lines: list[Line]) -> float:
    gaps = sorted(
        b.y0 - a.y1
        for a, b in pairwise(lines)
        if 0 <= b.y0 - a.y1 < 2 * max(a.size, 1) and abs(a.size - b.size) < 0.5
    )
    return gaps[len(gaps) // 4] if gaps else 2.0


def _is_footnote_line(line: Line, body: float, page_height: float) -> bool:
    return line.size <= body * 0.85 and line.y0 > page_height * 0.6 and line.kind != "furniture"


def _footnote_blocks(lines: list[Line]) -> list[Block]:
    blocks: list[Block] = []
    for line in sorted(lines, key=lambda ln: (ln.y0, ln.x0)):
        if (
            blocks
            and not _FOOTNOTE.match(line.text)
            and line.y0 - blocks[-1].lines[-1].y1 < line.size
        ):
            blocks[-1].lines.append(line)
        else:
            blocks.append(Block("footnote", [line]))
    return blocks
