"""Running headers and footers: lines in a page's top or bottom margin whose text (digits
aside) repeats on many pages, and bare page numbers."""

from __future__ import annotations

import re
from collections import Counter

from ingestd.pipeline.layout.segments import Line

_MARGIN = 0.1  # share of the page height at the top and at the bottom
_PAGE_NUMBER = re.compile(
    r"^(?:page\s*)?[-\u2013\u2014(]?\s*\d{1,4}\s*[-\u2013\u2014)]?(?:\s*(?:of|/)\s*\d{1,4})?$",
    re.I,
)
_DIGITS = re.compile(r"\d+")


def _key(line: Line, height: float) -> tuple[str, str] | None:
    centre = (line.y0 + line.y1) / 2
    if centre < height * _MARGIN:
        where = "top"
    elif centre > height * (1 - _MARGIN):
        where = "bottom"
    else:
        return None
    return where, _DIGITS.sub("#", " ".join(line.text.lower().split()))


def mark_furniture(pages: list[tuple[list[Line], float]]) -> list[str]:
    """Mark running headers and footers (``line.kind = "furniture"``) on every page; return
    their texts, each once."""
    counts: Counter[tuple[str, str]] = Counter()
    for lines, height in pages:
        counts.update({key for line in lines if (key := _key(line, height)) is not None})
    needed = max(2, (len(pages) + 1) // 2)
    found: list[str] = []
    for lines, height in pages:
        for line in lines:
            key = _key(line, height)
            if key is None:
                continue
            if counts[key] >= needed or _PAGE_NUMBER.match(line.text.strip()):
                line.kind = "furniture"
                if line.text not in found and len(found) < 200:
                    found.append(line.text)
    return found
