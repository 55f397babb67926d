"""A second, independent corpus: other generators' habits and styles than ``corpus.py``, to check
that the targets hold on documents the extractors were not tuned on.

- PDF: Times and Courier instead of Helvetica, a three-column page, a table without rules whose
  cells are all left-aligned, a nested list (sub-items indented, dash markers);
- HTML: another template family — only ``<div>``s with class names (``masthead``, ``menu``,
  ``post-content``, ``widget``, ``gdpr``, ``site-info``), no ``<main>``, ``<article>``,
  ``<header>``, ``<nav>``, ``<aside>`` or ``<footer>``;
- XLSX: two tables on one sheet, one under the other, each with its own title and header.

    .venv/bin/python bench/fidelity.py --second
"""

from __future__ import annotations

from pathlib import Path

from .corpus import REGIONS, Writer
from .truth import Truth, TruthTable

KINDS = ("pdf", "html", "xlsx")
PAGE_W, PAGE_H = 595.0, 842.0
MARGIN = 60.0
SERIF, SERIF_BOLD, MONO = "Times-Roman", "Times-Bold", "Courier"


def generate(kind: str, directory: Path, seed: int = 0, count: int = 3) -> list[Truth]:
    directory.mkdir(parents=True, exist_ok=True)
    makers = {"pdf": make_pdf, "html": make_html, "xlsx": make_xlsx}
    return [
        makers[kind](directory / f"second-{kind}-{seed}-{i}.{kind}", 7000 + seed * 100 + i)
        for i in range(count)
    ]


# -- PDF ----------------------------------------------------------------------------------------


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if stringWidth(candidate, font, size) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return lines


def _text(pdf: object, lines: list[str], x: float, y: float, font: str, size: float) -> float:
    for line in lines:
        pdf.setFont(font, size)  # type: ignore[attr-defined]
        pdf.drawString(x, y, line)  # type: ignore[attr-defined]
        y -= size * 1.25
    return y


def make_pdf(path: Path, seed: int) -> Truth:
    from reportlab.pdfgen import canvas

    w = Writer(seed)
    truth = Truth(path=path, kind="pdf", two_column=True)
    pdf = canvas.Canvas(str(path), pagesize=(PAGE_W, PAGE_H))
    running = f"Harbour Authority Annual Report {seed}"
    truth.furniture = [running] + [f"Harbour Authority page {n}" for n in range(1, 4)]

    def furniture(number: int) -> None:
        pdf.setFont(SERIF, 9)
        pdf.drawCentredString(PAGE_W / 2, PAGE_H - 28, running)
        pdf.drawCentredString(PAGE_W / 2, 24, f"Harbour Authority page {number}")

    # Page 1: title, paragraphs and a nested list.
    furniture(1)
    title = f"Harbour operations in review {seed}"
    y = _text(pdf, [title], MARGIN, PAGE_H - 90, SERIF_BOLD, 22) - 8
    truth.body.append(title)
    for _ in range(2):
        text = w.paragraph(3)
        y = _text(pdf, _wrap(text, SERIF, 11, PAGE_W - 2 * MARGIN), MARGIN, y, SERIF, 11) - 8
        truth.body.append(text)
        truth.anchors.append(text)
    for _ in range(2):
        item = w.sentence(10)
        pdf.setFont(SERIF, 11)
        pdf.drawString(MARGIN + 4, y, "•")
        y = _text(pdf, _wrap(item, SERIF, 11, PAGE_W - 2 * MARGIN - 20), MARGIN + 18, y, SERIF, 11)
        truth.body.append(item)
        for _ in range(2):
            sub = w.sentence(7)
            pdf.drawString(MARGIN + 24, y, "\u2013")  # an en dash
            y = _text(
                pdf, _wrap(sub, SERIF, 11, PAGE_W - 2 * MARGIN - 44), MARGIN + 38, y, SERIF, 11
            )
            truth.body.append(sub)
        y -= 4
    pdf.showPage()

    # Page 2: three columns under a heading.
    furniture(2)
    heading = "Berths, cranes and crews"
    y = _text(pdf, [heading], MARGIN, PAGE_H - 90, SERIF_BOLD, 15) - 6
    truth.body.append(heading)
    gap = 16.0
    column = (PAGE_W - 2 * MARGIN - 2 * gap) / 3
    for index in range(3):
        x = MARGIN + index * (column + gap)
        cy = y
        for _ in range(2):
            text = w.paragraph(2)
            cy = _text(pdf, _wrap(text, SERIF, 10, column), x, cy, SERIF, 10) - 8
            truth.body.append(text)
            truth.anchors.append(text)
    pdf.showPage()

    # Page 3: a table without rules, every cell left-aligned, in Courier.
    furniture(3)
    heading = "Throughput by terminal"
    y = _text(pdf, [heading], MARGIN, PAGE_H - 90, SERIF_BOLD, 15) - 10
    truth.body.append(heading)
    header = ["Terminal", "Vessels", "Tonnes", "Share"]
    rows = [
        [f"{REGIONS[i]} quay", str(w.rng.randint(10, 99)), w.money(), f"{w.rng.randint(1, 40)}%"]
        for i in range(5)
    ]
    widths = [130.0, 80.0, 110.0, 70.0]
    for r, values in enumerate([header, *rows]):
        x = MARGIN
        for c, value in enumerate(values):
            pdf.setFont(SERIF_BOLD if r == 0 else MONO, 10)
            pdf.drawString(x, y, value)
            x += widths[c]
        y -= 16
    truth.body.append(
        TruthTable(rows=[list(zip(header, row, strict=True)) for row in rows], header=header)
    )
    text = w.paragraph(2)
    _text(pdf, _wrap(text, SERIF, 11, PAGE_W - 2 * MARGIN), MARGIN, y - 14, SERIF, 11)
    truth.body.append(text)
    truth.anchors.append(text)
    pdf.showPage()
    pdf.save()
    return truth


