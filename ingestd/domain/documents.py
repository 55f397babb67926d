"""What extractors produce and what the chunker makes of it. Plain data, picklable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ElementKind = Literal[
    "title", "heading", "paragraph", "list_item", "table", "code", "text", "quote", "header"
]


@dataclass(frozen=True, slots=True)
class Element:
    """One structural piece of a document, in reading order.

    ``page`` is the 1-based page (PDF), slide (PPTX) or sheet index (XLSX); ``section`` the text of
    the nearest heading above it; ``meta`` anything else worth keeping (``sheet``, ``level``,
    ``rows``, ``subject``…). Must stay JSON-serialisable.
    """

    kind: ElementKind
    text: str
    page: int | None = None
    section: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of text sized for embedding, with its position in the extracted document.

    ``start``/``end`` are character offsets into the document text (elements joined by blank
    lines); ``metadata`` holds ``page``, ``section``, ``kinds``, ``element_start``/``element_end``.
    """

    index: int
    text: str
    start: int
    end: int
    metadata: dict[str, Any] = field(default_factory=dict)
