"""Structure-aware chunks (``options.chunking: "structure"``), in characters or in tokens.

The document is cut into **units** that are never split: a list item, a table row (its line of
``table_to_text``, labelled by its headers), a caption, a code block, a paragraph — or, for a
paragraph longer than a chunk, its sentences (then its words). Units are packed into chunks in
reading order:

- a section change (a heading, or an element under another section path) starts a new chunk,
  so a chunk never mixes two sections and its ``section`` is the one path it belongs to;
- a heading is glued to what follows it: it never ends a chunk, and a table's caption and header
  line stay with its first row;
- a chunk closes when the next unit would pass ``size``; the next chunk of the same section
  repeats the last whole units of the previous one, up to ``overlap`` (never across sections).

Every chunk is still a slice of the document text (elements joined by blank lines), so ``start``
and ``end`` point back into it, and its metadata is the size chunker's: ``element_ids``,
``page`` (``pages: [first, last]`` when it spans pages), ``section`` (the path as a list) and
``section_path`` (``"Results > North"``).

``unit="tokens"`` measures with the bundled WordPiece tokenizer (``pipeline/tokens``); the size
chunker in tokens (``chunking: "size"``) packs sentences and table lines the same way, without the
section rules.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Literal

from ingestd.domain.documents import Chunk, Element
from ingestd.pipeline.chunk import SEPARATOR, _metadata, _starts_section, _validate

__all__ = ["chunk_by_units"]

Unit = Literal["chars", "tokens"]
Counter = Callable[[Sequence[str]], list[int]]

_HEADING_KINDS = frozenset({"title", "heading"})
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+")
_SPACE = re.compile(r"\s+")


@dataclass(slots=True)
class _Piece:
    start: int  # offsets into the document text
    end: int
    element: int  # index of its element
    breaks: bool  # a new section starts here (structure mode)
    glue: bool  # never ends a chunk: a heading, a table's caption and header line


def _element_offsets(elements: Sequence[Element]) -> tuple[str, list[int]]:
    starts: list[int] = []
    offset = 0
    for i, element in enumerate(elements):
        if i:
            offset += len(SEPARATOR)
        starts.append(offset)
        offset += len(element.text)
    return SEPARATOR.join(e.text for e in elements), starts


def _spans(text: str, base: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """Non-blank pieces of ``text`` between matches of ``pattern``, as document offsets."""
    spans, last = [], 0
    for match in pattern.finditer(text):
        if text[last : match.start()].strip():
            spans.append((base + last, base + match.start()))
        last = match.end()
    if text[last:].strip():
        spans.append((base + last, base + len(text.rstrip())))
    return spans


def _table_head_lines(element: Element) -> int:
    """How many lines of a table's text come before its first row (caption, header line)."""
    table = element.table
    if table is None:
        return 0
    return (1 if table.caption else 0) + (1 if any(table.header_labels()) else 0)


def _pieces(elements: Sequence[Element], starts: list[int], structure: bool) -> list[_Piece]:
    pieces: list[_Piece] = []
    for i, element in enumerate(elements):
        text, base = element.text, starts[i]
        if not text.strip():
            continue
        breaks = structure and _starts_section(elements, i)
        if element.kind == "table" or (not structure and "\n" in text):
            lines = _spans(text, base, re.compile(r"\n"))
            head = _table_head_lines(element) if structure else 0
            for n, (s, e) in enumerate(lines):
                pieces.append(_Piece(s, e, i, breaks and n == 0, structure and n < head))
            continue
        glue = structure and element.kind in _HEADING_KINDS
        if structure and element.kind in ("list_item", "caption", "code", "footnote"):
            spans = [(base, base + len(text.rstrip()))]
        else:
            spans = (
                _spans(text, base, _SENTENCE_END) if not structure else [(base, base + len(text))]
            )
        for n, (s, e) in enumerate(spans):
            pieces.append(_Piece(s, e, i, breaks and n == 0, glue))
    return pieces


