"""Generators of documents with exact ground truth, one function per kind.

Every generator writes into a directory (a temp dir: nothing here is committed) and returns the
files with their ``Truth``. Texts are made of numbered sentences so that anchors are unique.
"""

from __future__ import annotations

import random
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from .truth import Truth, TruthTable

KINDS = ("pdf", "docx", "xlsx", "pptx", "html")
WORDS = re.findall(
    r"\w+",
    "revenue grew steadily across every northern region while costs in the southern depots "
    "fell after the new contract with the logistics partner took effect and customers renewed "
    "their annual plans earlier than forecast so the board approved further investment in "
    "warehouse automation staff training and supplier audits during the quarter",
)
REGIONS = ["North", "South", "East", "West", "Central", "Coast", "Highlands", "Islands"]
FURNITURE_HEADER = "Northwind Quarterly Review — Internal Use Only"


class Writer:
    """Numbered sentences and paragraphs from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.count = 0

    def sentence(self, words: int = 12) -> str:
        self.count += 1
        body = " ".join(self.rng.choice(WORDS) for _ in range(words))
        return f"Finding {self.count} shows that {body}."

    def paragraph(self, sentences: int = 3) -> str:
        return " ".join(self.sentence(self.rng.randint(8, 16)) for _ in range(sentences))

    def money(self) -> str:
        return f"{self.rng.randint(1000, 99999):,}.{self.rng.randint(0, 99):02d}"


def sales_table(
    w: Writer, rows: int = 4, caption: str | None = None
) -> tuple[list[str], list[list[str]], TruthTable]:
    header = ["Region", "Q1 (€)", "Q2 (€)", "Q3 (€)"]
    data = [[REGIONS[i % len(REGIONS)], w.money(), w.money(), w.money()] for i in range(rows)]
    truth = TruthTable(
        rows=[list(zip(header, row, strict=True)) for row in data], header=header, caption=caption
    )
    return header, data, truth


def generate(kind: str, directory: Path, seed: int = 0, count: int = 3) -> list[Truth]:
    directory.mkdir(parents=True, exist_ok=True)
    makers: dict[str, Callable[[Path, int], Truth]] = {
        "html": make_html,
        "docx": make_docx,
        "xlsx": make_xlsx,
        "pptx": make_pptx,
        "pdf": make_pdf,
    }
    return [
        makers[kind](directory / f"{kind}-{seed}-{i}.{kind}", seed * 100 + i) for i in range(count)
    ]


# -- HTML ---------------------------------------------------------------------------------------


def make_html(path: Path, seed: int) -> Truth:
    w = Writer(seed)
    variant = seed % 3
    truth = Truth(path=path, kind="html")
    title = f"Regional results {seed}"
    chrome_nav = ["Home", "Products", "Pricing", "Careers", "Contact us"]
    cookie = "We use cookies to improve your experience. Accept all or manage preferences."
    related = [f"Read more about warehouse {i} automation" for i in range(4)]
    footer = f"© 2024 Northwind Media Group {seed}. All rights reserved. Privacy policy."
    site = "Northwind News"
    truth.furniture = [
        cookie,
        footer,
        related[0],
        related[2],
        f"{site} subscribe to our newsletter",
    ]
    parts: list[str] = [f"<h1>{title}</h1>"]
    truth.body.append(title)
    for section in range(3):
        heading = f"Section {section + 1} of the review"
        parts.append(f"<h2>{heading}</h2>")
        truth.body.append(heading)
        for _ in range(2):
            text = w.paragraph(3)
            truth.body.append(text)
            truth.anchors.append(text)
            parts.append(f"<p>{_inline_markup(text)}</p>")
        if section == 0:
            items = [w.sentence(6) for _ in range(3)]
            parts.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            truth.body += items
        if section == 1:
            parts.append(_html_table(w, truth))
        if section == 2:
            caption = f"Figure {seed}: warehouse throughput by month"
            parts.append(
                f'<figure><img src="chart.png" alt=""><figcaption>{caption}</figcaption></figure>'
            )
            truth.body.append(caption)
    content = "\n".join(parts)
    head = (
        f"<head><meta charset='utf-8'><title>{title} | {site}</title>"
        "<script>window.dataLayer = ['tracking pixel'];</script>"
        "<style>.x{color:red}</style></head>"
    )
    header = (
        f'<header class="site-header"><a href="/">{site}</a><nav><ul>'
        + "".join(f'<li><a href="/{n}">{n}</a></li>' for n in chrome_nav)
        + "</ul></nav></header>"
    )
    banner = f'<div class="cookie-banner" id="consent">{cookie} <button>Accept</button></div>'
    aside = (
        '<aside class="sidebar"><h3>Related</h3><ul>'
        + "".join(f'<li><a href="/r{i}">{r}</a></li>' for i, r in enumerate(related))
        + "</ul></aside>"
    )
    links_only = (
        "<div>" + " ".join(f'<a href="/x{i}">{r}</a>' for i, r in enumerate(related)) + "</div>"
    )
    newsletter = f'<div class="newsletter-box"><p>{site} subscribe to our newsletter</p></div>'
    foot = f"<footer><p>{footer}</p></footer>"
    breadcrumb = (
        '<div class="breadcrumbs"><a href="/">Home</a> &rsaquo; <a href="/news">News</a></div>'
    )
    if variant == 0:
        body = f"{banner}{header}{breadcrumb}<main>{content}</main>{aside}{newsletter}{foot}"
    elif variant == 1:
        body = (
            f"{header}<div class='layout'><div id='content' class='article-body'>{content}"
            f"</div>{aside}</div>{newsletter}{foot}{banner}"
        )
    else:
        body = (
            f"{header}{banner}<article><header><p class='byline'>By the Northwind desk</p></header>"
            f"{content}</article>{links_only}{newsletter}{foot}"
        )
        truth.body.insert(0, "By the Northwind desk")
    path.write_text(f"<!DOCTYPE html><html>{head}<body>{body}</body></html>", encoding="utf-8")
    return truth


def _inline_markup(text: str) -> str:
    words = text.split(" ")
    words[2] = f"<b>{words[2]}</b>"
    words[5] = f'<a href="/w">{words[5]}</a>'
    return " ".join(words)


def _html_table(w: Writer, truth: Truth) -> str:
    # A two-row header: "Region" spans both rows, "Sales (€)" spans Q1 and Q2; a rowspan in the
    # body that must not repeat; a caption.
    caption = "Table 2. Sales by region and quarter"
    rows = [[REGIONS[i], w.money(), w.money()] for i in range(4)]
    html = [
        f"<table><caption>{caption}</caption><thead>",
        '<tr><th rowspan="2">Region</th><th colspan="2">Sales (€)</th></tr>',
        "<tr><th>Q1</th><th>Q2</th></tr></thead><tbody>",
    ]
    table_rows: list[list[tuple[str | None, str]]] = []
    for index, (region, q1, q2) in enumerate(rows):
        html.append(f"<tr><td>{region}</td><td>{q1}</td><td>{q2}</td></tr>")
        table_rows.append([("Region", region), ("Sales (€) / Q1", q1), ("Sales (€) / Q2", q2)])
        if index == 1:
            total = w.money()
            html.append(f'<tr><td>Subtotal</td><td colspan="2">{total}</td></tr>')
            table_rows.append([("Region", "Subtotal"), ("Sales (€) / Q1", total)])
    html.append("</tbody></table>")
    truth.body.append(
        TruthTable(rows=table_rows, header=["Region", "Sales (€)", "Q1", "Q2"], caption=caption)
    )
    return "".join(html)


# -- DOCX ---------------------------------------------------------------------------------------


def make_docx(path: Path, seed: int) -> Truth:
    import docx

    w = Writer(seed)
    truth = Truth(path=path, kind="docx")
    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = FURNITURE_HEADER
    section.footer.paragraphs[0].text = f"Northwind Ltd {seed} · Confidential"
    truth.furniture = [FURNITURE_HEADER, f"Northwind Ltd {seed} · Confidential"]
    title = f"Annual operations report {seed}"
    document.add_heading(title, level=0)
    truth.body.append(title)
    for number in range(3):
        heading = f"Part {number + 1} of the operations review"
        document.add_heading(heading, level=1)
        truth.body.append(heading)
        for _ in range(2):
            text = w.paragraph(3)
            document.add_paragraph(text)
            truth.body.append(text)
            truth.anchors.append(text)
        if number == 0:
            for _ in range(3):
                item = w.sentence(6)
                document.add_paragraph(item, style="List Bullet")
                truth.body.append(item)
        if number == 1:
            _docx_merged_table(document, w, truth)
        if number == 2:
            sub = "Regional detail"
            document.add_heading(sub, level=2)
            truth.body.append(sub)
            header, data, table_truth = sales_table(w, 3, caption="Table 3. Quarterly sales")
            document.add_paragraph(table_truth.caption, style="Caption")
            table = document.add_table(rows=1 + len(data), cols=len(header))
            for r, values in enumerate([header, *data]):
                for c, value in enumerate(values):
                    table.cell(r, c).text = value
            truth.body.append(table_truth)
    document.save(str(path))
    return truth


def _docx_merged_table(document: object, w: Writer, truth: Truth) -> None:
    # Site spans two header rows (vMerge); "Sales (€)" spans Q1 and Q2 (gridSpan); in the body
    # a site spans two rows (vMerge, value once) and a total spans two columns.
    table = document.add_table(rows=6, cols=3)  # type: ignore[attr-defined]
    site = table.cell(0, 0).merge(table.cell(1, 0))
    site.text = "Site"
    sales = table.cell(0, 1).merge(table.cell(0, 2))
    sales.text = "Sales (€)"
    table.cell(1, 1).text = "Q1"
    table.cell(1, 2).text = "Q2"
    values = [[w.money(), w.money()] for _ in range(3)]
    lyon = table.cell(2, 0).merge(table.cell(3, 0))
    lyon.text = "Lyon"
    table.cell(4, 0).text = "Porto"
    for r, (q1, q2) in enumerate(values, start=2):
        table.cell(r, 1).text = q1
        table.cell(r, 2).text = q2
    total = w.money()
    table.cell(5, 0).text = "Total"
    table.cell(5, 1).merge(table.cell(5, 2)).text = total
    from docx.oxml import OxmlElement

    for r in (0, 1):  # mark the header rows as Word does ("repeat as header row")
        tr_pr = table.rows[r]._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:tblHeader"))
    rows = [
        [("Site", "Lyon"), ("Sales (€) / Q1", values[0][0]), ("Sales (€) / Q2", values[0][1])],
        [("Sales (€) / Q1", values[1][0]), ("Sales (€) / Q2", values[1][1])],
        [("Site", "Porto"), ("Sales (€) / Q1", values[2][0]), ("Sales (€) / Q2", values[2][1])],
        [("Site", "Total"), ("Sales (€) / Q1", total)],
    ]
    truth.body.append(TruthTable(rows=rows, header=["Site", "Sales (€)", "Q1", "Q2"]))


# -- XLSX ---------------------------------------------------------------------------------------


def make_xlsx(path: Path, seed: int) -> Truth:
    import openpyxl

    w = Writer(seed)
    truth = Truth(path=path, kind="xlsx")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Sales"
    title = f"Quarterly sales by region {seed}"
    sheet["A1"] = title
    sheet.merge_cells("A1:D1")
    header, data, table = sales_table(w, 6)
    sheet.append([])  # a blank row between the title and the header
    sheet.append(header)
    formulas: dict[str, str] = {}
    for index, row in enumerate(data):
        sheet.append([row[0], *(float(v.replace(",", "")) for v in row[1:])])
        if index == 2:
            sheet.append([])  # a blank row inside the table
    total_row = sheet.max_row + 1
    total = sum(float(row[1].replace(",", "")) for row in data)
    sheet.append(["Total", total])
    formulas[f"B{total_row}"] = f"SUM(B4:B{total_row - 1})"
    table.rows.append([("Region", "Total"), ("Q1 (€)", _excel_number(total))])
    table.rows = [
        [
            (label, _excel_number(float(v.replace(",", ""))) if label != "Region" else v)
            for label, v in row
        ]
        for row in table.rows
    ]
    table.caption = title
    truth.body += ["Sales", table]
    people = book.create_sheet("Staff")
    staff_header = ["Name", "Team", "Started"]
    people.append(staff_header)
    staff = [[f"Person {seed}-{i}", REGIONS[i], f"2021-0{i + 1}-15"] for i in range(4)]
    for row in staff:
        people.append(row)
    truth.body += [
        "Staff",
        TruthTable(
            rows=[list(zip(staff_header, r, strict=True)) for r in staff], header=staff_header
        ),
    ]
    notes = book.create_sheet("Notes")
    lines = [w.sentence(10) for _ in range(3)]
    for line in lines:
        notes.append([line])
    truth.body += ["Notes", TruthTable(rows=[[(None, line)] for line in lines])]
    book.save(path)
    _add_cached_formulas(path, "xl/worksheets/sheet1.xml", formulas)
    return truth


def _excel_number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(round(value, 2))


def _add_cached_formulas(path: Path, part: str, formulas: dict[str, str]) -> None:
    """Give cells a formula next to their value, as Excel saves them (openpyxl cannot)."""
    with zipfile.ZipFile(path) as source:
        items = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in items:
            if info.filename == part:
                text = data.decode()
                for ref, formula in formulas.items():
                    text = re.sub(
                        rf'(<c r="{ref}"[^>]*>)(<v>)', rf"\1<f>{formula}</f>\2", text, count=1
                    )
                data = text.encode()
            target.writestr(info, data)


# -- PPTX ---------------------------------------------------------------------------------------


def make_pptx(path: Path, seed: int) -> Truth:
    import pptx
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches, Pt

    w = Writer(seed)
    truth = Truth(path=path, kind="pptx")
    deck = pptx.Presentation()
    footer = f"Northwind · Board pack {seed}"
    truth.furniture = [footer]

    def add_footer(slide: object) -> None:
        box = slide.shapes.add_textbox(Inches(0.5), Inches(7.0), Inches(4), Inches(0.3))  # type: ignore[attr-defined]
        box.text_frame.text = footer
        box.text_frame.paragraphs[0].runs[0].font.size = Pt(9)

    def notes(slide: object) -> None:
        text = f"Speaker note {seed}-{w.count}: remind the board about the audit timetable."
        slide.notes_slide.notes_text_frame.text = text  # type: ignore[attr-defined]
        truth.furniture.append(text)

    first = deck.slides.add_slide(deck.slide_layouts[0])
    title = f"Board review {seed}"
    first.shapes.title.text = title
    subtitle = "Prepared by the operations team"
    first.placeholders[1].text = subtitle
    truth.body += [title, subtitle]
    notes(first)
    for number in range(2):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        heading = f"Highlights part {number + 1}"
        slide.shapes.title.text = heading
        items = [w.sentence(7) for _ in range(3)]
        frame = slide.placeholders[1].text_frame
        frame.text = items[0]
        for item in items[1:]:
            frame.add_paragraph().text = item
        truth.body += [heading, *items]
        truth.anchors += items[:1]
        add_footer(slide)
        notes(slide)
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    heading = "Sales by region"
    slide.shapes.title.text = heading
    header, data, table_truth = sales_table(w, 4)
    shape = slide.shapes.add_table(
        len(data) + 1, len(header), Inches(0.5), Inches(1.5), Inches(9), Inches(3)
    )
    for r, values in enumerate([header, *data]):
        for c, value in enumerate(values):
            shape.table.cell(r, c).text = value
    truth.body += [heading, table_truth]
    add_footer(slide)
    notes(slide)
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    heading = "Two views"
    slide.shapes.title.text = heading
    left, right = w.paragraph(2), w.paragraph(2)
    for x, text in ((0.5, left), (5.2, right)):
        box = slide.shapes.add_textbox(Inches(x), Inches(1.6), Inches(4.3), Inches(3))
        box.text_frame.word_wrap = True
        box.text_frame.text = text
    chart_title = f"Revenue trend {seed}"
    chart_data = CategoryChartData()
    chart_data.categories = ["Q1", "Q2", "Q3"]
    chart_data.add_series("Revenue", (1.0, 2.0, 3.0))
    chart = slide.shapes.add_chart(
        XL_CHART_TYPE.LINE, Inches(2), Inches(4.8), Inches(5), Inches(2), chart_data
    ).chart
    chart.has_title = True
    chart.chart_title.text_frame.text = chart_title
    truth.body += [heading, left, right, chart_title]
    truth.anchors += [left, right]
    add_footer(slide)
    deck.save(str(path))
    return truth


# -- PDF ----------------------------------------------------------------------------------------

PAGE_W, PAGE_H = 595.0, 842.0
MARGIN = 60.0
BODY_FONT, BODY_SIZE, LEADING = "Helvetica", 10.0, 13.0


def make_pdf(path: Path, seed: int) -> Truth:
    from reportlab.pdfgen import canvas

    w = Writer(seed)
    truth = Truth(path=path, kind="pdf", two_column=True)
    pdf = canvas.Canvas(str(path), pagesize=(PAGE_W, PAGE_H))
    pages = 4
    running = FURNITURE_HEADER
    truth.furniture = [running] + [
        f"Northwind Ltd · Page {n} of {pages}" for n in range(1, pages + 1)
    ]

    def furniture(number: int) -> None:
        pdf.setFont("Helvetica", 8)
        pdf.drawString(MARGIN, PAGE_H - 30, running)
        pdf.drawRightString(PAGE_W - MARGIN, 25, f"Northwind Ltd · Page {number} of {pages}")

    # Page 1: title, intro, a list, headings, one column.
    furniture(1)
    y = PAGE_H - 80
    title = f"Quarterly review of the Northwind group {seed}"
    y = _draw_lines(pdf, [title], MARGIN, y, "Helvetica-Bold", 20, 26)
    truth.body.append(title)
    y -= 10
    for number in range(2):
        heading = f"{number + 1}. Operations in part {number + 1}"
        y = _draw_lines(pdf, [heading], MARGIN, y - 8, "Helvetica-Bold", 14, 18)
        truth.body.append(heading)
        text = w.paragraph(4)
        y = _paragraph(pdf, text, MARGIN, y, PAGE_W - 2 * MARGIN, hyphenate=True) - 8
        truth.body.append(text)
        truth.anchors.append(text)
    items = [w.sentence(14) for _ in range(3)]
    for item in items:
        y = _paragraph(pdf, item, MARGIN + 14, y, PAGE_W - 2 * MARGIN - 14, bullet=True) - 3
    truth.body += items
    note = f"1 Figures for part {seed} are unaudited and may change."
    text = w.paragraph(2)
    y = _paragraph(pdf, text, MARGIN, y - 6, PAGE_W - 2 * MARGIN)
    truth.body.append(text)
    truth.anchors.append(text)
    pdf.line(MARGIN, 70, MARGIN + 120, 70)
    _draw_lines(pdf, [note], MARGIN, 60, "Helvetica", 7, 9)
    truth.body.append(note)  # a footnote ends its page
    pdf.showPage()

    # Page 2: two columns.
    furniture(2)
    heading = "3. Regional commentary"
    y = _draw_lines(pdf, [heading], MARGIN, PAGE_H - 80, "Helvetica-Bold", 14, 18) - 6
    truth.body.append(heading)
    column = (PAGE_W - 2 * MARGIN - 20) / 2
    for x in (MARGIN, MARGIN + column + 20):
        cy = y
        for _ in range(3):
            text = w.paragraph(3)
            cy = _paragraph(pdf, text, x, cy, column, hyphenate=True) - 9
            truth.body.append(text)
            truth.anchors.append(text)
    pdf.showPage()

    # Page 3: a ruled table and an unruled one.
    furniture(3)
    heading = "4. Figures"
    y = _draw_lines(pdf, [heading], MARGIN, PAGE_H - 80, "Helvetica-Bold", 14, 18) - 10
    truth.body.append(heading)
    header, data, table = sales_table(w, 5, caption="Table 1. Sales by region")
    y = _draw_lines(pdf, [table.caption or ""], MARGIN, y, "Helvetica-Oblique", 9, 14)
    y = _table(pdf, header, data, MARGIN, y, ruled=True) - 20
    truth.body.append(table)
    header2, data2, table2 = sales_table(w, 4)
    y = _table(pdf, header2, data2, MARGIN, y, ruled=False) - 20
    truth.body.append(table2)
    text = w.paragraph(2)
    _paragraph(pdf, text, MARGIN, y, PAGE_W - 2 * MARGIN)
    truth.body.append(text)
    truth.anchors.append(text)
    pdf.showPage()

    # Page 4: landscape content on a page turned by /Rotate 90.
    pdf.setPageSize((PAGE_H, PAGE_W))  # reportlab stores it turned: a portrait /MediaBox
    pdf.setPageRotation(90)
    pdf.saveState()
    pdf.translate(PAGE_W, 0)
    pdf.rotate(90)  # drawn sideways: upright once the viewer turns the page by /Rotate 90
    pdf.setFont("Helvetica", 8)
    pdf.drawString(MARGIN, PAGE_W - 30, running)
    pdf.drawRightString(PAGE_H - MARGIN, 25, f"Northwind Ltd · Page 4 of {pages}")
    heading = "5. Outlook"
    y = _draw_lines(pdf, [heading], MARGIN, PAGE_W - 80, "Helvetica-Bold", 14, 18) - 6
    truth.body.append(heading)
    for _ in range(2):
        text = w.paragraph(3)
        y = _paragraph(pdf, text, MARGIN, y, PAGE_H - 2 * MARGIN) - 9
        truth.body.append(text)
        truth.anchors.append(text)
    pdf.restoreState()
    pdf.showPage()
    pdf.save()
    return truth


def _draw_lines(
    pdf: object, lines: list[str], x: float, y: float, font: str, size: float, leading: float
) -> float:
    for line in lines:
        pdf.setFont(font, size)  # type: ignore[attr-defined]
        pdf.drawString(x, y, line)  # type: ignore[attr-defined]
        y -= leading
    return y


def _paragraph(
    pdf: object,
    text: str,
    x: float,
    y: float,
    width: float,
    *,
    bullet: bool = False,
    hyphenate: bool = False,
) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if stringWidth(candidate, BODY_FONT, BODY_SIZE) <= width:
            line = candidate
            continue
        if hyphenate and len(word) >= 8:
            head = word[: len(word) // 2]
            if stringWidth(f"{line} {head}-", BODY_FONT, BODY_SIZE) <= width:
                lines.append(f"{line} {head}-")
                line = word[len(word) // 2 :]
                continue
        lines.append(line)
        line = word
    lines.append(line)
    if bullet:
        pdf.setFont(BODY_FONT, BODY_SIZE)  # type: ignore[attr-defined]
        pdf.drawString(x - 10, y, "•")  # type: ignore[attr-defined]
    return _draw_lines(pdf, lines, x, y, BODY_FONT, BODY_SIZE, LEADING)


def _table(
    pdf: object, header: list[str], rows: list[list[str]], x: float, y: float, *, ruled: bool
) -> float:
    widths = [120.0, 90.0, 90.0, 90.0]
    height = 18.0
    top = y + 12
    for r, values in enumerate([header, *rows]):
        font = "Helvetica-Bold" if r == 0 else BODY_FONT
        pdf.setFont(font, 9)  # type: ignore[attr-defined]
        cx = x
        for c, value in enumerate(values):
            if c == 0:
                pdf.drawString(cx + 4, y, value)  # type: ignore[attr-defined]
            else:
                pdf.drawRightString(cx + widths[c] - 4, y, value)  # type: ignore[attr-defined]
            cx += widths[c]
        y -= height
    if ruled:
        bottom = top - height * (len(rows) + 1)
        total = sum(widths)
        for r in range(len(rows) + 2):
            pdf.line(x, top - r * height, x + total, top - r * height)  # type: ignore[attr-defined]
        cx = x
        for width in [0.0, *widths]:
            cx += width
            pdf.line(cx, top, cx, bottom)  # type: ignore[attr-defined]
    return y
