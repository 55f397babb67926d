"""The titles of a workbook's charts, per sheet, read from the package's parts.

openpyxl's read-only mode (the one that keeps memory bounded) loads no drawings, so the chain
sheet → drawing → chart is followed here through the parts' relationships:

    xl/workbook.xml (sheet name, r:id) → xl/_rels/workbook.xml.rels → xl/worksheets/sheet1.xml
    xl/worksheets/_rels/sheet1.xml.rels (drawing) → xl/drawings/_rels/drawing1.xml.rels (chart)
    xl/charts/chart1.xml: <c:title> … <a:t>Sales by region</a:t>

Chartsheets (a sheet that is one chart) follow the same chain. A chart without a title (or
with ``autoTitleDeleted``) gives nothing. Parts are read with a size cap, and at most
``MAX_CHARTS`` charts per workbook.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path

from lxml import etree

MAX_CHARTS = 1000
_MAX_PART = 8 * 1024 * 1024  # bytes of one XML part
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_CHART = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
_DRAWING_T = "{http://schemas.openxmlformats.org/drawingml/2006/main}t"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def chart_titles(path: Path) -> dict[str, list[str]]:
    """Sheet name → the titles of its charts, in the order the drawing lists them."""
    out: dict[str, list[str]] = {}
    with zipfile.ZipFile(path) as package:
        names = set(package.namelist())
        workbook = _xml(package, names, "xl/workbook.xml")
        if workbook is None:
            return out
        targets = _relationships(package, names, "xl/workbook.xml")
        budget = [MAX_CHARTS]
        for sheet in workbook.iter(f"{_MAIN}sheet"):
            part = targets.get(sheet.get(f"{_REL}id", ""))
            if part is None:
                continue
            titles = _sheet_charts(package, names, part, budget)
            if titles:
                out[str(sheet.get("name", ""))] = titles
    return out


def _sheet_charts(
    package: zipfile.ZipFile, names: set[str], sheet_part: str, budget: list[int]
) -> list[str]:
    titles: list[str] = []
    for drawing in _relationships(package, names, sheet_part, kind="/drawing").values():
        for chart in _relationships(package, names, drawing, kind="/chart").values():
            if budget[0] <= 0:
                return titles
            budget[0] -= 1
            title = _chart_title(package, names, chart)
            if title:
                titles.append(title)
    return titles


def _chart_title(package: zipfile.ZipFile, names: set[str], part: str) -> str | None:
    root = _xml(package, names, part)
    if root is None:
        return None
    chart = root.find(f"{_CHART}chart")
    if chart is None:
        return None
    deleted = chart.find(f"{_CHART}autoTitleDeleted")
    title = chart.find(f"{_CHART}title")
    if title is None or (deleted is not None and deleted.get("val") in ("1", "true")):
        return None
    text = "".join(node.text or "" for node in title.iter(_DRAWING_T))
    return " ".join(text.split()) or None


def _relationships(
    package: zipfile.ZipFile, names: set[str], part: str, kind: str = ""
) -> dict[str, str]:
    """``r:id`` → the part it points to (a path in the package), for relationships whose type
    ends with ``kind``."""
    folder, name = posixpath.split(part)
    root = _xml(package, names, posixpath.join(folder, "_rels", f"{name}.rels"))
    out: dict[str, str] = {}
    if root is None:
        return out
    for rel in root.iter(_PKG_REL):
        if rel.get("TargetMode") == "External" or not rel.get("Type", "").endswith(kind):
            continue
        target = rel.get("Target", "")
        resolved = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join(folder, target))
        )
        out[rel.get("Id", "")] = resolved
    return out


def _xml(package: zipfile.ZipFile, names: set[str], part: str) -> etree._Element | None:
    if part not in names or package.getinfo(part).file_size > _MAX_PART:
        return None
    try:
        return etree.fromstring(package.read(part), _PARSER)
    except etree.XMLSyntaxError:
        return None
