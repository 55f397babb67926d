"""PDF pages: how much ink a page carries (to judge its text layer) and OCR of a rendered page."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ingestd.pipeline.ocr._engine import recognise, require_engine
from ingestd.pipeline.ocr._model import OcrPage

if TYPE_CHECKING:
    import pypdfium2

INK_DPI = 50  # enough to see text as ink, cheap enough to run on every page (~2 ms on A4)
INK_CONTRAST = 64  # a pixel this much darker than the paper is ink (0..255)
MAX_RENDER_PIXELS = 60_000_000  # about A0 at 150 dpi; a larger page is rendered at a lower dpi
MAX_INK_PIXELS = 2_000_000  # the ink check stays cheap on a poster-sized page too
MAX_RENDER_SIDE = 32_000  # tesseract refuses images wider or taller than 32767 pixels
_POINTS_PER_INCH = 72.0


def ink_ratio(page: pypdfium2.PdfPage) -> float:
    """Share (0..1) of the page's pixels that are ink, from a grayscale render at 50 dpi.

    "Paper" is the page's bright level (its 90th percentile), so a grey scan background or a
    tinted page is not counted as ink; what is clearly darker than it is. Invisible text (the
    OCR layer of a scanned PDF) draws nothing and so adds no ink.
    """
    scale = _safe_scale(page, INK_DPI, max_pixels=MAX_INK_PIXELS)
    bitmap = page.render(scale=scale, grayscale=True, draw_annots=False)
    try:
        pixels = bitmap.to_numpy()
    finally:
        bitmap.close()
    if pixels.size == 0:
        return 0.0
    paper = float(np.percentile(pixels, 90))
    ink = np.count_nonzero(pixels < paper - INK_CONTRAST)
    return float(ink) / float(pixels.size)


def ocr_pdf_page(page: pypdfium2.PdfPage, *, dpi: int = 300) -> OcrPage:
    """Render ``page`` at ``dpi`` (lowered for huge pages) and OCR it.

    Word boxes come back in PDF points of the page as displayed (its /Rotate applied), origin at
    the top left, ``y`` growing downward; ``width``/``height`` are the displayed size in points.
    Raises ``FileError("ocr_unavailable")`` without the ``ocr`` extra.
    """
    require_engine()
    scale = _safe_scale(page, dpi)
    bitmap = page.render(scale=scale, grayscale=True, draw_annots=True)
    try:
        image = bitmap.to_pil()
    finally:
        bitmap.close()
    effective_dpi = round(scale * _POINTS_PER_INCH)
    return recognise(image, dpi=effective_dpi, scale=1.0 / scale)


def _safe_scale(page: pypdfium2.PdfPage, dpi: int, *, max_pixels: int = MAX_RENDER_PIXELS) -> float:
    """Pixels per point for ``dpi``, lowered so the render stays within our pixel limits."""
    width, height = page.get_size()
    return render_scale(width, height, dpi, max_pixels=max_pixels)


def render_scale(
    width: float, height: float, dpi: int, *, max_pixels: int = MAX_RENDER_PIXELS
) -> float:
    """Pixels per point to render a ``width`` x ``height`` point page at ``dpi``, or lower:
    at most ``max_pixels`` in all and ``MAX_RENDER_SIDE`` a side."""
    scale = dpi / _POINTS_PER_INCH
    width, height = max(width, 1.0), max(height, 1.0)
    if width * height * scale * scale > max_pixels:
        scale = math.sqrt(max_pixels / (width * height))
    if max(width, height) * scale > MAX_RENDER_SIDE:
        scale = MAX_RENDER_SIDE / max(width, height)
    return scale
