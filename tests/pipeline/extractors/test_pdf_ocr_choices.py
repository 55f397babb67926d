"""What the PDF extractor does with a page that needs OCR: without the engine, with a thin but
real text layer, and under each ``options.ocr`` (auto, off, force).

The engine is replaced by a fake module (these tests run without the ``ocr`` extra); the real
engine is exercised in ``tests/pipeline/ocr``.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import ValidationError
from reportlab.pdfgen import canvas

from ingestd.domain.content import content_key
from ingestd.domain.errors import FileError
from ingestd.domain.options import JobOptions
from ingestd.pipeline.chunk import chunk_elements
from ingestd.pipeline.extractors import extract_document
from ingestd.pipeline.stages import parse_and_chunk

PDF = "application/pdf"


@dataclass
class _Word:
    text: str
    bbox: tuple[float, float, float, float]
    confidence: float
    block: int = 1
    paragraph: int = 1
    line: int = 1


@dataclass
class _Scan:
    words: list[_Word]
    confidence: float = 0.9
    width: float = 595
    height: float = 842


class _FakeOcr:
    """Stands in for ``ingestd.pipeline.ocr``: a page with the text ``SCAN`` needs OCR for
    ``reason``; OCR reads ``words``."""

    def __init__(self, *, available: bool, reason: str = "no_text_layer", words: int = 2) -> None:
        self.calls = 0
        module = types.ModuleType("ingestd.pipeline.ocr")
        module.ocr_available = lambda: available  # type: ignore[attr-defined]
        module.ink_ratio = lambda page: 0.2  # type: ignore[attr-defined]
        module.page_needs_ocr = self._needs  # type: ignore[attr-defined]
        module.ocr_pdf_page = self._ocr  # type: ignore[attr-defined]
        module.require_ocr = self._require  # type: ignore[attr-defined]
        module.INSTALL_HINT = "pip install 'ingestd[ocr]'"  # type: ignore[attr-defined]
        self.module, self.available, self.reason, self.words = module, available, reason, words

    def _needs(self, text: str, *, char_boxes: int, ink_ratio: float) -> str | None:
        return self.reason if char_boxes == 0 or "SCAN" in text else None

    def _ocr(self, page: object, dpi: int = 300) -> _Scan:
        self.calls += 1
        words = [_Word(f"word{i}", (72 + 40 * i, 100, 110 + 40 * i, 112), 0.9) for i in range(3)]
        return _Scan(words[: self.words])

    def _require(self) -> None:
        if not self.available:
            raise FileError("ocr_unavailable", "install it with pip install 'ingestd[ocr]'")


@pytest.fixture
def fake_ocr(monkeypatch: pytest.MonkeyPatch) -> object:
    def install(**kwargs: object) -> _FakeOcr:
        fake = _FakeOcr(**kwargs)  # type: ignore[arg-type]
        monkeypatch.setitem(sys.modules, "ingestd.pipeline.ocr", fake.module)
        return fake

    return install


def _pdf(path: Path, pages: list[str | None]) -> Path:
    """One page per entry: ``None`` is a scan (ink, no text), a string is a text layer."""
    pdf = canvas.Canvas(str(path))
    for text in pages:
        if text is None:
            pdf.rect(100, 100, 300, 400, fill=1)
        else:
            pdf.drawString(72, 750, text)
        pdf.showPage()
    pdf.save()
    return path


def test_without_the_engine_the_text_layer_stays_and_the_pages_are_named(
    tmp_path: Path, fake_ocr: object
) -> None:
    fake_ocr(available=False)  # type: ignore[operator]
    path = _pdf(tmp_path / "mixed.pdf", [None, "A real text layer.", "SCAN kept as read"])

    document = extract_document(path, PDF)

    assert [(p.text_source, p.needs_ocr, p.ocr_note) for p in document.pages] == [
        ("text_layer", "no_text_layer", "ocr_unavailable"),
        ("text_layer", None, None),
        ("text_layer", "no_text_layer", "ocr_unavailable"),
    ]
    assert [e.text for e in document.elements] == ["A real text layer.", "SCAN kept as read"]
    (warning,) = document.metadata["warnings"]
    assert warning["code"] == "ocr_unavailable" and warning["pages"] == [1, 3]
    assert "pip install 'ingestd[ocr]'" in warning["detail"]
    assert document.to_dict()["pages"][0]["ocr_note"] == "ocr_unavailable"
    assert "ocr_note" not in document.to_dict()["pages"][1]  # ordinary pages: the same JSON


def test_a_scan_only_pdf_without_the_engine_fails_clearly(tmp_path: Path, fake_ocr: object) -> None:
    fake_ocr(available=False)  # type: ignore[operator]
    path = _pdf(tmp_path / "scan.pdf", [None, None])

    with pytest.raises(FileError) as caught:
        extract_document(path, PDF)
    assert caught.value.code == "ocr_unavailable"


def test_a_thin_but_real_text_layer_beats_a_poorer_ocr_reading(
    tmp_path: Path, fake_ocr: object
) -> None:
    fake = fake_ocr(available=True, reason="thin_text_layer", words=1)  # type: ignore[operator]
    path = _pdf(tmp_path / "thin.pdf", ["SCAN with four words"])

    document = extract_document(path, PDF)

    assert fake.calls == 1
    (page,) = document.pages
    assert (page.text_source, page.needs_ocr, page.ocr_note) == (
        "text_layer",
        "thin_text_layer",
        "text_layer_kept",
    )
    assert document.text() == "SCAN with four words"


def test_a_thin_layer_goes_to_ocr_when_ocr_reads_more(tmp_path: Path, fake_ocr: object) -> None:
    fake_ocr(available=True, reason="thin_text_layer", words=3)  # type: ignore[operator]
    path = _pdf(tmp_path / "thin.pdf", ["SCAN"])

    document = extract_document(path, PDF)

    assert document.pages[0].text_source == "ocr"
    assert document.text() == "word0 word1 word2"
    (chunk,) = chunk_elements(document.body(), size=1000, overlap=0)
    assert (chunk.metadata["text_source"], chunk.metadata["ocr_confidence"]) == ("ocr", 0.9)


def test_ocr_off_reads_no_page_and_says_so(tmp_path: Path, fake_ocr: object) -> None:
    fake = fake_ocr(available=True)  # type: ignore[operator]
    path = _pdf(tmp_path / "mixed.pdf", [None, "Text."])

    document = extract_document(path, PDF, ocr="off")

    assert fake.calls == 0
    assert [(p.text_source, p.ocr_note) for p in document.pages] == [
        ("text_layer", "ocr_off"),
        ("text_layer", None),
    ]
    assert document.text() == "Text."
    assert "warnings" not in document.metadata


def test_ocr_force_reads_every_page(tmp_path: Path, fake_ocr: object) -> None:
    fake = fake_ocr(available=True)  # type: ignore[operator]
    path = _pdf(tmp_path / "text.pdf", ["A good text layer.", "Another one."])

    document = extract_document(path, PDF, ocr="force")

    assert fake.calls == 2
    assert [(p.text_source, p.needs_ocr) for p in document.pages] == [("ocr", "forced")] * 2


def test_ocr_force_without_the_engine_fails(tmp_path: Path, fake_ocr: object) -> None:
    fake_ocr(available=False)  # type: ignore[operator]
    path = _pdf(tmp_path / "text.pdf", ["A good text layer."])

    with pytest.raises(FileError) as caught:
        extract_document(path, PDF, ocr="force")
    assert caught.value.code == "ocr_unavailable"


def test_the_option_reaches_the_extractor_through_the_pipeline(
    tmp_path: Path, fake_ocr: object
) -> None:
    fake_ocr(available=False)  # type: ignore[operator]
    path = _pdf(tmp_path / "scan.pdf", [None])

    with pytest.raises(FileError):
        parse_and_chunk(str(path), PDF, 1000, 200)  # auto: a scan needs the engine
    parsed = parse_and_chunk(str(path), PDF, 1000, 200, ocr="off")
    assert parsed.chunks == []


def test_an_image_with_ocr_off_is_an_empty_document_that_says_why(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "page.png"
    Image.new("L", (200, 100), 255).save(path)

    document = extract_document(path, "image/png", ocr="off")

    assert document.elements == []
    assert document.metadata["warnings"][0]["code"] == "ocr_off"


def test_the_option_is_validated_and_shapes_the_content_key() -> None:
    assert JobOptions().ocr == "auto"
    assert JobOptions(ocr="force").ocr == "force"
    with pytest.raises(ValidationError, match="'auto', 'off' or 'force'"):
        JobOptions(ocr="sometimes")  # type: ignore[arg-type]
    key = {
        "chunk_size": 1000,
        "chunk_overlap": 200,
        "embedder": None,
        "extractor_version": 2,
    }
    auto = content_key("ab" * 32, "extract", **key)  # type: ignore[arg-type]
    assert content_key("ab" * 32, "extract", ocr="auto", **key) == auto  # type: ignore[arg-type]
    assert content_key("ab" * 32, "extract", ocr="off", **key) != auto  # type: ignore[arg-type]


def test_the_api_takes_the_option_from_the_domain_model() -> None:
    from ingestd.api.schemas import JobCreate

    job = JobCreate.model_validate({"sources": [{"type": "upload"}], "options": {"ocr": "off"}})
    assert job.options.ocr == "off"
    with pytest.raises(ValidationError, match="ocr"):
        JobCreate.model_validate({"sources": [{"type": "upload"}], "options": {"ocr": "never"}})
