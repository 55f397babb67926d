"""Rendering limits: a poster-sized page never becomes a multi-gigabyte bitmap."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
from hypothesis import given
from hypothesis import strategies as st
from reportlab.pdfgen import canvas

from ingestd.pipeline.ocr import ink_ratio
from ingestd.pipeline.ocr._pdf import MAX_RENDER_PIXELS, MAX_RENDER_SIDE, render_scale

points = st.floats(1.0, 200_000.0)


@given(points, points, st.integers(36, 1200))
def test_render_scale_stays_within_the_limits(width: float, height: float, dpi: int) -> None:
    scale = render_scale(width, height, dpi)
    assert 0 < scale <= dpi / 72
    assert width * height * scale * scale <= MAX_RENDER_PIXELS * 1.0001
    assert max(width, height) * scale <= MAX_RENDER_SIDE * 1.0001


def test_a4_at_300_dpi_is_not_reduced() -> None:
    assert render_scale(595.0, 842.0, 300) == 300 / 72


def test_ink_on_a_poster_page_is_measured_cheaply() -> None:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(14_400, 14_400))  # 200 x 200 inches, PDF's maximum
    pdf.rect(0, 0, 7_200, 14_400, fill=1)  # the left half is black
    pdf.showPage()
    pdf.save()
    page = pdfium.PdfDocument(buffer.getvalue())[0]
    assert 0.45 < ink_ratio(page) < 0.55
