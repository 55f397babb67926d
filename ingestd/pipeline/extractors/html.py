"""HTML via lxml: the page's main content as headings, paragraphs, lists, tables, code, captions.

Site chrome is dropped by structure before anything is read: ``<nav>``, ``<aside>``, the
site-level ``<header>`` and ``<footer>``, ARIA landmarks that are not content (``banner``,
``navigation``, ``contentinfo``, ``complementary``, ``search``, ``dialog``…), blocks whose class
or id names them as chrome (cookie and consent banners, "related", share and newsletter boxes,
breadcrumbs, sidebars…), hidden elements, scripts and styles, and lists that are nothing but
short links. When the page marks its content (``<main>``, ``role="main"``, a single
``<article>``) only that is read. ``<title>`` goes to ``metadata.title`` without the site's
name; the dropped chrome's first lines are kept in ``metadata.furniture``.

Tables keep their structure (``colspan``, ``rowspan``, ``<thead>``/``<th>`` header rows,
``<caption>``); a first row that is one cell across the whole table is its title, not a header.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxml.html
from bs4.dammit import UnicodeDammit
from lxml import etree

from ingestd.domain.documents import Cell, Document, Element
from ingestd.pipeline.extractors._common import (
    Builder,
    collapse_ws,
    finish_table,
    table_element,
    translate_errors,
)

_DROP = frozenset(
    {
        "script", "style", "noscript", "template", "nav", "aside", "button", "svg", "iframe",
        "object", "embed", "canvas", "select", "dialog", "head", "input", "textarea", "menu",
        "link", "meta", "map", "audio", "video", "picture", "math",
    }
)  # fmt: skip
_CHROME_ROLES = frozenset(
    {
        "navigation", "banner", "contentinfo", "search", "menu", "menubar", "dialog",
        "alertdialog", "complementary", "toolbar", "tablist", "alert",
    }
)  # fmt: skip
_SECTIONING = frozenset({"article", "main", "section"})
# Class/id words that mark chrome whatever else the element is called.
_STRONG_CHROME = re.compile(
    r"(?<![a-z])(cookie|consent|gdpr|ccpa|newsletter|subscribe|signup|sign-up|related|"
    r"recommend|share|sharing|social|breadcrumb|advert|ads?(?![a-z])|ad-|sponsor|promo|popup|"
    r"modal|skip-?link|paywall|disqus|outbrain|taboola|read-?more|more-?stories|trending)"
)
# Words that mark chrome unless the element also says it is content ("main-header" is chrome,
# "article-header" is not).
_WEAK_CHROME = re.compile(
    r"(?<![a-z])(header|footer|masthead|nav|navbar|menu|sidebar|side-?bar|banner|widget|"
    r"comments?|pagination|pager|toolbar|topbar|site-?info|copyright|legal|utility|tags)"
)
_CONTENT = re.compile(r"(?<![a-z])(article|content|main|post|entry|story|body|text|prose)")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden")
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCKS = frozenset(
    {
        "p", "pre", "table", "ul", "ol", "dl", "blockquote", "div", "section", "article", "main",
        "header", "footer", "figure", "figcaption", "details", "summary", "address", "hr", "li",
        "dt", "dd", "body", "center", "fieldset", "form", "caption", *_HEADINGS,
    }
)  # fmt: skip
_TITLE_SEPARATORS = re.compile(r"\s+[|\-\u2013\u2014\u00b7:\u00bb\u2022]\s+")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_MAX_COLSPAN = 1000
_FURNITURE_CHARS = 200


def extract(path: Path) -> Document:
    with translate_errors("the HTML document"):
        return elements_from_html(path.read_bytes())


def parse(markup: str | bytes) -> Any:
    """An lxml tree of the markup. Bytes are decoded by their BOM, ``<meta charset>`` or a
    guess, so a Latin-1 page reads right."""
    if isinstance(markup, bytes):
        markup = UnicodeDammit(markup, is_html=True).unicode_markup or ""
    # lxml refuses a Unicode string that declares an encoding (XHTML's <?xml ...?>).
    markup = _XML_DECLARATION.sub("", markup, count=1)
    if not markup.strip():
        return None
    try:
        return lxml.html.document_fromstring(markup)
    except etree.ParserError:  # "Document is empty": only comments or a doctype
        return None


def fragment_text(markup: str) -> str:
    """Readable text of an HTML snippet (e.g. raw HTML inside Markdown)."""
    root = parse(f"<div>{markup}</div>")
    if root is None:
        return ""
    _drop_chrome(root, [])
    _mark_breaks(root)
    return "\n".join(
        line for line in (collapse_ws(t) for t in root.text_content().splitlines()) if line
    )


def elements_from_html(markup: str | bytes) -> Document:
    root = parse(markup)
    if root is None:
        return Document(elements=[], metadata={"title": None, "furniture": []})
    title_node = root.find(".//title")
    raw_title = collapse_ws(title_node.text_content()) if title_node is not None else ""
    furniture: list[str] = []
    _drop_chrome(root, furniture)
    _mark_breaks(root)
    content = _main_content(root)
    out = Builder()
    _Walker(out).block(content)
    first_heading = next((e.text for e in out.elements if e.kind == "heading"), None)
    return Document(
        elements=out.elements,
        metadata={"title": page_title(raw_title, first_heading), "furniture": furniture},
    )


def page_title(title: str, heading: str | None = None) -> str | None:
    """The page's ``<title>`` without the site's name: ``"Results | Acme"`` → ``"Results"``.

    When the page's first heading is one of the title's parts, that part wins; otherwise a short
    last (or first) part is taken to be the site's name.
    """
    if not title:
        return None
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    if heading:
        wanted = collapse_ws(heading).lower()
        for part in parts:
            if part.lower() == wanted:
                return part
    last, first = parts[-1], parts[0]
    separator = _TITLE_SEPARATORS.findall(title)
    if len(last.split()) <= len(first.split()):
        return "".join(p + s for p, s in zip(parts[:-1], [*separator[:-1], ""], strict=True))
    return "".join(p + s for p, s in zip(parts[1:], [*separator[1:], ""], strict=True))


# -- chrome ------------------------------------------------------------------------------------


def _drop_chrome(root: Any, furniture: list[str]) -> None:
    """Remove everything that is not the page's content, noting what was visible."""
    doomed: list[Any] = []
    for node in root.iter():
        if not isinstance(node.tag, str):
            if isinstance(node, etree._Comment | etree._ProcessingInstruction):
                doomed.append(node)
            continue
        why = _chrome(node)
        if why is not None:
            doomed.append(node)
    for node in doomed:
        if _is_attached(node, root):
            if isinstance(node.tag, str) and node.tag.lower() not in ("script", "style", "head"):
                _note_furniture(node, furniture)
            _remove(node)
    for node in list(root.iter("ul", "ol", "div", "section", "p")):
        if _is_attached(node, root) and _mostly_links(node):
            _note_furniture(node, furniture)
            _remove(node)


