"""Image types by magic bytes: the five OCR formats, and ``BM`` text that is not a bitmap."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from ingestd.pipeline import detect


@pytest.mark.parametrize(
    ("fmt", "mime", "options"),
    [
        ("PNG", detect.PNG, {}),
        ("JPEG", detect.JPEG, {}),
        ("TIFF", detect.TIFF, {}),
        ("TIFF", detect.TIFF, {"big_tiff": True}),
        ("WEBP", detect.WEBP, {}),
        ("BMP", detect.BMP, {}),
    ],
)
def test_images_by_their_bytes_whatever_their_name(
    fmt: str, mime: str, options: dict[str, bool]
) -> None:
    buffer = io.BytesIO()
    Image.new("L", (64, 32), 200).save(buffer, fmt, **options)
    assert detect.detect_mime_type(buffer.getvalue()[: detect.HEAD_SIZE], "notes.txt") == mime
    assert mime in detect.IMAGE_TYPES


@pytest.mark.parametrize("mode", ["1", "P", "RGB", "RGBA"])
def test_bitmaps_of_every_depth(mode: str) -> None:
    buffer = io.BytesIO()
    Image.new(mode, (33, 17)).save(buffer, "BMP")
    assert detect.detect_mime_type(buffer.getvalue(), "x") == detect.BMP


@given(st.text(min_size=0, max_size=200))
def test_text_starting_with_bm_stays_text(rest: str) -> None:
    head = ("BM" + rest).encode()
    assert detect.detect_mime_type(head, "notes.txt") != detect.BMP


def test_bm_with_a_plausible_size_but_no_dib_header_is_not_a_bitmap() -> None:
    head = b"BM" + (1000).to_bytes(4, "little") + b"\0" * 4 + (54).to_bytes(4, "little") + b"xxxx"
    assert detect.detect_mime_type(head + b"\0" * 40, "x.bmp") != detect.BMP
