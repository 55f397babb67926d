"""Lines from segments, and the reading order of a page's boxes across columns.

Reading order: a gutter is a vertical strip that no narrow box crosses, with boxes on both
sides. Boxes that do cross it (a heading or table across the page) cut the page into bands;
within a band the left side is read before the right, each side recursively (three columns
work the same way). A page without a gutter reads top to bottom.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ingestd.pipeline.layout.segments import Line, Segment

T = TypeVar("T")
_MIN_GUTTER = 8.0  # points
_MAX_DEPTH = 6


def rows_of(segments: list[Segment]) -> list[Line]:
    """Segments on one baseline as one row, top to bottom (a table row, or the lines of two
    columns side by side: ``split_row`` tells them apart once tables are found)."""
    ordered = sorted(segments, key=lambda s: (round(s.y0), s.x0))
    lines: list[Line] = []
    current: list[Segment] = []
    for segment in ordered:
        if current and _same_line(current[-1], segment):
            current.append(segment)
            continue
        if current:
            lines.append(Line(sorted(current, key=lambda s: s.x0)))
        current = [segment]
    if current:
        lines.append(Line(sorted(current, key=lambda s: s.x0)))
    return sorted(lines, key=lambda ln: (ln.y0, ln.x0))


def _same_line(a: Segment, b: Segment) -> bool:
    height = max(a.height, b.height, 1.0)
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    return overlap > 0.5 * min(a.height, b.height, height)


def split_row(row: Line) -> list[Line]:
    """A row's segments as lines: a gap wider than about a character between segments of
    running text is a column gutter (or a tab stop), not a word space."""
    segments = row.segments
    out: list[list[Segment]] = [[segments[0]]]
    for segment in segments[1:]:
        previous = out[-1][-1]
        gap = segment.x0 - previous.x1
        if gap > max(previous.size, segment.size) * 0.9:
            out.append([segment])
        else:
            out[-1].append(segment)
    return [Line(group) for group in out]


def reading_order(
    items: Sequence[T], box: Callable[[T], tuple[float, float, float, float]], depth: int = 0
) -> list[T]:
    """``items`` in reading order, given each one's box (x0, y0, x1, y1; y down)."""
    return [item for _box, item in _ordered([(box(it), it) for it in items], depth)]


_Boxed = tuple[tuple[float, float, float, float], T]


def _ordered(items: list[_Boxed[T]], depth: int) -> list[_Boxed[T]]:
    items = sorted(items, key=lambda pair: (pair[0][1], pair[0][0]))
    if len(items) < 2 or depth > _MAX_DEPTH:
        return items
    gutter = _gutter([b for b, _it in items])
    if gutter is None:
        return items
    g0, g1 = gutter
    out: list[_Boxed[T]] = []
    band: list[_Boxed[T]] = []
    for pair in items:
        x0, _y0, x1, _y1 = pair[0]
        if x0 < g1 and x1 > g0:  # crosses the gutter: ends the band above it
            out += _band(band, g0, depth)
            band = []
            out.append(pair)
        else:
            band.append(pair)
    out += _band(band, g0, depth)
    return out


def _band(band: list[_Boxed[T]], g0: float, depth: int) -> list[_Boxed[T]]:
    left = [pair for pair in band if pair[0][2] <= g0]
    right = [pair for pair in band if pair[0][2] > g0]
    return _ordered(left, depth + 1) + _ordered(right, depth + 1)


def _gutter(boxes: list[tuple[float, float, float, float]]) -> tuple[float, float] | None:
    """The widest vertical strip that narrow boxes leave free, with boxes on both sides."""
    left = min(b[0] for b in boxes)
    right = max(b[2] for b in boxes)
    width = right - left
    if width <= 0:
        return None
    # Lines taller than the body's (headings) do not shape the gutters: one that reaches into a
    # gutter cuts the page into bands instead, like a full-width line.
    heights = sorted(b[3] - b[1] for b in boxes)
    tall = heights[len(heights) // 2] * 1.25
    narrow = sorted(
        (b[0], b[2]) for b in boxes if (b[2] - b[0]) < 0.6 * width and (b[3] - b[1]) <= tall
    )
    if len(narrow) < 2:
        return None
    best: tuple[float, float] | None = None
    reach = narrow[0][1]
    for x0, x1 in narrow[1:]:
        if x0 - reach >= _MIN_GUTTER and (best is None or x0 - reach > best[1] - best[0]):
            best = (reach, x0)
        reach = max(reach, x1)
    if best is None:
        return None
    # Boxes on both sides, and the gutter not at the edge of the text.
    on_left = sum(1 for b in boxes if b[2] <= best[0])
    on_right = sum(1 for b in boxes if b[0] >= best[1])
    if on_left < 2 or on_right < 2:
        return None
    return best
