"""Hostile and broken input: clear errors, nothing lost, the job goes on."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tests.conftest import App


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/jobs/job_01M000000000000000000000000",
        "/api/v1/files/file_01M000000000000000000000000",
        "/api/v1/files/file_01M000000000000000000000000/chunks",
        "/api/v1/jobs/nonsense/files",
    ],
)
async def test_unknown_ids_are_404_problems(sqlite_app: App, path: str) -> None:
    response = await sqlite_app.client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_found" and body["status"] == 404 and body["request_id"]


async def test_action_on_unknown_job_is_404(sqlite_app: App) -> None:
    response = await sqlite_app.client.post("/api/v1/jobs/job_x/actions/pause")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    unknown_action = await sqlite_app.client.post("/api/v1/jobs/job_x/actions/explode")
    assert unknown_action.status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "sources"),
        ({"sources": []}, "sources"),
        ({"sources": [{"type": "ftp"}]}, "sources"),
        ({"sources": [{"type": "upload"}], "priority": "asap"}, "priority"),
        (
            {"sources": [{"type": "upload"}], "options": {"chunk_size": 100, "chunk_overlap": 100}},
            "options",
        ),
        ({"sources": [{"type": "upload"}], "options": {"chunk_sise": 100}}, "chunk_sise"),
        ({"sources": [{"type": "upload"}], "options": {"embedder": "gpt-9"}}, "embedder"),
        ({"sources": [{"type": "upload"}], "run_at": "2030-01-01T00:00:00"}, "run_at"),
    ],
)
async def test_malformed_bodies_are_422_with_fields(
    sqlite_app: App, body: dict[str, object], field: str
) -> None:
    response = await sqlite_app.client.post("/api/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert any(
        field in ".".join(map(str, e["loc"])) or field in e["msg"] for e in problem["errors"]
    ), problem


async def test_invalid_json_is_422(sqlite_app: App) -> None:
    response = await sqlite_app.client.post(
        "/api/v1/jobs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and response.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    "raw",
    [
        "../..",
        "../../etc",
        "/etc",
        "docs/../../..",
        "C:\\Windows\\System32",
        "/Volumes/Secret/data",
        "\\\\server\\share\\x",
        "docs\x00evil",
    ],
)
async def test_source_paths_outside_roots_are_422(sqlite_app: App, docs: Path, raw: str) -> None:
    response = await sqlite_app.client.post(
        "/api/v1/jobs", json={"sources": [{"type": "directory", "path": raw}]}
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error" and "path" in response.json()["detail"]


async def test_bad_source_urls_are_refused_clearly(sqlite_app: App) -> None:
    # More in tests/sources/test_url.py.
    response = await sqlite_app.client.post(
        "/api/v1/jobs", json={"sources": [{"type": "url", "urls": ["file:///etc/passwd"]}]}
    )
    assert response.status_code == 422 and "http" in response.json()["detail"]
    assert response.json()["errors"][0]["loc"] == ["body", "sources", 0, "urls", 0]


def _docx_junk() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types")
        archive.writestr("word/document.xml", "<w:document><broken")
    return buffer.getvalue()


async def test_bad_files_fail_alone_and_can_be_retried(app: App, docs: Path) -> None:
    (docs / "good.md").write_text("# Fine\n\nThis one is fine.")
    (docs / "corrupt.pdf").write_bytes(
        b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer garbage"
    )
    (docs / "corrupt.docx").write_bytes(_docx_junk())
    (docs / "junk.txt").write_bytes(bytes(range(256)) * 10)
    (docs / "empty.txt").write_bytes(b"")
    (docs / "big.txt").write_text("x" * 5000)
    (docs / "page.html").write_text("<html><body><p>not allowed here</p></body></html>")
    body = {
        "sources": [{"type": "directory", "path": "docs"}],
        "options": {
            "max_file_size": 4000,
            "allowed_types": [
                "text/*",
                "application/pdf",
                "application/vnd.openxmlformats-officedocument.*",
            ],
            "max_retries": 0,
        },
    }
    # text/html matches text/*: narrow the allowed types so page.html is refused
    body["options"]["allowed_types"] = [
        "text/markdown",
        "text/plain",
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.*",
    ]  # type: ignore[index]
    job = (await app.client.post("/api/v1/jobs", json=body)).json()
    done = await app.wait_job(job["id"])
    assert done["status"] == "failed"
    assert done["error"]["code"] == "files_failed"
    failed = {f["name"]: f["error"]["code"] for f in await app.files(job["id"], "failed")}
    assert failed == {
        "corrupt.pdf": "parse_error",
        "corrupt.docx": "parse_error",
        "junk.txt": "unsupported_type",
        "empty.txt": "empty_file",
        "big.txt": "too_large",
        "page.html": "type_not_allowed",
    }
    completed = await app.files(job["id"], "completed")
    assert [f["name"] for f in completed] == ["good.md"]
    for item in await app.files(job["id"], "failed"):
        assert item["error"]["message"] and "Traceback" not in item["error"]["message"]

    # retry re-queues the failed files, counting attempts
    (docs / "empty.txt").write_text("now it has words")
    retried = await app.client.post(
        f"/api/v1/jobs/{job['id']}/actions/retry", json={"failed_only": True}
    )
    assert retried.status_code == 200 and retried.json()["status"] in (
        "queued",
        "running",
        "failed",
    )
    again = await app.wait_job(job["id"])
    files = {f["name"]: f for f in await app.files(job["id"])}
    assert files["empty.txt"]["status"] == "completed" and files["empty.txt"]["attempts"] == 2
    assert files["corrupt.pdf"]["status"] == "failed" and files["corrupt.pdf"]["attempts"] == 2
    assert again["status"] == "failed"

    # one file alone
    single = await app.client.post(f"/api/v1/files/{files['junk.txt']['id']}/actions/retry")
    assert single.status_code == 200 and single.json()["status"] == "queued"
    done_file = await app.client.post(f"/api/v1/files/{files['good.md']['id']}/actions/retry")
    assert done_file.status_code == 409


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


async def test_zip_source_refuses_unsafe_names(app: App, source_root: Path) -> None:
    inner = _zip({"deep.txt": b"inside the inner archive"})
    (source_root / "batch.zip").write_bytes(
        _zip(
            {
                "ok.txt": b"plain text file",
                "../escape.txt": b"evil",
                "/abs.txt": b"evil",
                "inner.zip": inner,
            }
        )
    )
    job = (
        await app.client.post(
            "/api/v1/jobs", json={"sources": [{"type": "zip", "path": "batch.zip"}]}
        )
    ).json()
    done = await app.wait_job(job["id"])
    files = {f["path"]: f for f in await app.files(job["id"])}
    assert files["ok.txt"]["status"] == "completed"
    assert files["inner.zip/deep.txt"]["status"] == "completed"
    unsafe = [f for f in files.values() if f["status"] == "failed"]
    assert len(unsafe) == 2 and all(f["error"]["code"] == "unsafe_path" for f in unsafe)
    assert done["status"] == "failed"
    assert not (source_root.parent / "escape.txt").exists()


async def test_zip_bomb_fails_the_source_without_filling_the_disk(
    app: App, source_root: Path
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("zeros.txt", b"\0" * (200 * 1024 * 1024))
    (source_root / "bomb.zip").write_bytes(buffer.getvalue())
    job = (
        await app.client.post(
            "/api/v1/jobs", json={"sources": [{"type": "zip", "path": "bomb.zip"}]}
        )
    ).json()
    done = await app.wait_job(job["id"])
    assert done["status"] == "failed"
    source = done["sources"][0]
    assert (
        source["state"] == "failed"
        and source["error"]["code"] == "zip_bomb"
        and source["error"]["message"]
    )
    blob_bytes = sum(p.stat().st_size for p in app.settings.blob_dir.rglob("*") if p.is_file())
    assert blob_bytes < 10 * 1024 * 1024


async def test_upload_of_a_type_the_job_does_not_allow_is_415(sqlite_app: App) -> None:
    body = {"sources": [{"type": "upload"}], "options": {"allowed_types": ["application/pdf"]}}
    job = (await sqlite_app.client.post("/api/v1/jobs", json=body)).json()
    # named .pdf, but the bytes are plain text: the type comes from the content
    files = [("file", ("report.pdf", b"just some text, not a PDF", "application/pdf"))]
    response = await sqlite_app.client.post(f"/api/v1/jobs/{job['id']}/files", files=files)
    assert response.status_code == 415
    problem = response.json()
    assert problem["code"] == "unsupported_media_type" and "text/plain" in problem["detail"]
    assert (await sqlite_app.client.get(f"/api/v1/jobs/{job['id']}/files")).json()["items"] == []
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
    ok = await sqlite_app.client.post(
        f"/api/v1/jobs/{job['id']}/files", files=[("file", ("x.pdf", pdf, "application/pdf"))]
    )
    assert ok.status_code == 201
