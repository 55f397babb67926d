"""HTML via BeautifulSoup + lxml: title, headings, paragraphs, lists, tables, code, quotes.

Navigation, scripts, styles and forms are dropped: they repeat on every page of a site and
drown the content in embeddings.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning
from bs4.element import NavigableString, PageElement, Tag

from ingestd.domain.documents import Element
from ingestd.pipeline.extractors._common import Builder, collapse_ws, render_table, translate_errors

_NOISE = frozenset(
    {
        "script", "style", "noscript", "template", "nav", "aside", "footer", "form", "button",
        "svg", "iframe", "object", "embed", "canvas", "select", "dialog", "head",
    }
)  # fmt: skip
_NOISE_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "menu", "dialog"})
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCKS = frozenset(
    {
        "p", "pre", "table", "ul", "ol", "dl", "blockquote", "div", "section", "article", "main",
        "header", "figure", "figcaption", "details", "summary", "address", "hr", "li", "dt", "dd",
        "body", "center", "fieldset", *_HEADINGS,
    }
)  # fmt: skip


def extract(path: Path) -> list[Element]:
    with translate_errors("the HTML document"):
        # Bytes, not text: BeautifulSoup honours <meta charset> and BOMs when it sees the bytes.
        return elements_from_html(path.read_bytes())


def parse(markup: str | bytes) -> BeautifulSoup:
    # XHTML served as .html triggers XMLParsedAsHTMLWarning and a short fragment that looks like
    # a URL triggers MarkupResemblesLocatorWarning; both are harmless here, and pytest (and the
    # worker) treat warnings as errors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        return BeautifulSoup(markup, "lxml")


def fragment_text(markup: str) -> str:
    """Readable text of an HTML snippet (e.g. raw HTML inside Markdown)."""
    soup = parse(markup)
    _drop_noise(soup)
    return soup.get_text("\n", strip=True)


def elements_from_html(markup: str | bytes) -> list[Element]:
    soup = parse(markup)
    out = Builder()
    title = soup.find("title")
    if title is not None:
        out.add("title", collapse_ws(title.get_text()))
    _drop_noise(soup)
    root = soup.body or soup
    _Walker(out).block(root)
    return out.elements


def _drop_noise(soup: BeautifulSoup) -> None:
    # extract(), not decompose(): extracting a tag whose ancestor is already gone is harmless,
    # so no (slow) "already decomposed?" check per tag is needed.
    for tag in soup.find_all(_is_noise):
        tag.extract()


def _is_noise(tag: Tag) -> bool:
    if tag.name in _NOISE or tag.has_attr("hidden"):
        return True
    role = tag.get("role")
    return isinstance(role, str) and role.lower() in _NOISE_ROLES


class _Walker:
    """Depth-first over block structure; loose inline text is gathered into ``text`` elements."""

    def __init__(self, out: Builder) -> None:
        self.out = out
        self.loose: list[str] = []

    def block(self, container: Tag) -> None:
        for child in container.children:
            self._node(child)
        self._flush()

    def _node(self, node: PageElement) -> None:
        if isinstance(node, NavigableString):
            if type(node) is NavigableString:  # not Comment, CData, Doctype...
                self.loose.append(str(node))
            return
        if not isinstance(node, Tag):
            return
        name = node.name.lower()
        if name == "br":
            self.loose.append("\n")
        elif name not in _BLOCKS and node.find(_BLOCKS) is None:
            self.loose.append(node.get_text())  # inline markup: part of the running text
        else:
            self._flush()
            self._block_tag(node, name)

    def _block_tag(self, node: Tag, name: str) -> None:
        if name in _HEADINGS:
            self.out.add(
                "heading", collapse_ws(node.get_text(" ")), meta={"level": _HEADINGS[name]}
            )
        elif name == "p":
            self.out.add("paragraph", _inline(node))
        elif name == "pre":
            self.out.add("code", node.get_text())
        elif name == "blockquote":
            self.out.add("quote", node.get_text("\n", strip=True))
        elif name == "table":
            self.out.extend(_table(node, self.out.section))
        elif name in ("ul", "ol"):
            self._list(node, depth=1)
        elif name in ("dt", "dd", "li"):
            self.out.add("list_item", _inline(node))
        elif name != "hr":
            self.block(node)  # div, section, article...: descend

    def _list(self, node: Tag, depth: int) -> None:
        for item in node.find_all("li", recursive=False):
            nested = item.find_all(["ul", "ol"], recursive=False)
            for sub in nested:
                sub.extract()
            meta = {"depth": depth} if depth > 1 else None
            self.out.add("list_item", item.get_text(" ", strip=True), meta=meta)
            for sub in nested:
                self._list(sub, depth + 1)

    def _flush(self) -> None:
        text = "".join(self.loose)
        self.loose = []
        if text.strip():
            self.out.add("text", "\n".join(collapse_ws(line) for line in text.splitlines()))


def _inline(node: Tag) -> str:
    # <br> is the only in-paragraph line break worth keeping; other whitespace collapses.
    for br in node.find_all("br"):
        br.replace_with("\n")
    return "\n".join(collapse_ws(line) for line in node.get_text().split("\n"))


def _table(node: Tag, section: str | None) -> list[Element]:
    rows: list[list[str]] = []
    header_cells = False
    for row in node.find_all("tr"):
        if row.find_parent("table") is not node:
            continue  # a nested table's row; the nested table is flattened into its cell text
        cells = row.find_all(["th", "td"], recursive=False)
        if not rows and cells and all(cell.name == "th" for cell in cells):
            header_cells = True
        rows.append([collapse_ws(cell.get_text(" ")) for cell in cells])
    caption = node.find("caption")
    meta = {"caption": collapse_ws(caption.get_text(" "))} if caption is not None else None
    # A <th> first row is a header for sure; otherwise guess as for any other table.
    has_header = True if header_cells else None
    return render_table(rows, section=section, meta=meta, has_header=has_header)
