"""Whole jobs with ``blob_url=s3://…``, on SQLite and PostgreSQL: the API process receives the
bytes, a worker with its own data directory (standing in for another machine: it shares only the
database and the bucket) processes them. The bucket is served by moto's ThreadedMotoServer, an
S3 emulator speaking the real REST API (tests/s3server.py says why not MinIO)."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ingestd.config import Settings
from ingestd.store.db import Database
from ingestd.worker import Worker
from tests.conftest import App
from tests.s3server import S3Env


@asynccontextmanager
async def worker_elsewhere(settings: Settings) -> AsyncIterator[Worker]:
    """A worker process of its own in all but the OS process: its own data dir and store."""
    db = Database(settings.resolved_database_url)
    worker = Worker(settings, db, concurrency=4)
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop(grace_seconds=5)
        await db.close()


def _local_blob_files(root: Path) -> list[Path]:
    """Blob-shaped files (named by a sha256) under a local directory."""
    return [p for p in root.rglob("*") if p.is_file() and len(p.name) == 64]


async def test_upload_and_zip_jobs_with_blobs_in_s3(
    start_app: Callable[..., Any],
    make_settings: Callable[..., Settings],
    database_url: str,
    s3: S3Env,
    source_root: Path,
    tmp_path: Path,
) -> None:
    blob_url = f"s3://{s3.bucket}/blobs?endpoint={s3.endpoint}"
    overrides = {"database_url": database_url, "blob_url": blob_url}
    api_dir, worker_dir = tmp_path / "api", tmp_path / "worker"
    with zipfile.ZipFile(source_root / "batch.zip", "w") as archive:
        archive.writestr("inner/zipped.md", "# Zipped\n\nbytes expanded into the bucket " * 10)
    async with (
        start_app(workers=0, data_dir=api_dir, **overrides) as app,
        worker_elsewhere(make_settings(data_dir=worker_dir, **overrides)),
    ):
        ready = (await app.client.get("/ready")).json()
        assert ready["checks"]["blobs"]["ok"], ready

        uploads = {
            "a.md": b"# Alpha\n\nThe first uploaded document. " * 20,
            "b.txt": b"plain words for the second file " * 50,
        }
        job = await _upload_job(app, uploads)
        resumable = b"resumable upload, finished into the bucket " * 30
        await _tus_upload(app, job, "c.txt", resumable)
        await app.client.post(f"/api/v1/jobs/{job}/actions/seal")
        uploads["c.txt"] = resumable
        done = await app.wait_job(job)
        assert done["status"] == "completed", done
        files = {f["name"]: f for f in await app.files(job)}
        for name, body in uploads.items():
            assert files[name]["sha256"] == hashlib.sha256(body).hexdigest()
            assert files[name]["chunks"] >= 1
        chunks = (await app.client.get(f"/api/v1/files/{files['a.md']['id']}/chunks")).json()
        assert "first uploaded document" in chunks["items"][0]["text"]

        response = await app.client.post(
            "/api/v1/jobs",
            json={"sources": [{"type": "zip", "path": "batch.zip"}], "pipeline": "extract"},
        )
        assert response.status_code == 201, response.text
        zipped = await app.wait_job(response.json()["id"])
        assert zipped["status"] == "completed", zipped
        (entry,) = await app.files(zipped["id"])
        assert entry["path"] == "inner/zipped.md" and entry["chunks"] >= 1

    stored = s3.keys()
    for sha in [hashlib.sha256(b).hexdigest() for b in uploads.values()] + [entry["sha256"]]:
        assert f"blobs/{sha[:2]}/{sha[2:4]}/{sha}" in stored
    # Bytes lived in the bucket only: no blob on either machine's disk, no fetched copy left.
    assert _local_blob_files(api_dir) == [] and _local_blob_files(worker_dir) == []
    assert list((api_dir / "blobs" / "uploads").glob("*.part")) == []  # tus partial adopted
    assert list((worker_dir / "blobs" / "tmp").iterdir()) == []


async def test_directory_job_stores_bytes_in_s3(
    start_app: Callable[..., Any],
    database_url: str,
    s3: S3Env,
    docs: Path,
) -> None:
    """The ``store`` pipeline keeps each file's bytes: a streaming (multipart) upload."""
    big = bytes(range(256)) * (40 * 1024)  # 10 MiB: more than one 8 MiB part
    (docs / "big.bin").write_bytes(b"%PDF-1.4\n" + big)
    (docs / "note.md").write_text("# Kept\n\nstored, not parsed\n")
    blob_url = f"s3://{s3.bucket}/keep/?endpoint={s3.endpoint}"
    async with start_app(database_url=database_url, blob_url=blob_url) as app:
        response = await app.client.post(
            "/api/v1/jobs",
            json={"sources": [{"type": "directory", "path": "docs"}], "pipeline": "store"},
        )
        assert response.status_code == 201, response.text
        done = await app.wait_job(response.json()["id"])
        assert done["status"] == "completed", done
        files = await app.files(done["id"])
    assert len(files) == 2
    for item in files:
        sha = item["sha256"]
        out = io.BytesIO()
        s3.client.download_fileobj(s3.bucket, f"keep/{sha[:2]}/{sha[2:4]}/{sha}", out)
        assert hashlib.sha256(out.getvalue()).hexdigest() == sha
        assert (docs / item["path"]).exists()  # the source file stays where it was


