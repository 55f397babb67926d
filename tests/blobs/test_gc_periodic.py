"""The sweep an API process runs every ``blob_gc_seconds``: deleting a job through the API frees
its blob once the blob is past the grace period, and each sweep logs one line."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import Any

import pytest

from ingestd.blobs.local import LocalBlobStore
from tests.blobs.gcdata import age_local
from tests.s3server import S3Env


async def test_deleting_a_job_frees_its_blob_eventually(
    start_app: Callable[..., Any], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ingestd.blobs.gc")
    body = b"uploaded through the API, then its job deleted"
    key = hashlib.sha256(body).hexdigest()
    async with start_app(database_url=database_url, workers=0, blob_gc_seconds=0.05) as app:
        blobs = LocalBlobStore(app.settings.blob_dir)
        created = await app.client.post("/api/v1/jobs", json={"sources": [{"type": "upload"}]})
        job_id = created.json()["id"]
        sent = await app.client.post(
            f"/api/v1/jobs/{job_id}/files", files={"file": ("a.txt", body, "text/plain")}
        )
        assert sent.status_code == 201, sent.text
        assert (await app.client.delete(f"/api/v1/jobs/{job_id}")).status_code == 204
        await asyncio.sleep(0.2)  # a few sweeps: the blob is young, so they keep it
        assert blobs.exists(key)
        age_local(blobs, key)
        deadline = asyncio.get_running_loop().time() + 30
        while blobs.exists(key):
            assert asyncio.get_running_loop().time() < deadline, "the sweep never took the blob"
            await asyncio.sleep(0.05)
    lines = [r.getMessage() for r in caplog.records if r.name == "ingestd.blobs.gc"]
    assert any("deleted 1 blob(s), 46 bytes" in line for line in lines), lines
    assert all(line.startswith("blob gc of ") for line in lines)


async def test_zero_turns_the_sweep_off(start_app: Callable[..., Any]) -> None:
    async with start_app(workers=0, blob_gc_seconds=0) as app:
        assert app.runtime.blob_collector is None


async def test_a_grace_too_short_for_the_store_turns_the_sweep_off_loudly(
    start_app: Callable[..., Any], s3: S3Env, caplog: pytest.LogCaptureFixture
) -> None:
    blob_url = f"s3://{s3.bucket}/blobs?endpoint={s3.endpoint}"
    async with start_app(workers=0, blob_url=blob_url, blob_gc_grace_seconds=3600) as app:
        collector = app.runtime.blob_collector
        assert collector is not None and collector._task is None
    assert "blob gc is off: INGESTD_BLOB_GC_GRACE_SECONDS=3600 is below the 7200 s" in caplog.text
