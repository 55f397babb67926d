"""A file over the job's max_file_size (or the server's limit) is refused before it is stored:
a tus creation that announces it is 413 before any byte, and a multipart upload stops reading
the part that passes the limit and keeps nothing — no blob, no file row, no temporary file."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

from tests.conftest import App

TUS = {"Tus-Resumable": "1.0.0"}
LIMIT = 1000  # the job's options.max_file_size in these tests


async def small_job(app: App, limit: int = LIMIT) -> str:
    response = await app.client.post(
        "/api/v1/jobs",
        json={"sources": [{"type": "upload"}], "options": {"max_file_size": limit}},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def stored_files(app: App) -> list[Path]:
    """Everything under the blob root but the store's own folders' names."""
    return [p for p in app.settings.blob_dir.rglob("*") if p.is_file()]


async def test_a_tus_creation_over_the_jobs_limit_is_413_before_any_byte(app: App) -> None:
    job_id = await small_job(app)
    refused = await app.client.post(
        "/api/v1/uploads",
        headers={
            **TUS,
            "Upload-Length": str(LIMIT + 1),
            "Upload-Metadata": meta(job_id=job_id, filename="big.bin"),
        },
    )
    assert refused.status_code == 413, refused.text
    problem = refused.json()
    assert problem["code"] == "payload_too_large"
    assert "max_file_size" in problem["detail"] and str(LIMIT) in problem["detail"]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["tus-resumable"] == "1.0.0"
    assert stored_files(app) == []  # not even an empty partial file
    fits = await app.client.post(
        "/api/v1/uploads",
        headers={**TUS, "Upload-Length": str(LIMIT), "Upload-Metadata": meta(job_id=job_id)},
    )
    assert fits.status_code == 201, fits.text


async def test_options_advertise_the_limit_of_an_upload(app: App) -> None:
    job_id = await small_job(app)
    created = await app.client.post(
        "/api/v1/uploads",
        headers={**TUS, "Upload-Defer-Length": "1", "Upload-Metadata": meta(job_id=job_id)},
    )
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    assert (await app.client.options(url)).headers["tus-max-size"] == str(LIMIT)
    server = (await app.client.options("/api/v1/uploads")).headers["tus-max-size"]
    assert server == str(app.settings.max_upload_size)
    # a length announced later is held to the same limit
    late = await app.client.patch(
        url,
        content=b"x",
        headers={
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "0",
            "Upload-Length": str(LIMIT + 1),
        },
    )
    assert late.status_code == 413 and "max_file_size" in late.json()["detail"]


async def test_a_multipart_part_over_the_limit_stops_the_reading_and_keeps_nothing(
    app: App,
) -> None:
    job_id = await small_job(app)
    boundary = "b0undary"
    pulled = 0
    pieces = 200  # 200 x 100 bytes of file: the limit is passed in the 11th piece

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="ok.txt"\r\n'
            f"Content-Type: text/plain\r\n\r\nsmall enough\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        yield head.encode()
        for _ in range(pieces):
            pulled += 1
            yield b"y" * 100
        yield f"\r\n--{boundary}--\r\n".encode()

    refused = await app.client.post(
        f"/api/v1/jobs/{job_id}/files",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert refused.status_code == 413, refused.text
    detail = refused.json()["detail"]
    assert "'big.bin'" in detail and "max_file_size" in detail and "nothing was stored" in detail
    assert pulled < pieces // 2, f"the server read {pulled} of {pieces} pieces past the limit"
    assert await app.files(job_id) == []  # the small file before it is not kept either
    assert stored_files(app) == []  # no blob, no temporary part


async def test_the_servers_limit_applies_when_it_is_lower(start_app: object) -> None:
    async with start_app(max_upload_size=500) as app:  # type: ignore[operator]
        job_id = await small_job(app)
        refused = await app.client.post(
            f"/api/v1/jobs/{job_id}/files", files={"file": ("a.bin", b"z" * 501)}
        )
        assert refused.status_code == 413
        assert "INGESTD_MAX_UPLOAD_SIZE" in refused.json()["detail"]
