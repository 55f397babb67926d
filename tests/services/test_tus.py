"""services/tus.py, directly (no HTTP): an upload is created, appended to in pieces, finished into
a queued file exactly once, and terminated or expired with its partial bytes removed."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator, Callable

import pytest

from ingestd.blobs.local import LocalBlobStore
from ingestd.config import Settings
from ingestd.domain.errors import BadRequest, NotFound, PayloadTooLarge
from ingestd.services.tus import (
    COMPLETE,
    Checksum,
    ChecksumMismatch,
    Gone,
    OffsetMismatch,
    TusExpiry,
    TusService,
)
from ingestd.store.db import Database
from tests.eventually import eventually
from tests.services.conftest import MEMBER, OTHER_TENANT, Signals, job_files, upload_job


@pytest.fixture
def tus(db: Database, blobs: LocalBlobStore, make_settings: Callable[..., Settings]) -> TusService:
    return TusService(db, blobs, make_settings(max_upload_size=1000).uploads)


async def _body(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def test_an_upload_in_two_pieces_becomes_one_queued_file(
    db: Database, blobs: LocalBlobStore, settings: Settings, tus: TusService, signals: Signals
) -> None:
    job_id = await upload_job(db, blobs, settings)
    data = b"hello, resumable world"
    row = await tus.create(
        MEMBER, length=len(data), metadata={"job_id": job_id, "filename": "h.txt"}
    )
    assert row["status"] == "open" and row["offset"] == 0
    half = await tus.append(MEMBER, row["id"], offset=0, body=_body(data[:10]), content_length=10)
    assert half["offset"] == 10
    assert (await tus.get(MEMBER, row["id"]))["offset"] == 10
    with pytest.raises(OffsetMismatch):
        await tus.append(MEMBER, row["id"], offset=3, body=_body(b"x"))
    queued_before = signals.queued
    done = await tus.append(MEMBER, row["id"], offset=10, body=_body(data[10:]))
    assert done["status"] == COMPLETE and done["sha256"] == hashlib.sha256(data).hexdigest()
    [file] = await job_files(db, job_id)
    assert (file["name"], file["size"], file["status"]) == ("h.txt", len(data), "queued")
    assert file["metadata"]["upload_id"] == row["id"]
    assert signals.queued == queued_before + 1
    again = await tus.append(MEMBER, row["id"], offset=len(data), body=_body())
    assert again["status"] == COMPLETE and len(await job_files(db, job_id)) == 1  # once


async def test_creation_is_refused_without_a_job_or_over_the_limit(
    db: Database, blobs: LocalBlobStore, settings: Settings, tus: TusService
) -> None:
    job_id = await upload_job(db, blobs, settings)
    with pytest.raises(BadRequest, match="job_id"):
        await tus.create(MEMBER, length=1, metadata={})
    with pytest.raises(PayloadTooLarge):
        await tus.create(MEMBER, length=1001, metadata={"job_id": job_id})
    with pytest.raises(NotFound):
        await tus.create(OTHER_TENANT, length=1, metadata={"job_id": job_id})


async def test_a_bad_checksum_discards_the_piece(
    db: Database, blobs: LocalBlobStore, settings: Settings, tus: TusService
) -> None:
    job_id = await upload_job(db, blobs, settings)
    row = await tus.create(MEMBER, length=8, metadata={"job_id": job_id})
    wrong = Checksum("sha256", hashlib.sha256(b"other").digest())
    with pytest.raises(ChecksumMismatch):
        await tus.append(MEMBER, row["id"], offset=0, body=_body(b"abcd"), checksum=wrong)
    assert (await tus.get(MEMBER, row["id"]))["offset"] == 0
    right = Checksum.parse("sha1 " + base64.b64encode(hashlib.sha1(b"abcd").digest()).decode())
    kept = await tus.append(MEMBER, row["id"], offset=0, body=_body(b"abcd"), checksum=right)
    assert kept["offset"] == 4


async def test_terminate_and_expire_remove_the_partial_bytes(
    db: Database, blobs: LocalBlobStore, settings: Settings, tus: TusService
) -> None:
    job_id = await upload_job(db, blobs, settings)
    ended = await tus.create(MEMBER, length=10, metadata={"job_id": job_id})
    await tus.append(MEMBER, ended["id"], offset=0, body=_body(b"12345"))
    await tus.terminate(MEMBER, ended["id"])
    assert not tus.partial(ended["id"]).exists()
    with pytest.raises(Gone):
        await tus.get(MEMBER, ended["id"])

    stale = await tus.create(MEMBER, length=10, metadata={"job_id": job_id})
    assert await tus.expire(now=stale["expires_at"] - 1) == 0
    assert await tus.expire(now=stale["expires_at"] + 1) == 1
    assert not tus.partial(stale["id"]).exists()


async def test_the_expiry_sweep_runs_as_a_service(
    db: Database, blobs: LocalBlobStore, make_settings: Callable[..., Settings]
) -> None:
    """Run by the lifecycle: its first sweep comes at start (what expired while no server ran)."""
    settings = make_settings(tus_expiry_seconds=0.001, tus_cleanup_seconds=0.01)
    tus = TusService(db, blobs, settings.uploads)
    job_id = await upload_job(db, blobs, settings)
    row = await tus.create(MEMBER, length=10, metadata={"job_id": job_id})
    sweep = TusExpiry(tus)
    await sweep.start()
    try:
        await eventually(
            lambda: not tus.partial(row["id"]).exists(), what="the expired upload gone"
        )
    finally:
        await sweep.stop()
