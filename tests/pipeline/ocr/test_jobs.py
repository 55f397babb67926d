"""Images in a real job: OCR'd text reaches the chunks with its source and confidence; without
OCR the image fails alone as ``ocr_unavailable`` and the job's other files go on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ingestd.pipeline.ocr._engine import binding_installed
from tests.pipeline.ocr import corpus


def _folder(source_root: Path, paragraphs: list[str]) -> None:
    folder = source_root / "scans"
    folder.mkdir()
    corpus.text_image(paragraphs).save(folder / "page.png")
    (folder / "notes.md").write_text("# Notes\n\nTyped, not scanned.")


@pytest.mark.usefixtures("ocr")
async def test_an_image_is_ocrd_into_chunks(
    start_app: Callable[..., Any], source_root: Path
) -> None:
    paragraphs = corpus.paragraphs(20, 3)
    _folder(source_root, paragraphs)
    async with start_app() as app:
        body = {"sources": [{"type": "directory", "path": "scans"}]}
        job = (await app.client.post("/api/v1/jobs", json=body)).json()
        assert (await app.wait_job(job["id"]))["status"] == "completed"
        files = {f["name"]: f for f in await app.files(job["id"])}
        image = files["page.png"]
        assert image["mime_type"] == "image/png"
        chunks = (await app.client.get(f"/api/v1/files/{image['id']}/chunks")).json()["items"]
        text = "\n\n".join(chunk["text"] for chunk in chunks)
        assert corpus.similarity("\n\n".join(paragraphs), text) >= 0.95
        for chunk in chunks:
            assert chunk["metadata"]["text_source"] == "ocr"
            assert 0.8 <= chunk["metadata"]["ocr_confidence"] <= 1.0
            assert chunk["metadata"]["page"] == 1


async def test_without_ocr_the_image_fails_alone(
    start_app: Callable[..., Any], source_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Language data nobody installed: the engine cannot start, as on a worker without the extra.
    # (An environment variable reaches the extraction processes, a patched module would not.)
    monkeypatch.setenv("INGESTD_OCR_LANGUAGES", "qqq")
    _folder(source_root, corpus.paragraphs(21, 1))
    async with start_app() as app:
        body = {"sources": [{"type": "directory", "path": "scans"}], "options": {"max_retries": 0}}
        job = (await app.client.post("/api/v1/jobs", json=body)).json()
        await app.wait_job(job["id"])
        files = {f["name"]: f for f in await app.files(job["id"])}
        assert files["notes.md"]["status"] == "completed"
        assert files["page.png"]["status"] == "failed"
        assert files["page.png"]["error"]["code"] == "ocr_unavailable"
        message = files["page.png"]["error"]["message"]
        hint = "tesseract-ocr-qqq" if binding_installed() else "pip install 'ingestd[ocr]'"
        assert hint in message