def _chrome(node: Any) -> str | None:
    tag: str = node.tag.lower()
    if tag in _DROP:
        return tag
    if tag == "form" and next(node.iter("p", "table", "article", *_HEADINGS), None) is None:
        return "form"  # a search box or sign-up form; ASP.NET pages wrap everything in one
    if tag in ("header", "footer") and not _inside_sectioning(node):
        return tag
    if tag == "footer":
        return tag
    attrib = node.attrib
    if "hidden" in attrib or attrib.get("aria-hidden") == "true":
        return "hidden"
    style = attrib.get("style")
    if style and _HIDDEN_STYLE.search(style.lower()):
        return "hidden"
    role = (attrib.get("role") or "").lower()
    if role in _CHROME_ROLES:
        return role
    if tag in ("body", "html", "main", "article", "table", "tr", "td", "th"):
        return None
    names = f"{attrib.get('class', '')} {attrib.get('id', '')}".lower()
    if not names.strip():
        return None
    if _STRONG_CHROME.search(names):
        return "class"
    if _WEAK_CHROME.search(names) and not _CONTENT.search(names):
        return "class"
    return None


def _inside_sectioning(node: Any) -> bool:
    return any(
        isinstance(a.tag, str) and a.tag.lower() in ("article", "main")
        for a in node.iterancestors()
    )


def _mostly_links(node: Any) -> bool:
    """A block of three or more short links and little else: a "related" or tag list."""
    links = [collapse_ws(a.text_content()) for a in node.iter("a")]
    links = [link for link in links if link]
    if len(links) < 3 or sum(len(link) for link in links) / len(links) > 80:
        return False
    text = collapse_ws(node.text_content())
    return sum(len(link) for link in links) >= 0.8 * len(text)


def _note_furniture(node: Any, furniture: list[str]) -> None:
    text = collapse_ws(node.text_content())
    if text and len(furniture) < 50:
        furniture.append(text[:_FURNITURE_CHARS])


def _is_attached(node: Any, root: Any) -> bool:
    parent = node.getparent()
    while parent is not None:
        if parent is root:
            return True
        parent = parent.getparent()
    return node is root


def _remove(node: Any) -> None:
    """Remove ``node`` but keep its tail text (it belongs to the parent)."""
    parent = node.getparent()
    if parent is None:
        return
    tail = node.tail
    if tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(node)


def _mark_breaks(root: Any) -> None:
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")


def _main_content(root: Any) -> Any:
    """``<main>`` (or ``role="main"``), else a single ``<article>``, else the body."""
    for node in root.iter("main"):
        return node
    for node in root.iter():
        if isinstance(node.tag, str) and (node.get("role") or "").lower() == "main":
            return node
    articles = list(root.iter("article"))
    if len(articles) == 1:
        return articles[0]
    body = root.find("body")
    return body if body is not None else root


# -- content -----------------------------------------------------------------------------------


