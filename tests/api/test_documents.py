"""Documents over HTTP on SQLite and PostgreSQL: a completed file's document as JSON, Markdown
and text (stored once, content-addressed, shared by duplicates, never re-parsed), its original
bytes (Range, ETag, Content-Disposition, 404 no_content), and a job's export (JSONL, a zip of
Markdown)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import orjson

from ingestd.domain.documents import SCHEMA
from tests.conftest import App

REPORT = """# Results

North grew by ten percent.

## Regions

- North
- South

| Region | Q1 |
| --- | --- |
| North | 10 |
| South | 7 |
"""


def stored_documents(root: Path) -> list[Path]:
    """The document blobs under a data directory (the store's files that hold one)."""
    return [p for p in root.rglob("*") if p.is_file() and p.read_bytes().startswith(b'{"schema"')]


async def upload_job(app: App, files: dict[str, bytes], **body: Any) -> dict[str, Any]:
    job = (
        await app.client.post(
            "/api/v1/jobs", json={"sources": [{"type": "upload"}], "pipeline": "extract", **body}
        )
    ).json()
    parts = [("file", (name, data, "application/octet-stream")) for name, data in files.items()]
    response = await app.client.post(
        f"/api/v1/jobs/{job['id']}/files", files=parts, data={"seal": "true"}
    )
    assert response.status_code == 201, response.text
    return await app.wait_job(job["id"])


async def test_a_completed_file_serves_its_document_in_three_formats(app: App) -> None:
    job = await upload_job(app, {"report.md": REPORT.encode()})
    assert job["status"] == "completed", job
    [file] = await app.files(job["id"])
    url = f"/api/v1/files/{file['id']}/document"

    document = (await app.client.get(url)).json()
    assert document["schema"] == SCHEMA == "ingestd.document/1"
    assert document["file_id"] == file["id"] and document["name"] == "report.md"
    kinds = [e["kind"] for e in document["elements"]]
    assert kinds[:2] == ["heading", "paragraph"] and "table" in kinds and "list_item" in kinds
    table = next(e for e in document["elements"] if e["kind"] == "table")
    assert table["table"]["header_rows"] == 1
    assert [c["text"] for c in table["table"]["rows"][1]] == ["North", "10"]
    assert table["section"] == ["Results", "Regions"]
    assert [e["id"] for e in document["elements"]] == [f"e{i}" for i in range(1, len(kinds) + 1)]

    markdown = await app.client.get(url, params={"format": "markdown"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "# Results" in markdown.text and "## Regions" in markdown.text
    assert "- North\n- South" in markdown.text
    assert "| Region | Q1 |\n| --- | --- |\n| North | 10 |" in markdown.text

    text = await app.client.get(url, params={"format": "text"})
    assert text.headers["content-type"].startswith("text/plain")
    assert "North grew by ten percent." in text.text and "#" not in text.text

    bad = await app.client.get(url, params={"format": "pdf"})
    assert bad.status_code == 422 and "format" in bad.json()["detail"]

    chunks = (await app.client.get(f"/api/v1/files/{file['id']}/chunks")).json()["items"]
    ids = {e["id"] for e in document["elements"]}
    assert chunks and all(set(c["metadata"]["element_ids"]) <= ids for c in chunks)


async def test_the_document_is_stored_once_and_shared_by_a_duplicate(app: App) -> None:
    first = await upload_job(app, {"a.md": REPORT.encode()})
    second = await upload_job(app, {"b.md": REPORT.encode()})
    [original] = await app.files(first["id"])
    [duplicate] = await app.files(second["id"])
    assert duplicate["status"] == "skipped" and duplicate["duplicate_of"] == original["id"]
    a = (await app.client.get(f"/api/v1/files/{original['id']}/document")).json()
    b = (await app.client.get(f"/api/v1/files/{duplicate['id']}/document")).json()
    assert b["file_id"] == duplicate["id"] and b["name"] == "b.md"
    assert a["elements"] == b["elements"]
    # one blob holds it: the store's documents are content-addressed
    stored = stored_documents(Path(app.settings.data_dir))
    assert len(stored) == 1, stored


async def test_the_document_is_served_without_parsing_again(app: App) -> None:
    job = await upload_job(app, {"report.md": REPORT.encode()})
    [file] = await app.files(job["id"])
    [path] = stored_documents(Path(app.settings.data_dir))
    data = orjson.loads(path.read_bytes())
    data["elements"][0]["text"] = "Served from the store"
    path.write_bytes(orjson.dumps(data))
    document = (await app.client.get(f"/api/v1/files/{file['id']}/document")).json()
    assert document["elements"][0]["text"] == "Served from the store"


async def test_content_streams_the_original_with_range_and_etag(app: App) -> None:
    body = b"line one\n" * 5000
    job = await upload_job(app, {"notes (1).txt": body})
    [file] = await app.files(job["id"])
    url = f"/api/v1/files/{file['id']}/content"
    whole = await app.client.get(url)
    assert whole.status_code == 200 and whole.content == body
    assert whole.headers["etag"] == f'"{file["sha256"]}"'
    assert whole.headers["content-disposition"].startswith("attachment;")
    assert "notes" in whole.headers["content-disposition"]
    assert whole.headers["accept-ranges"] == "bytes"
    part = await app.client.get(url, headers={"Range": "bytes=9-17"})
    assert part.status_code == 206 and part.content == b"line one\n"
    assert part.headers["content-range"] == f"bytes 9-17/{len(body)}"
    same = await app.client.get(url, headers={"If-None-Match": whole.headers["etag"]})
    assert same.status_code == 304 and not same.content


async def test_no_content_when_the_pipeline_kept_no_bytes(app: App, docs: Path) -> None:
    (docs / "a.md").write_text(REPORT)
    job = (
        await app.client.post(
            "/api/v1/jobs",
            json={"sources": [{"type": "directory", "path": "docs"}], "pipeline": "extract"},
        )
    ).json()
    await app.wait_job(job["id"])
    [file] = await app.files(job["id"])
    response = await app.client.get(f"/api/v1/files/{file['id']}/content")
    assert response.status_code == 404
    problem = response.json()
    assert problem["code"] == "no_content" and "source" in problem["detail"]
    assert response.headers["content-type"] == "application/problem+json"
    # its document is there all the same
    assert (await app.client.get(f"/api/v1/files/{file['id']}/document")).status_code == 200


async def test_a_store_job_has_content_but_no_document(app: App) -> None:
    job = await upload_job(app, {"a.bin": b"\x00\x01" * 100}, pipeline="store")
    [file] = await app.files(job["id"])
    assert (
        await app.client.get(f"/api/v1/files/{file['id']}/content")
    ).content == b"\x00\x01" * 100
    response = await app.client.get(f"/api/v1/files/{file['id']}/document")
    assert response.status_code == 404 and response.json()["code"] == "no_document"
    assert "store" in response.json()["detail"]


async def test_another_tenants_file_is_404(app: App) -> None:
    job = await upload_job(app, {"report.md": REPORT.encode()})
    [file] = await app.files(job["id"])
    other = await app.key(tenant="other")
    for suffix in ("document", "content"):
        response = await app.client.get(
            f"/api/v1/files/{file['id']}/{suffix}", headers={"Authorization": f"Bearer {other}"}
        )
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    response = await app.client.get(
        f"/api/v1/jobs/{job['id']}/export", headers={"Authorization": f"Bearer {other}"}
    )
    assert response.status_code == 404


async def test_export_jsonl_and_markdown(app: App) -> None:
    job = await upload_job(
        app,
        {"report.md": REPORT.encode(), "notes.txt": b"Plain notes.\n\nA second paragraph."},
        options={"chunk_size": 60, "chunk_overlap": 0},
    )
    files = {f["name"]: f for f in await app.files(job["id"])}
    response = await app.client.get(f"/api/v1/jobs/{job['id']}/export")
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = [orjson.loads(line) for line in response.content.splitlines()]
    assert len(lines) == sum(f["chunks"] for f in files.values())
    report = [line for line in lines if line["file_id"] == files["report.md"]["id"]]
    assert [line["index"] for line in report] == list(range(len(report)))
    first = report[0]
    assert first["path"] == "report.md" and first["sha256"] == files["report.md"]["sha256"]
    assert first["element_ids"] and first["element_ids"] == first["metadata"]["element_ids"]
    assert "vector" not in first  # an extract job makes none

    response = await app.client.get(
        f"/api/v1/jobs/{job['id']}/export", params={"format": "markdown"}
    )
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["notes.txt.md", "report.md.md"]
    assert "| North | 10 |" in archive.read("report.md.md").decode()


async def test_export_of_a_full_job_carries_vectors(app: App) -> None:
    job = await upload_job(app, {"report.md": REPORT.encode()}, pipeline="full")
    lines = [
        orjson.loads(line)
        for line in (await app.client.get(f"/api/v1/jobs/{job['id']}/export")).content.splitlines()
    ]
    assert lines and all(len(line["vector"]) > 10 and line["embedder"] for line in lines)


async def test_structure_chunks_in_tokens_through_a_job(app: App) -> None:
    job = await upload_job(
        app,
        {"report.md": REPORT.encode()},
        options={"chunking": "structure", "chunk_unit": "tokens", "chunk_size": 60,
                 "chunk_overlap": 0},
    )  # fmt: skip
    assert job["options"]["chunking"] == "structure" and job["options"]["chunk_unit"] == "tokens"
    [file] = await app.files(job["id"])
    chunks = (await app.client.get(f"/api/v1/files/{file['id']}/chunks")).json()["items"]
    paths = [c["metadata"]["section_path"] for c in chunks]
    assert paths == ["Results", "Results > Regions"], [c["text"] for c in chunks]
    assert chunks[1]["text"].startswith(
        "Regions\n\nNorth\n\nSouth"
    )  # the heading stays with its list
    # the same content chunked another way is processed again, not skipped as a duplicate
    again = await upload_job(app, {"copy.md": REPORT.encode()})
    [copy] = await app.files(again["id"])
    assert copy["status"] == "completed" and copy["duplicate_of"] is None


async def test_unknown_chunking_is_422(app: App) -> None:
    response = await app.client.post(
        "/api/v1/jobs",
        json={"sources": [{"type": "upload"}], "options": {"chunking": "paragraphs"}},
    )
    assert response.status_code == 422
    assert "options.chunking" in response.json()["detail"]


async def test_a_completed_file_says_its_pages_by_text_source(app: App, tmp_path: Path) -> None:
    """Issue #14: pages by text source on the File and in the stats (a PDF's two pages read from
    its text layer; a Markdown file has none)."""
    from tests.api.test_convert import pdf_bytes

    job = await upload_job(app, {"report.pdf": pdf_bytes(tmp_path), "notes.md": REPORT.encode()})
    assert job["status"] == "completed", job
    files = {f["name"]: f for f in await app.files(job["id"])}
    assert files["report.pdf"]["pages"] == {"total": 2, "text_layer": 2, "ocr": 0}
    assert files["notes.md"]["pages"] is None
    one = (await app.client.get(f"/api/v1/files/{files['report.pdf']['id']}")).json()
    assert one["pages"] == {"total": 2, "text_layer": 2, "ocr": 0}
    stats = (await app.client.get("/api/v1/stats")).json()
    assert stats["pages"] == {"total": 2, "text_layer": 2, "ocr": 0}
