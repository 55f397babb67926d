"""Pages rendered from known text, for the OCR tests and ``bench/ocr.py``.

Everything is generated: reportlab writes PDFs with a text layer, pdfium renders them to images
(a "scan"), Pillow draws text with Debian's DejaVu font. The ground truth is the text we wrote.
"""

from __future__ import annotations

import difflib
import io
import random
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfgen import canvas

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

_TEXT = (
    "the quarterly report shows revenue growth in every region while costs fell and the board "
    "approved a new budget for research customers signed contracts with clear payment terms "
    "delivery schedules changed after the warehouse moved north engineers measured the water "
    "pressure twice each morning and recorded results in a shared ledger invoices were sent "
    "before the deadline and most were paid within thirty days"
)
_WORDS = tuple(_TEXT.split())


def paragraphs(seed: int, count: int, words: int = 45) -> list[str]:
    """``count`` paragraphs of plain English-like text with numbers and punctuation."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        sentences = []
        remaining = words
        while remaining > 0:
            n = min(remaining, rng.randint(6, 14))
            sentence = [rng.choice(_WORDS) for _ in range(n)]
            if rng.random() < 0.3:
                sentence.insert(rng.randrange(len(sentence)), str(rng.randint(2, 9999)))
            sentences.append(" ".join(sentence).capitalize() + rng.choice((".", ".", "?")))
            remaining -= n
        out.append(" ".join(sentences))
    return out


def text_pdf(
    pages: Sequence[Sequence[str]],
    *,
    columns: int = 1,
    font_size: float = 11,
    invisible: bool = False,
) -> bytes:
    """A PDF whose pages hold ``pages``' paragraphs, flowed down ``columns`` columns in order."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    width, height = A4
    margin, gutter, leading = 56.0, 24.0, font_size * 1.35
    column_width = (width - 2 * margin - gutter * (columns - 1)) / columns
    for page in pages:
        column, y = 0, height - margin
        for paragraph in page:
            lines = simpleSplit(paragraph, "Helvetica", font_size, column_width)
            if y - leading * len(lines) < margin:
                if column + 1 == columns:
                    raise ValueError("the paragraphs do not fit on one page: pass fewer")
                column, y = column + 1, height - margin
            x = margin + column * (column_width + gutter)
            text = pdf.beginText(x, y)
            text.setFont("Helvetica", font_size)
            text.setLeading(leading)
            if invisible:
                text.setTextRenderMode(3)
            for line in lines:
                text.textLine(line)
            pdf.drawText(text)
            y -= leading * (len(lines) + 1)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def render_pages(pdf_bytes: bytes, dpi: int = 300) -> list[Image.Image]:
    """Each page of the PDF as a grayscale image at ``dpi``."""
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        images = []
        for index in range(len(pdf)):
            page = pdf[index]
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            images.append(bitmap.to_pil().copy())
            bitmap.close()
            page.close()
        return images
    finally:
        pdf.close()


def scanned_pdf(pdf_bytes: bytes, *, dpi: int = 200, hidden_text: str | None = None) -> bytes:
    """The PDF "scanned": every page replaced by its image, with no text layer, or with only
    ``hidden_text`` as an invisible layer (what a poor OCR pass leaves behind)."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    width, height = A4
    for image in render_pages(pdf_bytes, dpi):
        pdf.drawImage(ImageReader(image), 0, 0, width, height)
        if hidden_text is not None:
            text = pdf.beginText(72, height - 72)
            text.setTextRenderMode(3)
            text.setFont("Helvetica", 11)
            for line in hidden_text.splitlines():
                text.textLine(line)
            pdf.drawText(text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def text_image(
    paras: Sequence[str], *, width: int = 2200, font_size: int = 42, margin: int = 120
) -> Image.Image:
    """Paragraphs drawn by Pillow in DejaVu Sans (about 10 pt at 300 dpi by default)."""
    font = ImageFont.truetype(str(DEJAVU), font_size)
    lines: list[str] = []
    for paragraph in paras:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if font.getlength(candidate) > width - 2 * margin and line:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.extend([line, ""])
    leading = int(font_size * 1.4)
    image = Image.new("L", (width, 2 * margin + leading * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((margin, margin + index * leading), line, fill=0, font=font)
    return image


def tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text)
    return re.findall(r"\w+|[^\w\s]", text)


def similarity(expected: str, got: str) -> float:
    """Token-sequence similarity (difflib ratio over words and punctuation), 0..1."""
    return difflib.SequenceMatcher(None, tokens(expected), tokens(got), autojunk=False).ratio()
