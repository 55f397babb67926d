"""Markdown via markdown-it-py tokens: headings, paragraphs, list items, code, tables, quotes.

A block quote's paragraphs are ``paragraph`` elements with ``meta.quote``."""

from __future__ import annotations

import re
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ingestd.domain.documents import Element, ElementKind
from ingestd.pipeline.extractors._common import Builder, collapse_ws, simple_table, translate_errors
from ingestd.pipeline.extractors.html import fragment_text
from ingestd.pipeline.extractors.text import open_text

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)


def extract(path: Path) -> list[Element]:
    with translate_errors("the Markdown document"):
        # markdown-it needs the whole source (reference links may be defined at the end).
        with open_text(path) as handle:
            source = handle.read()
        return elements_from_markdown(source)


def elements_from_markdown(source: str) -> list[Element]:
    source = _FRONT_MATTER.sub("", source, count=1)
    tokens = MarkdownIt("commonmark").enable("table").parse(source)
    return _Walker(tokens).run()


class _Walker:
    """Walks the flat token stream, tracking list/quote nesting to pick each paragraph's kind."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.out = Builder()
        self.containers: list[str] = []  # "list_item" / "quote", innermost last

    def run(self) -> list[Element]:
        while self.pos < len(self.tokens):
            self._step(self.tokens[self.pos])
        return self.out.elements

    def _step(self, token: Token) -> None:
        kind = token.type
        if kind == "heading_open":
            level = int(token.tag[1:])
            self.out.add("heading", self._inline_after(), level=level)
            self.pos += 3  # open, inline, close
            return
        if kind == "paragraph_open":
            kind = self._paragraph_kind()
            self.out.add(
                kind,
                self._inline_after(),
                level=self._list_level() if kind == "list_item" else None,
                meta={"quote": True} if self._quoted() else None,
            )
            self.pos += 3
            return
        if kind in ("fence", "code_block"):
            lang = token.info.strip().split(" ")[0] if token.info else ""
            self.out.add("code", token.content, meta={"language": lang} if lang else None)
        elif kind == "html_block":
            self.out.add("paragraph", fragment_text(token.content))
        elif kind == "table_open":
            self._table()
            return
        elif kind == "list_item_open":
            self.containers.append("list_item")
        elif kind == "blockquote_open":
            self.containers.append("quote")
        elif kind in ("list_item_close", "blockquote_close"):
            self.containers.pop()
        self.pos += 1

    def _paragraph_kind(self) -> ElementKind:
        if self.containers and self.containers[-1] == "list_item":
            return "list_item"
        return "paragraph"

    def _quoted(self) -> bool:
        return bool(self.containers) and self.containers[-1] == "quote"

    def _list_level(self) -> int:
        return max(1, self.containers.count("list_item"))

    def _inline_after(self) -> str:
        following = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else None
        return inline_text(following) if following and following.type == "inline" else ""

    def _table(self) -> None:
        rows: list[list[str]] = []
        has_header = False
        while self.pos < len(self.tokens) and self.tokens[self.pos].type != "table_close":
            token = self.tokens[self.pos]
            if token.type == "tr_open":
                rows.append([])
            elif token.type == "th_open":
                has_header = True
            elif token.type == "inline" and rows:
                rows[-1].append(collapse_ws(inline_text(token)))
            self.pos += 1
        self.pos += 1
        self.out.extend(simple_table(rows, has_header=has_header))


def inline_text(token: Token) -> str:
    """Plain text of an inline token: markup dropped, link text and image alt kept."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):  # html_inline is markup noise
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content or str(child.attrs.get("alt", "")))
    return "".join(parts)