async def _upload_job(app: App, uploads: dict[str, bytes]) -> str:
    response = await app.client.post(
        "/api/v1/jobs", json={"sources": [{"type": "upload"}], "pipeline": "extract"}
    )
    assert response.status_code == 201, response.text
    job = str(response.json()["id"])
    parts = [("file", (name, body, "application/octet-stream")) for name, body in uploads.items()]
    response = await app.client.post(f"/api/v1/jobs/{job}/files", files=parts)
    assert response.status_code == 201, response.text
    return job


async def _tus_upload(app: App, job: str, name: str, body: bytes) -> None:
    """A resumable upload in two PATCHes: the partial file is staged locally, the finished
    blob adopted into the bucket (a streaming upload)."""
    metadata = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"job_id": job, "filename": name}.items()
    )
    tus = {"Tus-Resumable": "1.0.0"}
    created = await app.client.post(
        "/api/v1/uploads",
        headers={**tus, "Upload-Length": str(len(body)), "Upload-Metadata": metadata},
    )
    assert created.status_code == 201, created.text
    half = len(body) // 2
    for offset, part in ((0, body[:half]), (half, body[half:])):
        response = await app.client.patch(
            created.headers["location"],
            content=part,
            headers={
                **tus,
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": str(offset),
            },
        )
        assert response.status_code == 204, response.text


async def test_an_unusable_bucket_is_reported_not_hidden(
    start_app: Callable[..., Any], s3: S3Env
) -> None:
    """/ready says the store is down (no details for anonymous callers); an upload that cannot
    be stored is a 503 problem, never a 500, and leaves no staging file behind."""
    blob_url = f"s3://no-such-bucket-{s3.bucket[-6:]}/x?endpoint={s3.endpoint}"
    async with start_app(blob_url=blob_url, workers=0) as app:
        ready = await app.client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["blobs"] == {
            "ok": False,
            "latency_ms": ready.json()["checks"]["blobs"]["latency_ms"],
            "error": "blob store unavailable",
        }
        response = await app.client.post(
            "/api/v1/jobs", json={"sources": [{"type": "upload"}], "pipeline": "extract"}
        )
        job = response.json()["id"]
        upload = await app.client.post(
            f"/api/v1/jobs/{job}/files", files=[("file", ("a.txt", b"some text", "text/plain"))]
        )
        assert upload.status_code == 503, upload.text
        problem = upload.json()
        assert problem["code"] == "unavailable" and "NoSuchBucket" in problem["detail"]
        assert str(app.settings.data_dir) not in problem["detail"]  # no local paths leak
        assert list((app.settings.blob_dir / "tmp").iterdir()) == []
