"""Score an extractor's text against a document's ``Truth``.

- **body**: token-sequence similarity (difflib ratio over lower-cased word tokens) between the
  output and the body text. ``Label:`` prefixes that name one of the document's table columns
  are dropped from the output first, so a tool that labels each cell (ingestd) is neither
  rewarded nor punished for it against one that prints a grid (Markdown).
- **leakage**: the share of furniture strings (running headers, footers, site chrome, speaker
  notes) found in the output.
- **table_rows**: the share of table rows found on one line with their own values in order and
  the right labels — as ``label: value`` on the line, or as the column header of the Markdown or
  pipe table the line belongs to.
- **order**: the longest run of anchor sentences found in the right order, over all anchors.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Any

from .truth import Truth, TruthTable

_TOKEN = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _joined(words: list[str]) -> str:
    return " " + " ".join(words) + " "


def strip_labels(text: str, labels: set[str]) -> str:
    if not labels:
        return text
    pattern = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    return re.sub(rf"(?<![\w/])(?:{pattern}): ", "", text, flags=re.I)


def body_fidelity(text: str, truth: Truth) -> float:
    expected = tokens(truth.body_text())
    got = tokens(strip_labels(text, truth.labels()))
    if not expected and not got:
        return 1.0
    return SequenceMatcher(None, expected, got, autojunk=False).ratio()


def leakage(text: str, truth: Truth) -> float:
    if not truth.furniture:
        return 0.0
    haystack = _joined(tokens(text))
    found = sum(1 for item in truth.furniture if _joined(tokens(item)) in haystack)
    return found / len(truth.furniture)


def table_rows(text: str, truth: Truth) -> float | None:
    rows = [(table, row) for table in truth.tables for row in table.rows]
    if not rows:
        return None
    lines = text.splitlines()
    headers = _pipe_headers(lines)
    ok = sum(1 for table, row in rows if _row_found(row, lines, headers, table))
    return ok / len(rows)


def _pipe_headers(lines: list[str]) -> list[list[str] | None]:
    """For every line of a Markdown/pipe table, the cells of its table's header line."""
    out: list[list[str] | None] = []
    header: list[str] | None = None
    for line in lines:
        if line.strip().startswith("|"):
            if header is None:
                header = _cells(line)
            out.append(header)
        else:
            header = None
            out.append(None)
    return out


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _row_found(
    row: list[tuple[str | None, str]],
    lines: list[str],
    headers: list[list[str] | None],
    table: TruthTable,
) -> bool:
    values = [_joined(tokens(value)) for _label, value in row]
    for index, line in enumerate(lines):
        words = _joined(tokens(line))
        position = 0
        for value in values:
            found = words.find(value, position)
            if found < 0:
                break
            position = found + len(value) - 1
        else:
            if _labels_right(row, line, headers[index]):
                return True
    return False


def _labels_right(row: list[tuple[str | None, str]], line: str, header: list[str] | None) -> bool:
    labelled = [(label, value) for label, value in row if label]
    if not labelled:
        return True
    flat = _joined(tokens(line))
    if all(_joined(tokens(f"{label} {value}")) in flat for label, value in labelled):
        return True
    if header is None:
        return False
    cells = _cells(line)
    for label, value in labelled:
        wanted = _joined(tokens(value))
        column = next((i for i, c in enumerate(cells) if wanted in _joined(tokens(c))), None)
        if column is None or column >= len(header):
            return False
        last = label.split(" / ")[-1]
        if _joined(tokens(last)) not in _joined(tokens(header[column])):
            return False
    return True


def order(text: str, truth: Truth) -> float | None:
    if not truth.anchors:
        return None
    haystack = _joined(tokens(text))
    positions = []
    for anchor in truth.anchors:
        found = haystack.find(_joined(tokens(anchor)[:10]))
        positions.append(found)
    found_in_order = _longest_increasing([p for p in positions if p >= 0])
    return found_in_order / len(truth.anchors)


def _longest_increasing(values: list[int]) -> int:
    import bisect

    tails: list[int] = []
    for value in values:
        index = bisect.bisect_left(tails, value)
        if index == len(tails):
            tails.append(value)
        else:
            tails[index] = value
    return len(tails)


def score(text: str, truth: Truth) -> dict[str, Any]:
    return {
        "body": body_fidelity(text, truth),
        "leakage": leakage(text, truth),
        "table_rows": table_rows(text, truth),
        "order": order(text, truth),
    }


def summarise(texts: dict[str, str], truths: list[Truth]) -> dict[str, float | None]:
    """The mean of each score over ``truths`` (``texts`` by the file's path); ``None`` where no
    document has that score (no tables, no anchors)."""
    from statistics import mean

    scores = [score(texts.get(str(t.path), ""), t) for t in truths]
    out: dict[str, float | None] = {}
    for key in ("body", "leakage", "table_rows", "order"):
        values = [s[key] for s in scores if s[key] is not None]
        out[key] = mean(values) if values else None
    return out
