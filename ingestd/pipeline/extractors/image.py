"""Images (PNG, JPEG, TIFF with any number of pages, WebP, BMP): OCR every frame.

One page per frame, in order; each page's paragraphs become ``paragraph`` elements whose ``meta``
carries ``text_source: "ocr"`` and the page's ``ocr_confidence`` (see ``pipeline/ocr``). Needs the
``ocr`` extra; without it the file fails alone with ``ocr_unavailable``, naming the extra.

Hostile images are refused before anything is decoded: only the five formats are parsed (Pillow
never guesses another decoder), a frame of more than ``MAX_IMAGE_PIXELS`` (Pillow's own bomb
limit, about 89 megapixels) or wider than tesseract can read is ``too_large``, and so is a file
of more than ``MAX_FRAMES`` frames.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ingestd.domain.documents import Document, Element, PageInfo
from ingestd.domain.errors import FileError
from ingestd.domain.options import OcrMode
from ingestd.pipeline.ocr import OcrPage, ocr_elements, ocr_image, require_ocr

if TYPE_CHECKING:
    from PIL import Image

FORMATS = ("PNG", "JPEG", "TIFF", "WEBP", "BMP")  # Pillow decoders allowed; JPEG covers MPO
MAX_IMAGE_PIXELS = 89_478_485  # per frame; Pillow's DecompressionBomb limit (~ 9459 x 9459)
MAX_SIDE = 32_000  # tesseract cannot read an image wider or taller than 32767 pixels
MAX_FRAMES = 1000
DEFAULT_DPI = 300  # what a scanner writes when the file does not say
_MIN_DPI, _MAX_DPI = 70, 2400  # outside this range the file's dpi is a placeholder, not a fact


def extract(path: Path, *, ocr: OcrMode = "auto") -> Document:
    """The image's text, a page per frame (``text_source: "ocr"`` with its confidence).

    With ``options.ocr: "off"`` nothing is read: the document is empty, and says why.
    """
    metadata: dict[str, Any] = {"title": None, "furniture": []}
    if ocr == "off":
        metadata["warnings"] = [
            {"code": "ocr_off", "detail": "an image's text is read by OCR: the job set ocr off"}
        ]
        return Document(elements=[], metadata=metadata)
    elements: list[Element] = []
    pages: list[PageInfo] = []
    for number, page in enumerate(read_pages(path), start=1):
        elements.extend(ocr_elements(page, number))
        pages.append(
            PageInfo(number, page.width, page.height, "ocr", round(float(page.confidence), 3))
        )
    return Document(elements=elements, pages=pages, metadata=metadata)


def read_pages(path: Path) -> list[OcrPage]:
    """Every frame of the image, OCR'd, in order: one ``OcrPage`` (boxes in pixels) per page,
    including pages where nothing was read (so the page count and per-page confidence are
    known even for a blank frame)."""
    require_ocr()
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise FileError(
            "read_error", f"could not read the image: {exc.strerror}", retryable=True
        ) from None
    with handle:
        return [ocr_image(frame, dpi=dpi) for frame, dpi in _frames(handle)]


def _frames(handle: BinaryIO) -> Iterator[tuple[Image.Image, int]]:
    """Each frame as a grayscale image ready for OCR, with its resolution in dpi."""
    image = _open(handle)
    with image:
        count = getattr(image, "n_frames", 1)
        if count > MAX_FRAMES:
            raise FileError(
                "too_large",
                f"the image has {count} frames (pages); at most {MAX_FRAMES} are read: split it",
            )
        for index in range(count):
            try:
                image.seek(index)
                _check_size(image)
                frame = _grayscale(image)
            except (OSError, SyntaxError, ValueError, EOFError) as exc:
                raise FileError(
                    "parse_error", f"frame {index + 1} of the image could not be decoded: {exc}"
                ) from None
            yield frame, _dpi(image)


def _open(handle: BinaryIO) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(handle, formats=FORMATS)
    except UnidentifiedImageError:
        raise FileError(
            "parse_error",
            "the image could not be read: it is corrupt, truncated or not a "
            "PNG, JPEG, TIFF, WebP or BMP file",
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FileError(
            "too_large",
            f"{exc}; OCR reads at most {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels a frame: "
            "scan at 300 dpi or split the image",
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's word for a malformed header
        raise FileError("parse_error", f"the image header is malformed: {exc}") from None
    return image


def _check_size(image: Image.Image) -> None:
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS or max(width, height) > MAX_SIDE:
        raise FileError(
            "too_large",
            f"the image is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"OCR reads at most {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels and {MAX_SIDE} pixels a "
            "side: scan at 300 dpi or split the image",
        )


def _grayscale(image: Image.Image) -> Image.Image:
    """The frame in mode ``L``: transparency flattened onto white, EXIF rotation applied,
    16-bit and float samples stretched to 8 bits."""
    from PIL import Image, ImageOps

    frame = ImageOps.exif_transpose(image) if image.format in ("JPEG", "MPO") else image
    frame.load()
    if frame.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _stretch(frame)
    if frame.mode in ("RGBA", "LA", "PA") or "transparency" in frame.info:
        rgba = frame.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    if frame.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        return frame.convert("RGB").convert("L")
    return frame.convert("L")


def _stretch(frame: Image.Image) -> Image.Image:
    import numpy as np
    from PIL import Image

    pixels = np.asarray(frame, dtype=np.float64)
    low, high = float(pixels.min()), float(pixels.max())
    span = high - low or 1.0
    return Image.fromarray(((pixels - low) * (255.0 / span)).astype(np.uint8))


def _dpi(image: Image.Image) -> int:
    dpi = image.info.get("dpi")
    try:
        value = round(float(dpi[0])) if dpi else 0
    except (TypeError, ValueError, IndexError):
        value = 0
    return value if _MIN_DPI <= value <= _MAX_DPI else DEFAULT_DPI
