"""tus 1.0 over HTTP, in process, on SQLite and PostgreSQL: the protocol and every error status."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ingestd.store.events import list_events
from tests.conftest import App
from tests.eventually import eventually

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}


def meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


async def upload_job(app: App, client: httpx.AsyncClient | None = None) -> str:
    client = client or app.client
    response = await client.post(
        "/api/v1/jobs", json={"sources": [{"type": "upload"}], "pipeline": "extract"}
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]  # type: ignore[no-any-return]


async def create(
    app: App, job_id: str, length: int | None, **extra: str
) -> tuple[httpx.Response, str]:
    headers = {**TUS, "Upload-Metadata": meta(job_id=job_id, filename="notes.txt", **extra)}
    if length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(length)
    response = await app.client.post("/api/v1/uploads", headers=headers)
    assert response.status_code == 201, response.text
    return response, response.headers["location"]


async def patch(app: App, url: str, offset: int, body: bytes, **headers: str) -> httpx.Response:
    return await app.client.patch(
        url, content=body, headers={**OCTETS, "Upload-Offset": str(offset), **headers}
    )


async def test_options_advertises_the_protocol(app: App) -> None:
    response = await app.client.options("/api/v1/uploads")
    assert response.status_code == 204
    assert response.headers["tus-resumable"] == "1.0.0"
    assert response.headers["tus-version"] == "1.0.0"
    extensions = set(response.headers["tus-extension"].split(","))
    assert {"creation", "creation-with-upload", "creation-defer-length"} <= extensions
    assert {"termination", "checksum", "expiration"} <= extensions
    assert int(response.headers["tus-max-size"]) == app.settings.max_upload_size
    assert set(response.headers["tus-checksum-algorithm"].split(",")) == {"sha1", "sha256"}


async def test_chunks_resume_and_land_as_a_queued_job_file(app: App) -> None:
    data = b"The quick brown fox jumps over the lazy dog.\n" * 2000
    job_id = await upload_job(app)
    created, url = await create(
        app, job_id, len(data), sha256=hashlib.sha256(data).hexdigest(), team="x"
    )
    assert created.headers["tus-resumable"] == "1.0.0" and created.headers["upload-expires"]
    first = await patch(app, url, 0, data[:30000])
    assert first.status_code == 204 and first.headers["upload-offset"] == "30000"
    head = await app.client.head(url, headers=TUS)
    assert head.status_code == 200 and head.headers["upload-offset"] == "30000"
    assert head.headers["upload-length"] == str(len(data))
    assert head.headers["cache-control"] == "no-store"
    assert "job_id" in head.headers["upload-metadata"]
    done = await patch(app, url, 30000, data[30000:])
    assert done.status_code == 204 and done.headers["upload-offset"] == str(len(data))

    files = await app.files(job_id)
    assert len(files) == 1 and files[0]["name"] == "notes.txt"
    assert files[0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert files[0]["size"] == len(data) and files[0]["metadata"]["team"] == "x"
    blob = app.settings.blob_dir / files[0]["sha256"][:2] / files[0]["sha256"][2:4]
    assert (blob / files[0]["sha256"]).read_bytes() == data
    await app.client.post(f"/api/v1/jobs/{job_id}/actions/seal")
    assert (await app.wait_job(job_id))["status"] == "completed"

    assert app.runtime.db is not None
    async with app.runtime.db.read() as conn:
        events = await list_events(conn, tenant=None, job_id=job_id)
    progress = [e for e in events if e["type"] == "upload.progress"]
    assert progress and progress[-1]["data"]["offset"] == len(data)
    assert progress[-1]["data"]["final"] and "bytes_per_second" in progress[-1]["data"]


async def test_creation_with_upload_and_deferred_length(app: App) -> None:
    job_id = await upload_job(app)
    headers = {
        **OCTETS,
        "Upload-Defer-Length": "1",
        "Upload-Metadata": meta(job_id=job_id, filename="a.txt"),
    }
    response = await app.client.post("/api/v1/uploads", headers=headers, content=b"hello ")
    assert response.status_code == 201 and response.headers["upload-offset"] == "6"
    url = response.headers["location"]
    head = await app.client.head(url, headers=TUS)
    assert head.headers["upload-defer-length"] == "1"
    done = await patch(app, url, 6, b"world", **{"Upload-Length": "11"})
    assert done.status_code == 204 and done.headers["upload-offset"] == "11"
    files = await app.files(job_id)
    assert files[0]["sha256"] == hashlib.sha256(b"hello world").hexdigest()


async def test_checksums_are_checked_per_patch(app: App) -> None:
    job_id = await upload_job(app)
    _, url = await create(app, job_id, 8)
    good = base64.b64encode(hashlib.sha1(b"abcd").digest()).decode()
    ok = await patch(app, url, 0, b"abcd", **{"Upload-Checksum": f"sha1 {good}"})
    assert ok.status_code == 204 and ok.headers["upload-offset"] == "4"
    sha = base64.b64encode(hashlib.sha256(b"efgh").digest()).decode()
    done = await patch(app, url, 4, b"efgh", **{"Upload-Checksum": f"sha256 {sha}"})
    assert done.status_code == 204 and done.headers["upload-offset"] == "8"


async def test_460_checksum_mismatch_discards_the_patch(app: App) -> None:
    job_id = await upload_job(app)
    _, url = await create(app, job_id, 8)
    wrong = base64.b64encode(hashlib.sha1(b"other").digest()).decode()
    response = await patch(app, url, 0, b"abcd", **{"Upload-Checksum": f"sha1 {wrong}"})
    assert response.status_code == 460 and response.headers["tus-resumable"] == "1.0.0"
    assert response.json()["code"] == "checksum_mismatch"
    head = await app.client.head(url, headers=TUS)
    assert head.headers["upload-offset"] == "0"
    done = await patch(app, url, 0, b"abcdefgh")
    assert done.status_code == 204
    assert (await app.files(job_id))[0]["sha256"] == hashlib.sha256(b"abcdefgh").hexdigest()


async def test_460_whole_file_sha256_mismatch(app: App) -> None:
    job_id = await upload_job(app)
    _, url = await create(app, job_id, 4, sha256="0" * 64)
    response = await patch(app, url, 0, b"abcd")
    assert response.status_code == 460
    assert (await app.client.head(url, headers=TUS)).status_code == 410
    assert await app.files(job_id) == []


async def test_409_offset_mismatch(app: App) -> None:
    job_id = await upload_job(app)
    _, url = await create(app, job_id, 10)
    assert (await patch(app, url, 0, b"12345")).status_code == 204
    response = await patch(app, url, 3, b"45678")
    assert response.status_code == 409 and response.json()["code"] == "offset_mismatch"
    assert response.headers["tus-resumable"] == "1.0.0"


async def test_412_unsupported_version(app: App) -> None:
    response = await app.client.head("/api/v1/uploads/upl_x", headers={"Tus-Resumable": "0.2.2"})
    assert response.status_code == 412 and response.headers["tus-version"] == "1.0.0"
    post = await app.client.post("/api/v1/uploads", headers={"Upload-Length": "1"})
    assert post.status_code == 412 and post.json()["code"] == "tus_version_unsupported"


async def test_413_over_max_size(start_app: Any, database_url: str) -> None:
    async with start_app(database_url=database_url, max_upload_size=100) as app:
        job_id = await upload_job(app)
        headers = {**TUS, "Upload-Length": "101", "Upload-Metadata": meta(job_id=job_id)}
        response = await app.client.post("/api/v1/uploads", headers=headers)
        assert response.status_code == 413 and response.headers["tus-resumable"] == "1.0.0"
        _, url = await create(app, job_id, 10)
        too_long = await patch(app, url, 0, b"x" * 11)
        assert too_long.status_code == 413
        assert (await app.client.head(url, headers=TUS)).headers["upload-offset"] == "0"
        _, deferred = await create(app, job_id, None)
        assert (await patch(app, deferred, 0, b"x" * 101)).status_code == 413


async def test_415_wrong_content_type(app: App) -> None:
    job_id = await upload_job(app)
    _, url = await create(app, job_id, 4)
    response = await app.client.patch(
        url,
        content=b"abcd",
        headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 415 and response.headers["tus-resumable"] == "1.0.0"


async def test_404_unknown_and_other_tenant(app: App) -> None:
    missing = await app.client.head("/api/v1/uploads/upl_nope", headers=TUS)
    assert missing.status_code == 404 and missing.headers["tus-resumable"] == "1.0.0"
    job_id = await upload_job(app)
    _, url = await create(app, job_id, 4)
    other = await app.key("member", "other")
    foreign = {"Authorization": f"Bearer {other}"}
    assert (await app.client.head(url, headers={**TUS, **foreign})).status_code == 404
    response = await app.client.patch(
        url, content=b"abcd", headers={**OCTETS, **foreign, "Upload-Offset": "0"}
    )
    assert response.status_code == 404


async def test_410_terminated_and_expired(start_app: Any, database_url: str) -> None:
    async with start_app(database_url=database_url, tus_expiry_seconds=0.3) as app:
        job_id = await upload_job(app)
        _, url = await create(app, job_id, 10)
        assert (await app.client.delete(url, headers=TUS)).status_code == 204
        assert (await app.client.head(url, headers=TUS)).status_code == 410
        assert (await patch(app, url, 0, b"x")).status_code == 410

        _, stale = await create(app, job_id, 10)
        assert (await patch(app, stale, 0, b"abc")).status_code == 204
        await eventually(  # expired 0.3 s after its last byte
            lambda: app.client.head(stale, headers=TUS), until=lambda r: r.status_code == 410
        )
        upload_id = stale.rsplit("/", 1)[1]
        partial = app.settings.blob_dir / "uploads" / f"{upload_id}.part"
        assert partial.exists()
        assert await app.asgi.state.tus.expire() == 1
        assert not partial.exists()


async def test_423_when_a_second_patch_races_the_first(app: App) -> None:
    job_id = await upload_job(app)
    _, url = await create(app, job_id, 8)
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield b"abcd"
        started.set()
        await release.wait()
        yield b"efgh"

    first = asyncio.create_task(
        app.client.patch(url, content=slow_body(), headers={**OCTETS, "Upload-Offset": "0"})
    )
    await asyncio.wait_for(started.wait(), 10)  # it reads its body under the upload's lock
    second = await patch(app, url, 0, b"abcdefgh")
    assert second.status_code == 423 and second.json()["code"] == "upload_locked"
    assert second.headers["tus-resumable"] == "1.0.0"
    assert (await app.client.delete(url, headers=TUS)).status_code == 423
    release.set()
    assert (await first).status_code == 204
    assert (await app.files(job_id))[0]["sha256"] == hashlib.sha256(b"abcdefgh").hexdigest()


async def test_creation_checks_the_job(app: App) -> None:
    no_job = await app.client.post(
        "/api/v1/uploads", headers={**TUS, "Upload-Length": "3", "Upload-Metadata": meta(a="b")}
    )
    assert no_job.status_code == 400 and "job_id" in no_job.json()["detail"]
    unknown = await app.client.post(
        "/api/v1/uploads",
        headers={**TUS, "Upload-Length": "3", "Upload-Metadata": meta(job_id="job_nope")},
    )
    assert unknown.status_code == 404
    job_id = await upload_job(app)
    await app.client.post(f"/api/v1/jobs/{job_id}/actions/seal")
    sealed = await app.client.post(
        "/api/v1/uploads",
        headers={**TUS, "Upload-Length": "3", "Upload-Metadata": meta(job_id=job_id)},
    )
    assert sealed.status_code == 409
    viewer = await app.key("viewer")
    refused = await app.client.post(
        "/api/v1/uploads",
        headers={
            **TUS,
            "Authorization": f"Bearer {viewer}",
            "Upload-Length": "3",
            "Upload-Metadata": meta(job_id=job_id),
        },
    )
    assert refused.status_code == 403


@pytest.mark.parametrize("restart_cache", [True, False])
async def test_resume_rehashes_when_the_hash_state_is_gone(app: App, restart_cache: bool) -> None:
    data = bytes(range(256)) * 4000
    job_id = await upload_job(app)
    _, url = await create(app, job_id, len(data))
    assert (await patch(app, url, 0, data[:500_000])).status_code == 204
    if restart_cache:
        app.asgi.state.tus._hashes.clear()  # as after a restart, or in another process
    assert (await patch(app, url, 500_000, data[500_000:])).status_code == 204
    assert (await app.files(job_id))[0]["sha256"] == hashlib.sha256(data).hexdigest()


async def test_every_tus_call_but_options_needs_a_key(app: App) -> None:
    transport = httpx.ASGITransport(app=app.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as anonymous:
        assert (await anonymous.options("/api/v1/uploads")).status_code == 204
        head = await anonymous.head("/api/v1/uploads/upl_x", headers=TUS)
        assert head.status_code == 401 and head.headers["tus-resumable"] == "1.0.0"
        post = await anonymous.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "1"})
        assert post.status_code == 401