def _fit(pieces: list[_Piece], text: str, size: int, measure: Counter) -> list[_Piece]:
    """Pieces over ``size`` split at sentences, then words, then hard: every piece fits."""
    counts = measure([text[p.start : p.end] for p in pieces])
    out: list[_Piece] = []
    for piece, count in zip(pieces, counts, strict=True):
        if count <= size:
            out.append(piece)
            continue
        for pattern in (_SENTENCE_END, _SPACE):
            spans = _spans(text[piece.start : piece.end], piece.start, pattern)
            if len(spans) > 1:
                parts = [_Piece(s, e, piece.element, False, False) for s, e in spans]
                parts[0].breaks, parts[0].glue = piece.breaks, piece.glue
                out.extend(_fit(parts, text, size, measure))
                break
        else:  # one word longer than a chunk: cut it (a token is at least one character)
            for s in range(piece.start, piece.end, size):
                out.append(_Piece(s, min(s + size, piece.end), piece.element, False, False))
            out[-(len(range(piece.start, piece.end, size)))].breaks = piece.breaks
    return out


def chunk_by_units(
    elements: Sequence[Element],
    *,
    size: int,
    overlap: int,
    unit: Unit = "chars",
    structure: bool = True,
    counter: Counter | None = None,
) -> list[Chunk]:
    """Chunks of at most ``size`` characters or tokens (see the module's docstring)."""
    _validate(size, overlap)
    if not elements:
        return []
    text, starts = _element_offsets(elements)
    measure: Counter = (lambda texts: [len(t) for t in texts]) if unit == "chars" else counter  # type: ignore[assignment]
    if measure is None:
        from ingestd.pipeline.tokens import counter as token_counter

        measure = token_counter()
    pieces = _fit(_pieces(elements, starts, structure), text, size, measure)
    if not pieces:
        return []
    counts = measure([text[p.start : p.end] for p in pieces])
    prefix = [0, *accumulate(counts)]

    def cost(first: int, last: int) -> int:
        if unit == "chars":
            return pieces[last].end - pieces[first].start
        return prefix[last + 1] - prefix[first]

    ranges: list[tuple[int, int]] = []
    first = 0
    has_body = not pieces[0].glue  # the range [first, k) holds more than glue
    for k in range(1, len(pieces)):
        piece = pieces[k]
        if has_body and (piece.breaks or cost(first, k) > size):
            last = k - 1
            while last > first and pieces[last].glue:  # a heading never ends a chunk
                last -= 1
            ranges.append((first, last))
            first = _carry(pieces, last + 1, k, first, overlap, cost, size, same=not piece.breaks)
            has_body = any(not p.glue for p in pieces[first:k])  # the carried pieces: a few
        has_body = has_body or not piece.glue
    ranges.append((first, len(pieces) - 1))
    return _chunks(elements, text, starts, pieces, ranges)


def _carry(
    pieces: list[_Piece],
    begin: int,
    k: int,
    previous_first: int,
    overlap: int,
    cost: Callable[[int, int], int],
    size: int,
    *,
    same: bool,
) -> int:
    """Where the next chunk starts: at ``begin`` (the glue carried over, or the new piece), or
    earlier by whole pieces of the previous chunk up to ``overlap`` in the same section."""
    if not same or overlap == 0 or begin < k:
        return begin
    start = begin
    while (
        start - 1 > previous_first
        and not pieces[start - 1].glue
        and cost(start - 1, begin - 1) <= overlap
        and cost(start - 1, k) <= size
    ):
        start -= 1
    return start


def _chunks(
    elements: Sequence[Element],
    text: str,
    starts: list[int],
    pieces: list[_Piece],
    ranges: list[tuple[int, int]],
) -> list[Chunk]:
    blank = [not e.text.strip() for e in elements]
    chunks: list[Chunk] = []
    for first, last in ranges:
        start, end = pieces[first].start, pieces[last].end
        head = bisect_right(starts, start) - 1
        tail = bisect_right(starts, end - 1) - 1
        meta = _metadata(elements, blank, head, tail)
        meta["section_path"] = " > ".join(meta["section"])
        chunks.append(Chunk(len(chunks), text[start:end], start, end, meta))
    return chunks
