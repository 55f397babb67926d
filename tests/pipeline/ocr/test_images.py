"""Images through the extractor registry: every format, every frame, hostile files, no extra."""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ingestd.domain.documents import Element
from ingestd.domain.errors import FileError
from ingestd.pipeline import detect
from ingestd.pipeline.extractors import can_extract, extract
from ingestd.pipeline.ocr import _engine
from tests.pipeline.ocr import corpus

FORMATS = {
    "PNG": detect.PNG,
    "JPEG": detect.JPEG,
    "WEBP": detect.WEBP,
    "BMP": detect.BMP,
    "TIFF": detect.TIFF,
}


def _text(elements: list[Element]) -> str:
    return "\n\n".join(element.text for element in elements)


def _detect(path: Path) -> str:
    return detect.detect_mime_type(path.read_bytes()[: detect.HEAD_SIZE], path.name)


@pytest.mark.usefixtures("ocr")
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_format_is_detected_and_read(tmp_path: Path, fmt: str) -> None:
    paragraphs = corpus.paragraphs(7, 3)
    path = tmp_path / f"scan.{fmt.lower()}"
    corpus.text_image(paragraphs).save(path, fmt)
    mime = _detect(path.rename(tmp_path / "renamed.bin"))  # magic bytes, not the extension
    assert mime == FORMATS[fmt]
    elements = extract(tmp_path / "renamed.bin", mime)
    assert corpus.similarity("\n\n".join(paragraphs), _text(elements)) >= 0.95
    assert {e.page for e in elements} == {1}
    assert all(e.kind == "paragraph" for e in elements)
    assert all(e.meta["text_source"] == "ocr" for e in elements)
    assert all(0.8 <= e.meta["ocr_confidence"] <= 1.0 for e in elements)


@pytest.mark.usefixtures("ocr")
def test_a_multi_page_tiff_is_one_page_per_frame(tmp_path: Path) -> None:
    pages = [corpus.paragraphs(seed, 2) for seed in (10, 11, 12)]
    frames = [corpus.text_image(page) for page in pages]
    path = tmp_path / "fax.tiff"
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_deflate")
    elements = extract(path, _detect(path))
    numbers = [e.page or 0 for e in elements]
    assert numbers == sorted(numbers)
    for number, page in enumerate(pages, start=1):
        read = _text([e for e in elements if e.page == number])
        assert corpus.similarity("\n\n".join(page), read) >= 0.95


@pytest.mark.usefixtures("ocr")
def test_a_two_column_image_keeps_column_order(tmp_path: Path) -> None:
    paragraphs = corpus.paragraphs(13, 8)
    [image] = corpus.render_pages(corpus.text_pdf([paragraphs], columns=2), dpi=300)
    path = tmp_path / "columns.png"
    image.save(path)
    flat = " ".join(_text(extract(path, detect.PNG)).split())
    found = [flat.find(" ".join(p.split()[:6])) for p in paragraphs]
    assert -1 not in found and found == sorted(found)


@pytest.mark.usefixtures("ocr")
def test_transparency_16_bit_and_palette_images_are_flattened(tmp_path: Path) -> None:
    paragraphs = corpus.paragraphs(14, 1)
    gray = corpus.text_image(paragraphs)
    # black text on a transparent background: naive RGB conversion would make it all black
    transparent = Image.new("RGBA", gray.size, (0, 0, 0, 0))
    transparent.putalpha(Image.eval(gray, lambda v: 255 - v))
    deep = Image.fromarray(np.asarray(gray, dtype=np.uint16) * 257)
    for name, image in {
        "alpha.png": transparent,
        "deep.png": deep,
        "palette.png": gray.convert("P"),
        "bilevel.tiff": gray.point(lambda v: 255 if v > 128 else 0).convert("1"),
    }.items():
        image.save(tmp_path / name)
        read = _text(extract(tmp_path / name, _detect(tmp_path / name)))
        assert corpus.similarity(paragraphs[0], read) >= 0.95, name


