"""A document as a reader gets it: Markdown for people and LLMs, plain text for everything else.

Both are derived from the stored ``Document`` (never from the file again), element by element in
reading order; page furniture (running headers, footers, site chrome) is in the document's
``metadata`` and never in the body, so it is never rendered.

Markdown (CommonMark with GitHub tables):

- ``title`` → ``# …``; a ``heading`` of level *n* → *n* + 1 ``#`` when the document has a
  title (the title is the one ``#``), else *n*; six at most;
- ``list_item`` → ``- …``, indented two spaces per level below the first; consecutive items form
  one list;
- ``table`` → a GitHub table (``table_to_markdown``: spans laid out, ``|`` escaped), its caption
  above in italics;
- ``caption`` → ``*…*``; ``code`` → a fenced block; ``image`` → ``*[Image: …]*``;
- ``footnote`` → ``> **Footnote:** …``; ``notes`` (speaker notes) → ``> **Notes:** …``;
- ``paragraph`` → its text, with a leading character that Markdown would read as syntax
  (``#``, ``>``, ``-``, ``1.``…) escaped.

>>> from ingestd.domain.documents import Element, assemble
>>> doc = assemble([Element("heading", "Results", level=1), Element("paragraph", "North grew."),
...                 Element("list_item", "fast", level=1), Element("list_item", "cheap", level=2)])
>>> print(to_markdown(doc))
# Results
<BLANKLINE>
North grew.
<BLANKLINE>
- fast
  - cheap
<BLANKLINE>
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ingestd.domain.documents import Document, Element, table_to_markdown

__all__ = ["FORMATS", "MEDIA_TYPES", "to_markdown", "to_text"]

FORMATS = ("json", "markdown", "text")
MEDIA_TYPES = {
    "json": "application/json",
    "markdown": "text/markdown; charset=utf-8",
    "text": "text/plain; charset=utf-8",
}

_LEADING_SYNTAX = re.compile(r"^(\s*)([#>+*=-]|\d+[.)]|`{3,}|~{3,})")
_BACKTICKS = re.compile(r"`+")


def to_markdown(document: Document) -> str:
    """The document as Markdown (see the module's docstring for each kind); ends in a newline."""
    has_title = any(e.kind == "title" for e in document.elements)
    blocks: list[str] = []
    previous: Element | None = None
    for element in document.elements:
        block = _markdown_block(element, has_title)
        if not block:
            continue
        if previous is not None and previous.kind == "list_item" and element.kind == "list_item":
            blocks[-1] += "\n" + block  # one list, not a list per item
        else:
            blocks.append(block)
        previous = element
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _markdown_block(element: Element, has_title: bool) -> str:
    text = element.text.strip()
    kind = element.kind
    if kind == "table" and element.table is not None:
        table = table_to_markdown(element.table, with_caption=False)
        caption = element.table.caption
        return f"*{_inline(caption)}*\n\n{table}" if caption else table
    if not text:
        return ""
    if kind == "title":
        return "# " + _inline(text)
    if kind == "heading":
        level = max(1, element.level or 1) + (1 if has_title else 0)
        return "#" * min(6, level) + " " + _inline(text)
    if kind == "list_item":
        indent = "  " * (max(1, element.level or 1) - 1)
        return indent + "- " + _inline(text)
    if kind == "code":
        fence = "`" * max(3, 1 + max((len(m) for m in _BACKTICKS.findall(text)), default=0))
        return f"{fence}\n{element.text.strip(chr(10))}\n{fence}"
    if kind == "caption":
        return f"*{_inline(text)}*"
    if kind == "image":
        return f"*[Image: {_inline(text)}]*"
    if kind == "footnote":
        return _quoted("Footnote", text)
    if kind == "notes":
        return _quoted("Notes", text)
    return "\n".join(_escape_line(line) for line in text.splitlines())


def _inline(text: str) -> str:
    """One line: whitespace runs (line breaks too) collapsed."""
    return " ".join(text.split())


def _escape_line(line: str) -> str:
    return _LEADING_SYNTAX.sub(lambda m: m.group(1) + "\\" + m.group(2), line, count=1)


def _quoted(label: str, text: str) -> str:
    lines = text.splitlines()
    first = f"> **{label}:** {lines[0].strip()}"
    return "\n".join([first, *(f"> {line.strip()}" if line.strip() else ">" for line in lines[1:])])


def to_text(document: Document) -> str:
    """Plain text: each element's text in reading order, separated by blank lines; list items
    as ``- …`` (indented per level), tables as one labelled line per row (the chunk text),
    footnotes and notes introduced by ``Footnote:`` / ``Notes:``. Ends in a newline."""
    blocks = list(_text_blocks(document))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _text_blocks(document: Document) -> Iterator[str]:
    pending_list: list[str] = []
    for element in document.elements:
        text = element.text.strip()
        if element.kind == "list_item" and text:
            indent = "  " * (max(1, element.level or 1) - 1)
            pending_list.append(f"{indent}- {_inline(text)}")
            continue
        if pending_list:
            yield "\n".join(pending_list)
            pending_list = []
        if not text:
            continue
        if element.kind == "footnote":
            yield f"Footnote: {text}"
        elif element.kind == "notes":
            yield f"Notes: {text}"
        else:
            yield text
    if pending_list:
        yield "\n".join(pending_list)