class _Walker:
    """Depth-first over block structure; loose inline text is gathered into paragraphs."""

    def __init__(self, out: Builder) -> None:
        self.out = out
        self.loose: list[str] = []
        self.quote = 0

    def block(self, container: Any) -> None:
        if container.text:
            self.loose.append(container.text)
        for child in container:
            self._node(child)
            if child.tail:
                self.loose.append(child.tail)
        self._flush()

    def _node(self, node: Any) -> None:
        if not isinstance(node.tag, str):
            return
        name = node.tag.lower()
        if name not in _BLOCKS and next(node.iter(*_BLOCKS), None) is None:
            self.loose.append(node.text_content())  # inline markup: part of the running text
            return
        self._flush()
        self._block_tag(node, name)

    def _block_tag(self, node: Any, name: str) -> None:
        if name in _HEADINGS:
            self.out.add("heading", collapse_ws(node.text_content()), level=_HEADINGS[name])
        elif name == "p":
            self._paragraph("paragraph", node)
        elif name == "pre":
            self.out.add("code", node.text_content())
        elif name == "blockquote":
            self.quote += 1
            self.block(node)
            self.quote -= 1
        elif name == "table":
            element = _table(node)
            if element is not None:
                self.out.elements.append(element)
        elif name in ("ul", "ol"):
            self._list(node, level=1)
        elif name in ("dt", "li"):
            self._paragraph("list_item", node, level=1)
        elif name == "dd":
            self._paragraph("list_item", node, level=2)
        elif name in ("figcaption", "caption"):
            self._paragraph("caption", node)
        elif name != "hr":
            self.block(node)  # div, section, article, figure…: descend

    def _paragraph(self, kind: Any, node: Any, level: int | None = None) -> None:
        meta = {"quote": True} if self.quote and kind == "paragraph" else None
        self.out.add(kind, _inline(node.text_content()), level=level, meta=meta)

    def _list(self, node: Any, level: int) -> None:
        for item in node:
            if not isinstance(item.tag, str) or item.tag.lower() != "li":
                continue
            nested = [c for c in item if isinstance(c.tag, str) and c.tag.lower() in ("ul", "ol")]
            for sub in nested:
                _remove(sub)
            self.out.add("list_item", collapse_ws(item.text_content()), level=level)
            for sub in nested:
                self._list(sub, level + 1)

    def _flush(self) -> None:
        text = "".join(self.loose)
        self.loose = []
        if text.strip():
            meta = {"quote": True} if self.quote else None
            self.out.add("paragraph", _inline(text), meta=meta)


def _inline(text: str) -> str:
    # <br> (marked as "\n") is the only in-paragraph line break worth keeping.
    return "\n".join(line for line in (collapse_ws(part) for part in text.split("\n")) if line)


# -- tables ------------------------------------------------------------------------------------


def _table(node: Any) -> Element | None:
    rows: list[tuple[Cell, ...]] = []
    heads: list[bool] = []
    for tr in _own_rows(node):
        row: list[Cell] = []
        all_th = True
        for cell in tr:
            if not isinstance(cell.tag, str) or cell.tag.lower() not in ("td", "th"):
                continue
            all_th = all_th and cell.tag.lower() == "th"
            row.append(
                Cell(
                    collapse_ws(cell.text_content()),
                    colspan=_span(cell.get("colspan"), _MAX_COLSPAN),
                    rowspan=_span(cell.get("rowspan"), 65_534),
                )
            )
        if row:
            in_head = any(
                isinstance(a.tag, str) and a.tag.lower() == "thead" for a in tr.iterancestors()
            )
            rows.append(tuple(row))
            heads.append(in_head or all_th)
    rows = _clamp_rowspans(rows)
    caption_node = next((c for c in node if isinstance(c.tag, str) and c.tag == "caption"), None)
    caption = collapse_ws(caption_node.text_content()) if caption_node is not None else None
    header_rows: int | None = 0
    while header_rows is not None and header_rows < len(rows) and heads[header_rows]:
        header_rows += 1
    if not header_rows:
        header_rows = None  # the markup doesn't say: guess from the first row
    table = finish_table(rows, header_rows=header_rows, caption=caption or None)
    if not table.rows and not table.caption:
        return None
    return table_element(table)


def _own_rows(table: Any) -> Iterator[Any]:
    """The table's rows, not those of tables nested in its cells."""
    for child in table:
        if not isinstance(child.tag, str):
            continue
        tag = child.tag.lower()
        if tag == "tr":
            yield child
        elif tag in ("thead", "tbody", "tfoot"):
            yield from (r for r in child if isinstance(r.tag, str) and r.tag.lower() == "tr")


def _span(value: str | None, limit: int) -> int:
    try:
        return min(max(1, int((value or "1").strip())), limit)
    except ValueError:
        return 1


def _clamp_rowspans(rows: list[tuple[Cell, ...]]) -> list[tuple[Cell, ...]]:
    """A rowspan reaching past the last row (or ``rowspan="0"``-style abuse) ends there."""
    out = []
    for r, row in enumerate(rows):
        remaining = len(rows) - r
        if any(c.rowspan > remaining for c in row):
            row = tuple(Cell(c.text, c.colspan, min(c.rowspan, remaining)) for c in row)
        out.append(row)
    return out