@pytest.mark.usefixtures("ocr")
def test_an_image_without_text_has_no_elements(tmp_path: Path) -> None:
    path = tmp_path / "sky.png"
    Image.new("RGB", (800, 600), (120, 170, 230)).save(path)
    assert extract(path, detect.PNG) == []


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` and holds one compressed row: a pixel bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * (width + 1)))
        + chunk(b"IEND", b"")
    )


@pytest.mark.usefixtures("ocr")
@pytest.mark.parametrize(("width", "height"), [(10_000, 10_000), (40_000, 40_000), (40_000, 10)])
def test_pixel_bombs_are_refused_before_decoding(tmp_path: Path, width: int, height: int) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(width, height))
    assert path.stat().st_size < 100_000
    with pytest.raises(FileError) as info:
        extract(path, detect.PNG)
    assert info.value.code == "too_large"
    assert "megapixels" in info.value.message


@pytest.mark.usefixtures("ocr")
def test_corrupt_and_truncated_images_are_parse_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    corpus.text_image(["Some text"]).save(good)
    cases = {
        "junk.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        "truncated.png": good.read_bytes()[: len(good.read_bytes()) // 2],
        "header.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 30,
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(FileError) as info:
            extract(tmp_path / name, _detect(tmp_path / name))
        assert info.value.code == "parse_error", name
        assert not info.value.retryable
        assert "Traceback" not in info.value.message


def test_without_the_extra_an_image_fails_with_ocr_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tesserocr", None)  # import tesserocr → ImportError
    path = tmp_path / "scan.png"
    Image.new("L", (200, 100), 255).save(path)
    assert can_extract(detect.PNG)  # an image is a known type, not "unsupported_type"
    with pytest.raises(FileError) as info:
        extract(path, detect.PNG)
    assert info.value.code == "ocr_unavailable"
    assert "pip install 'ingestd[ocr]'" in info.value.message


def test_without_language_data_the_error_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INGESTD_OCR_LANGUAGES", "eng+deu")
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    monkeypatch.setattr(_engine, "_TESSDATA_DIRS", ())
    path = tmp_path / "scan.png"
    Image.new("L", (200, 100), 255).save(path)
    with pytest.raises(FileError) as info:
        extract(path, detect.PNG)
    assert info.value.code == "ocr_unavailable"
    if "tesserocr" in sys.modules:  # with the binding, the data is what is missing
        assert "apt-get install tesseract-ocr-eng tesseract-ocr-deu" in info.value.message


def test_gif_is_still_unsupported() -> None:
    assert not can_extract("image/gif")


@pytest.mark.usefixtures("ocr")
def test_blank_frames_still_count_as_pages(tmp_path: Path) -> None:
    from ingestd.pipeline.extractors.image import read_pages

    frames = [corpus.text_image(["First page."]), Image.new("L", (600, 400), 255)]
    frames.append(corpus.text_image(["Third page."]))
    path = tmp_path / "three.tiff"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    pages = read_pages(path)
    assert len(pages) == 3
    assert pages[1].words == [] and pages[1].confidence == 0.0
    assert [e.page for e in extract(path, detect.TIFF)] == [1, 3]


@pytest.mark.usefixtures("ocr")
def test_a_noisy_skewed_grey_scan_reads_back(tmp_path: Path) -> None:
    from PIL import ImageFilter

    paragraphs = corpus.paragraphs(31, 6)
    [page] = corpus.render_pages(corpus.text_pdf([paragraphs]), dpi=200)
    rng = np.random.default_rng(1)
    pixels = np.asarray(page.rotate(1.5, expand=True, fillcolor=255), dtype=np.float64)
    pixels = np.clip(pixels * 0.85 + 25 + rng.normal(0, 18, pixels.shape), 0, 255)  # grey paper
    scan = Image.fromarray(pixels.astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6))
    path = tmp_path / "scan.jpg"
    scan.save(path, quality=70, dpi=(200, 200))
    elements = extract(path, detect.JPEG)
    assert corpus.similarity("\n\n".join(paragraphs), _text(elements)) >= 0.95
    assert elements[0].meta["ocr_confidence"] >= 0.85
