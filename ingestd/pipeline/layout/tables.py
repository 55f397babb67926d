"""Tables on a page: from ruling lines (a grid of horizontal and vertical rules), or from
rows of segments whose columns line up (no rules at all).

Each table takes its lines out of the running text and comes back as a ``Table`` of cells with
its box; the first row is the header when it is bold or reads like labels.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingestd.domain.documents import Cell, Table, looks_like_header
from ingestd.pipeline.layout.segments import Line, Rule, Segment

_SNAP = 2.0  # points: rules this close are one
_ALIGN = 4.0  # points: column edges this close line up
_MIN_ROWS = 3
_MAX_RULES = 1500


@dataclass(slots=True)
class FoundTable:
    table: Table
    x0: float
    y0: float
    x1: float
    y1: float
    lines: list[Line]


def ruled_tables(lines: list[Line], rules: list[Rule]) -> list[FoundTable]:
    """Tables drawn with rules: rows between horizontal rules, columns between vertical ones."""
    if len(rules) > _MAX_RULES:
        return []  # a drawing, not a table
    horizontal = sorted((r for r in rules if r.horizontal), key=lambda r: r.y0)
    vertical = [r for r in rules if not r.horizontal]
    found: list[FoundTable] = []
    for group in _grids(horizontal, vertical):
        hs, vs = group
        ys = _snap([(r.y0 + r.y1) / 2 for r in hs])
        xs = _snap([(r.x0 + r.x1) / 2 for r in vs])
        if len(ys) < 2 or len(xs) < 2:
            continue
        box = (xs[0], ys[0], xs[-1], ys[-1])
        inside = [ln for ln in lines if _center_in(ln, box)]
        if not inside:
            continue
        grid: list[list[list[str]]] = [[[] for _ in xs[:-1]] for _ in ys[:-1]]
        for line in inside:
            for segment in line.segments:
                row = _slot((segment.y0 + segment.y1) / 2, ys)
                column = _slot((segment.x0 + segment.x1) / 2, xs)
                if row is not None and column is not None:
                    grid[row][column].append(segment.text)
        rows = [[" ".join(parts) for parts in row] for row in grid]
        rows = [row for row in rows if any(row)]
        if len(rows) < 2:
            continue
        found.append(FoundTable(_table(rows, inside), *box, lines=inside))
    return found


def aligned_tables(lines: list[Line]) -> list[FoundTable]:
    """Runs of at least three lines of two or more segments whose columns line up."""
    found: list[FoundTable] = []
    run: list[Line] = []
    for line in [*lines, None]:
        if (
            line is not None
            and len(line.segments) >= 2
            and (_fits(run, line) if run else _cells_like(line))
        ):
            run.append(line)
            continue
        if len(run) >= _MIN_ROWS and not _prose_columns(run):
            table = _aligned(run)
            if table is not None:
                found.append(table)
        run = [line] if line is not None and len(line.segments) >= 2 and _cells_like(line) else []
    return found


def _cells_like(line: Line) -> bool:
    """Segments short enough to be cells: lines of two text columns side by side are not."""
    words = sorted(len(s.text.split()) for s in line.segments)
    return words[len(words) // 2] <= 5


def _prose_columns(run: list[Line]) -> bool:
    """Narrow columns of running text side by side (three columns of 5-word lines), not a table:
    cells of several words, few of them with a digit."""
    cells = [s.text for line in run for s in line.segments]
    words = sum(len(text.split()) for text in cells) / len(cells)
    digits = sum(1 for text in cells if any(ch.isdigit() for ch in text)) / len(cells)
    return words >= 3.5 and digits < 0.3


def _fits(run: list[Line], line: Line) -> bool:
    if not _cells_like(line):
        return False
    previous = run[-1]
    pitch = line.y0 - previous.y1
    if pitch > max(previous.y1 - previous.y0, 8.0) * 2.5 or pitch < -1:
        return False
    return _columns_match(run[0].segments, line.segments)


def _columns_match(first: list[Segment], other: list[Segment]) -> bool:
    """Every segment of ``other`` shares a left edge, right edge or centre with a column of
    ``first`` (a numeric column aligns right, a text column left)."""
    matched = 0
    for segment in other:
        for column in first:
            if (
                abs(segment.x0 - column.x0) <= _ALIGN
                or abs(segment.x1 - column.x1) <= _ALIGN
                or abs((segment.x0 + segment.x1) / 2 - (column.x0 + column.x1) / 2) <= _ALIGN
            ):
                matched += 1
                break
    return matched == len(other) and len(other) >= 2


def _aligned(run: list[Line]) -> FoundTable | None:
    # Column bands from the union of all segments' x ranges.
    spans = sorted((s.x0, s.x1) for line in run for s in line.segments)
    bands: list[list[float]] = []
    for x0, x1 in spans:
        if bands and x0 <= bands[-1][1] + 1:
            bands[-1][1] = max(bands[-1][1], x1)
        else:
            bands.append([x0, x1])
    if len(bands) < 2:
        return None
    rows: list[list[str]] = []
    for line in run:
        cells: list[list[str]] = [[] for _ in bands]
        for segment in line.segments:
            centre = (segment.x0 + segment.x1) / 2
            index = next((i for i, (a, b) in enumerate(bands) if a - 1 <= centre <= b + 1), None)
            if index is not None:
                cells[index].append(segment.text)
        rows.append([" ".join(c) for c in cells])
    x0 = min(line.x0 for line in run)
    x1 = max(line.x1 for line in run)
    return FoundTable(_table(rows, run), x0, run[0].y0, x1, run[-1].y1, lines=list(run))


def _table(rows: list[list[str]], lines: list[Line]) -> Table:

    first_line = min(lines, key=lambda ln: ln.y0)
    header = 1 if (first_line.bold or looks_like_header(rows[0])) and len(rows) > 1 else 0
    return Table(tuple(tuple(Cell(text) for text in row) for row in rows), header_rows=header)


def _grids(horizontal: list[Rule], vertical: list[Rule]) -> list[tuple[list[Rule], list[Rule]]]:
    """Groups of rules that touch each other: each is one table's frame."""
    rules = [*horizontal, *vertical]
    parent = list(range(len(rules)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(rules):
        for j in range(i + 1, len(rules)):
            b = rules[j]
            if (
                a.x0 - _SNAP <= b.x1
                and b.x0 - _SNAP <= a.x1
                and a.y0 - _SNAP <= b.y1
                and b.y0 - _SNAP <= a.y1
            ):
                parent[find(i)] = find(j)
    groups: dict[int, tuple[list[Rule], list[Rule]]] = {}
    for i, rule in enumerate(rules):
        hs, vs = groups.setdefault(find(i), ([], []))
        (hs if rule.horizontal else vs).append(rule)
    return [g for g in groups.values() if len(g[0]) >= 2 and len(g[1]) >= 2]


def _snap(values: list[float]) -> list[float]:
    out: list[float] = []
    for value in sorted(values):
        if not out or value - out[-1] > _SNAP:
            out.append(value)
    return out


def _slot(value: float, edges: list[float]) -> int | None:
    for index in range(len(edges) - 1):
        if edges[index] <= value <= edges[index + 1]:
            return index
    return None


def _center_in(line: Line, box: tuple[float, float, float, float]) -> bool:
    cx, cy = (line.x0 + line.x1) / 2, (line.y0 + line.y1) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]
