"""Split a document's elements into overlapping, size-bounded chunks for embedding.

The document text is the elements' texts joined by ``"\\n\\n"``; every chunk is a slice of that
one string (``chunk.text == doc_text[chunk.start:chunk.end]``), so its offsets can be trusted to
point back into the extracted document. Sizes are in characters, not tokens.

Cut points are chosen by preference, each only when it leaves the chunk at least half full:

1. a section change (a heading, or an element whose ``section`` differs) once the chunk is
   already reasonably full (``_SECTION_FILL``) — even if more would fit;
2. the last element boundary that fits;
3. the last paragraph break (blank line), then the last line break (table rows are lines);
4. the last sentence end (``.``, ``!``, ``?`` followed by a space; CJK full stop and full-width
   marks as they are);
5. the last space;
6. otherwise a hard cut at ``size``.

Each chunk then overlaps the next by at most ``overlap`` characters, the overlap starting at a
line/sentence start or a word start when one lies near, and never reaching back into a previous
section. The work is linear: everything is offsets into the joined string plus ``str.rfind`` /
``bisect`` over bounded windows, never string concatenation.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ingestd.domain.documents import Chunk, Element

__all__ = ["chunk_elements"]

SEPARATOR = "\n\n"
"""What joins element texts into the document text."""

_HEADING_KINDS = frozenset({"title", "heading"})
_SECTION_FILL = 0.3
"""A chunk at least this full (fraction of ``size``) is closed before a section change."""
_MIN_FILL = 0.5
"""Boundaries other than section changes are only taken past this fraction of ``size``."""

_SPACED_SENTENCE_ENDS = (". ", "! ", "? ")
_BARE_SENTENCE_ENDS = ("\u3002", "\uff01", "\uff1f")  # CJK: no space follows
_OVERLAP_START = re.compile(r"\n|[.!?] |[\u3002\uff01\uff1f]")
_NON_SPACE = re.compile(r"\S")
_RESERVED_META = frozenset(
    {"page", "pages", "section", "kinds", "element_ids", "element_start", "element_end"}
)
_SKIPPED_META = frozenset({"level"})  # describes a heading, not the chunk


@dataclass(slots=True)
class _Doc:
    """The joined text and per-element offsets the cut search works on."""

    text: str
    starts: list[int]  # offset where element i's text begins
    ends: list[int]  # offset where element i's text ends
    section_first: list[int]  # offset of the first element of element i's section
    break_cuts: list[int]  # cut offsets (end of previous element) before each section change
    blank: list[bool]  # whether element i's text is empty or whitespace only


def _validate(size: int, overlap: int) -> None:
    """Reject sizes that cannot make progress (``overlap >= size``) or make no sense."""
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"overlap must satisfy 0 <= overlap < size, got {overlap} (size {size})")


def _starts_section(elements: Sequence[Element], i: int) -> bool:
    """Whether element ``i`` opens a new section (a heading, or a changed ``section``).

    A section change right after a heading is the heading's own content, not a new section.
    """
    if i == 0:
        return False
    element, previous = elements[i], elements[i - 1]
    if element.kind in _HEADING_KINDS:
        return True
    return element.section != previous.section and previous.kind not in _HEADING_KINDS


def _prepare(elements: Sequence[Element]) -> _Doc:
    """Join the texts once and record where every element and section begins and ends."""
    starts: list[int] = []
    ends: list[int] = []
    section_first: list[int] = []
    break_cuts: list[int] = []
    offset = 0
    current_section_start = 0
    for i, element in enumerate(elements):
        if i:
            offset += len(SEPARATOR)
        if _starts_section(elements, i):
            current_section_start = offset
            break_cuts.append(ends[-1])
        starts.append(offset)
        offset += len(element.text)
        ends.append(offset)
        section_first.append(current_section_start)
    text = SEPARATOR.join(element.text for element in elements)
    blank = [_NON_SPACE.search(element.text) is None for element in elements]
    return _Doc(text, starts, ends, section_first, break_cuts, blank)


def _next_content(text: str, pos: int) -> int:
    """Offset of the first non-whitespace character at or after ``pos`` (``-1`` if none)."""
    match = _NON_SPACE.search(text, pos)
    return match.start() if match else -1


def _rstrip_end(text: str, start: int, end: int) -> int:
    """Move ``end`` back over trailing whitespace (never past ``start``)."""
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _section_cut(doc: _Doc, lower: int, limit: int) -> int:
    """The earliest cut before a section change within ``[lower, limit]``, or ``-1``."""
    k = bisect_left(doc.break_cuts, lower)
    if k < len(doc.break_cuts) and doc.break_cuts[k] <= limit:
        return doc.break_cuts[k]
    return -1


def _element_cut(doc: _Doc, lower: int, limit: int) -> int:
    """The latest element end within ``[lower, limit]``, or ``-1``."""
    k = bisect_right(doc.ends, limit) - 1
    if k >= 0 and doc.ends[k] >= lower:
        return doc.ends[k]
    return -1


def _text_cut(text: str, lower: int, limit: int) -> int:
    """The best in-text cut within ``[lower, limit]``: paragraph, line, sentence, word, or hard.

    A separator is searched so that it may begin exactly at ``limit`` (the cut stays ≤ limit).
    """
    n = len(text)
    for separator in (SEPARATOR, "\n"):
        found = text.rfind(separator, lower, min(limit + len(separator), n))
        if found >= 0:
            return found
    best = -1
    for ending in _SPACED_SENTENCE_ENDS:  # keep the punctuation, cut before the space
        keep = len(ending) - 1
        best = max(best, text.rfind(ending, lower - keep, min(limit - keep + len(ending), n)))
    for ending in _BARE_SENTENCE_ENDS:
        best = max(best, text.rfind(ending, lower - 1, limit))
    if best >= 0:
        return best + 1
    found = max(text.rfind(" ", lower, min(limit + 1, n)), text.rfind("\t", lower, limit + 1))
    if found >= 0:
        return found
    return limit


def _find_cut(doc: _Doc, start: int, floor: int, size: int) -> int:
    """Where the chunk starting at ``start`` should end (exclusive, before trailing whitespace).

    ``floor`` is the smallest acceptable cut: chunks must always reach past earlier content.
    """
    n = len(doc.text)
    limit = start + size
    if limit > n:
        limit = n
    lower = start + int(size * _SECTION_FILL)
    section = _section_cut(doc, lower if lower > floor else floor, limit)
    if section >= 0:
        return section
    if limit == n:
        return n
    lower = start + (int(size * _MIN_FILL) or 1)
    if lower < floor:
        lower = floor
    if lower > limit:
        return limit
    element = _element_cut(doc, lower, limit)
    if element >= 0:
        return element
    return _text_cut(doc.text, lower, limit)


def _overlap_start(doc: _Doc, start: int, end: int, following: int, overlap: int) -> int:
    """Where the chunk after ``[start, end)`` begins, given its next new content at ``following``.

    Reaches back at most ``overlap`` characters, not past the start of the section ``following``
    belongs to, preferring a line or sentence start, then a word start. Returns ``following``
    when no useful overlap is possible.
    """
    if overlap == 0:
        return following
    section_start = doc.section_first[bisect_right(doc.starts, following) - 1]
    target = end - overlap
    if target < section_start:
        target = section_start
    if target <= start:
        target = start + 1
    if target >= end:
        return following
    text = doc.text
    window_end = target + overlap // 2
    sentence = _OVERLAP_START.search(text, target - 1, window_end if window_end < end else end)
    if sentence is not None:
        best = sentence.end()
    else:
        space = text.find(" ", target - 1, end)
        best = space + 1 if space >= 0 else target
    content = _NON_SPACE.search(text, best)
    return content.start() if content is not None and content.start() < end else following


def _passthrough(meta: dict[str, Any]) -> dict[str, Any]:
    """The element ``meta`` entries worth copying onto a chunk: scalars, minus reserved keys."""
    return {
        key: value
        for key, value in meta.items()
        if key not in _RESERVED_META
        and key not in _SKIPPED_META
        and isinstance(value, str | int | float | bool)
    }


def _metadata(
    elements: Sequence[Element], blank: list[bool], first: int, last: int
) -> dict[str, Any]:
    """Chunk metadata from elements ``first..last`` (inclusive) that it draws text from."""
    head = elements[first]
    meta = _passthrough(head.meta) if head.meta else {}
    if first == last:  # the common case, kept cheap
        meta["page"] = head.page
        meta["section"] = list(head.section)
        meta["kinds"] = [head.kind]
        meta["element_ids"] = [head.id] if head.id else []
    else:
        first_page = last_page = None
        body: Element | None = None
        kinds: set[str] = set()
        ids: list[str] = []
        for i in range(first, last + 1):
            if blank[i]:
                continue
            element = elements[i]
            kinds.add(element.kind)
            if element.id:
                ids.append(element.id)
            if element.page is not None:
                last_page = element.page
                if first_page is None:
                    first_page = element.page
            if body is None and element.kind not in _HEADING_KINDS:
                body = element
        meta["page"] = first_page
        if first_page != last_page:
            meta["pages"] = [first_page, last_page]
        meta["section"] = list((body or head).section)
        meta["kinds"] = sorted(kinds)
        meta["element_ids"] = ids
    meta["element_start"] = first
    meta["element_end"] = last + 1
    return meta


def chunk_elements(
    elements: Sequence[Element], *, size: int = 1000, overlap: int = 200
) -> list[Chunk]:
    """Cut the document made of ``elements`` into chunks of at most ``size`` characters.

    Consecutive chunks overlap by at most ``overlap`` characters. Every chunk is a non-blank
    slice of the joined document text without leading or trailing whitespace; together they
    cover all of its non-whitespace text, in order. ``metadata`` holds ``page`` (of the first
    element; ``pages: [first, last]`` when the chunk spans pages), ``section`` (the section path
    of its first body element, a list of heading texts), ``kinds`` (sorted unique element
    kinds), ``element_ids`` (the ids of the non-blank elements it draws text from),
    ``element_start``/``element_end`` (so that ``elements[element_start:element_end]`` are the
    elements it draws from) and the first element's scalar ``meta`` such as ``sheet``.

    Raises ``ValueError`` unless ``size >= 1`` and ``0 <= overlap < size``.
    """
    _validate(size, overlap)
    if not elements:
        return []
    doc = _prepare(elements)
    text, starts = doc.text, doc.starts
    chunks: list[Chunk] = []
    start = _next_content(text, 0)
    floor = start + 1
    while start >= 0:
        cut = _find_cut(doc, start, floor, size)
        end = _rstrip_end(text, start, cut) if text[cut - 1].isspace() else cut
        first = bisect_right(starts, start) - 1
        last = bisect_right(starts, end - 1) - 1
        chunks.append(
            Chunk(
                len(chunks),
                text[start:end],
                start,
                end,
                _metadata(elements, doc.blank, first, last),
            )
        )
        following = _next_content(text, cut)
        if following < 0:
            break
        begin = _overlap_start(doc, start, end, following, overlap)
        if following + 1 > begin + size:  # a long blank gap: overlap cannot reach new text
            begin = following
        start, floor = begin, following + 1
    return chunks
