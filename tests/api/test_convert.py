"""POST /api/v1/convert on SQLite and PostgreSQL: files and URLs in, documents out, through the
same queue as any job (urgent, the caller's tenant), 202 past wait_seconds, per-request limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from reportlab.pdfgen import canvas

from tests.api.test_documents import REPORT
from tests.conftest import App
from tests.loopback import serve_on_loopback
from tests.net.origin import Origin


def pdf_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "report.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawString(72, 760, "Quarterly report")
    pdf.setFont("Helvetica", 11)
    pdf.drawString(72, 730, "Sales grew in every region this quarter.")
    pdf.showPage()
    pdf.drawString(72, 760, "The second page has the outlook.")
    pdf.save()
    return path.read_bytes()


@pytest.fixture
async def allowed(start_app: Callable[..., Any], database_url: str) -> AsyncIterator[App]:
    async with start_app(
        database_url=database_url, outbound_allow=["127.0.0.1"], convert_max_files=3
    ) as running:
        yield running


async def test_convert_files_to_markdown_with_chunks(allowed: App, tmp_path: Path) -> None:
    response = await allowed.client.post(
        "/api/v1/convert",
        files=[
            ("file", ("report.md", REPORT.encode(), "text/markdown")),
            ("file", ("report.pdf", pdf_bytes(tmp_path), "application/pdf")),
        ],
        data={"format": "markdown", "chunks": "true"},
    )
    assert response.status_code == 200, response.text
    items = {item["name"]: item for item in response.json()["items"]}
    assert items["report.md"]["status"] == "completed"
    assert "| North | 10 |" in items["report.md"]["document"]
    assert "Sales grew in every region" in items["report.pdf"]["document"]
    assert items["report.pdf"]["chunks"][0]["metadata"]["element_ids"]
    # an ordinary job of the caller's tenant, urgent, labelled
    file = (await allowed.client.get(f"/api/v1/files/{items['report.md']['file_id']}")).json()
    job = (await allowed.client.get(f"/api/v1/jobs/{file['job_id']}")).json()
    assert job["priority"] == "urgent" and job["labels"] == {"ingestd": "convert"}
    assert job["pipeline"] == "extract" and job["status"] == "completed"


async def test_convert_json_by_url(allowed: App) -> None:
    origin = Origin()
    origin.files["notes.md"] = b"# Notes\n\nFrom the web.\n"
    async with serve_on_loopback(origin) as port:
        response = await allowed.client.post(
            "/api/v1/convert",
            data={"urls": orjson.dumps([f"http://127.0.0.1:{port}/f/notes.md"]).decode()},
        )
        origin.release.set()
    assert response.status_code == 200, response.text
    [item] = response.json()["items"]
    document = item["document"]
    assert document["schema"] == "ingestd.document/1" and document["name"] == "notes.md"
    assert [e["kind"] for e in document["elements"]] == ["heading", "paragraph"]
    assert "chunks" not in item


async def test_a_file_that_fails_reports_its_error(allowed: App) -> None:
    response = await allowed.client.post(
        "/api/v1/convert",
        files=[("file", ("broken.pdf", b"%PDF-1.7\nnot really a pdf", "application/pdf"))],
    )
    assert response.status_code == 200, response.text
    [item] = response.json()["items"]
    assert item["status"] == "failed" and item["error"]["code"] and "document" not in item


async def test_past_wait_seconds_it_answers_202_with_links(allowed: App) -> None:
    response = await allowed.client.post(
        "/api/v1/convert",
        files=[("file", ("report.md", REPORT.encode() + b"\nmore\n", "text/markdown"))],
        data={"wait_seconds": "0"},
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["job"] == f"/api/v1/jobs/{body['job_id']}"
    [file] = body["files"]
    assert file["url"] == f"/api/v1/files/{file['file_id']}/document"
    await allowed.wait_job(body["job_id"])
    document = await allowed.client.get(file["url"], params={"format": "text"})
    assert "North grew by ten percent." in document.text


async def test_limits_and_refusals(allowed: App) -> None:
    too_many = [("file", (f"f{i}.txt", b"text %d" % i, "text/plain")) for i in range(4)]
    response = await allowed.client.post("/api/v1/convert", files=too_many)
    assert response.status_code in (413, 422), response.text
    assert "3" in response.json()["detail"]

    response = await allowed.client.post("/api/v1/convert", data={"format": "docx"})
    assert response.status_code == 422 and response.json()["detail"].startswith("format:")

    response = await allowed.client.post("/api/v1/convert", data={"urls": "not json"})
    assert response.status_code == 422 and response.json()["detail"] == "urls: not valid JSON"

    response = await allowed.client.post("/api/v1/convert", data={"format": "json"})
    assert response.status_code == 422 and "at least one" in response.json()["detail"]

    response = await allowed.client.post(
        "/api/v1/convert",
        files=[("file", ("a.txt", b"text", "text/plain"))],
        data={"options": '{"chunk_szie": 5}'},
    )
    assert response.status_code == 422 and "chunk_szie" in response.json()["detail"]

    viewer = await allowed.key(role="viewer")
    response = await allowed.client.post(
        "/api/v1/convert",
        files=[("file", ("a.txt", b"text", "text/plain"))],
        headers={"Authorization": f"Bearer {viewer}"},
    )
    assert response.status_code == 403


async def test_over_the_byte_limit_is_413_and_nothing_is_kept(
    start_app: Callable[..., Any],
) -> None:
    async with start_app(convert_max_bytes=1000) as app:
        response = await app.client.post(
            "/api/v1/convert", files=[("file", ("big.txt", b"x" * 5000, "text/plain"))]
        )
        assert response.status_code == 413, response.text
        assert "INGESTD_CONVERT_MAX_BYTES" in response.json()["detail"]
        jobs = (await app.client.get("/api/v1/jobs")).json()["items"]
        assert jobs == []