# -- HTML ---------------------------------------------------------------------------------------


def make_html(path: Path, seed: int) -> Truth:
    w = Writer(seed)
    truth = Truth(path=path, kind="html")
    site = "Harbour Gazette"
    title = f"Port traffic rises again {seed}"
    menu = ["Latest", "Shipping", "Opinion", "Archive", "About"]
    consent = "This site stores cookies on your device. Manage your privacy settings here."
    widgets = [f"Most read: ferry timetable change {i}" for i in range(3)]
    info = f"Harbour Gazette Ltd {seed}, registered office at Quay Street. Terms and privacy."
    share = "Share this story on social media"
    truth.furniture = [consent, info, widgets[0], widgets[2], share]
    parts = [f'<div class="post-title"><h1>{title}</h1></div>']
    truth.body.append(title)
    for section in range(2):
        heading = f"What changed in part {section + 1}"
        parts.append(f"<h2>{heading}</h2>")
        truth.body.append(heading)
        for _ in range(2):
            text = w.paragraph(3)
            parts.append(f"<p>{text}</p>")
            truth.body.append(text)
            truth.anchors.append(text)
    items = [w.sentence(6) for _ in range(2)]
    nested = [w.sentence(5) for _ in range(2)]
    parts.append(
        f"<ol><li>{items[0]}<ul>"
        + "".join(f"<li>{n}</li>" for n in nested)
        + f"</ul></li><li>{items[1]}</li></ol>"
    )
    truth.body += [items[0], *nested, items[1]]
    header = ["Terminal", "Arrivals", "Departures"]
    rows = [[REGIONS[i], str(w.rng.randint(10, 99)), str(w.rng.randint(10, 99))] for i in range(4)]
    caption = f"Arrivals and departures, week {seed % 52}"
    parts.append(
        f"<table><caption>{caption}</caption><tr>"
        + "".join(f"<td><strong>{h}</strong></td>" for h in header)
        + "</tr>"
        + "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in rows)
        + "</table>"
    )
    truth.body.append(
        TruthTable(
            rows=[list(zip(header, row, strict=True)) for row in rows],
            header=header,
            caption=caption,
        )
    )
    text = w.paragraph(2)
    parts.append(f"<p>{text}</p>")
    truth.body.append(text)
    truth.anchors.append(text)
    content = "".join(parts)
    body = (
        f'<div id="page"><div class="masthead"><span class="logo">{site}</span>'
        '<div class="menu">'
        + " ".join(f'<a href="/{m}">{m}</a>' for m in menu)
        + f'</div></div><div id="gdpr" class="consent-popup"><p>{consent}</p>'
        '<a href="#">OK</a></div>'
        f'<div class="wrapper"><div class="post-content">{content}'
        f'<div class="share-buttons">{share}</div></div>'
        '<div class="sidebar-widgets">'
        + "".join(
            f'<div class="widget"><a href="/w{i}">{t}</a></div>' for i, t in enumerate(widgets)
        )
        + f'</div></div><div class="site-info"><p>{info}</p></div></div>'
    )
    path.write_text(
        f"<html><head><title>{title} - {site}</title></head><body>{body}"
        "<script>track('view')</script></body></html>",
        encoding="utf-8",
    )
    return truth


# -- XLSX ---------------------------------------------------------------------------------------


def make_xlsx(path: Path, seed: int) -> Truth:
    import openpyxl

    w = Writer(seed)
    truth = Truth(path=path, kind="xlsx")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Summary"
    truth.body.append("Summary")
    for number, (title, header) in enumerate(
        (
            (f"Cargo by terminal {seed}", ["Terminal", "Containers", "Bulk"]),
            (f"Staff by shift {seed}", ["Shift", "Crew", "Supervisors"]),
        )
    ):
        if number:
            sheet.append([])
            sheet.append([])
        sheet.append([title])
        sheet.append(header)
        rows = [
            [f"{REGIONS[i]} {number}", w.rng.randint(100, 999), w.rng.randint(10, 99)]
            for i in range(4)
        ]
        for row in rows:
            sheet.append(row)
        truth.body.append(
            TruthTable(
                rows=[[(h, str(v)) for h, v in zip(header, row, strict=True)] for row in rows],
                header=header,
                caption=title,
            )
        )
    book.save(path)
    return truth
