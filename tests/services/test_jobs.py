"""services/jobs.py, called directly (no HTTP), on SQLite and PostgreSQL: creating jobs, job
actions as state changes, file retries, deletion — and the signals that wake the workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestd.blobs.local import LocalBlobStore
from ingestd.config import Settings
from ingestd.domain.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from ingestd.domain.states import FileStatus, JobAction, JobStatus
from ingestd.services import jobs as service
from ingestd.store import jobs as job_store
from ingestd.store.db import Database
from ingestd.store.events import list_events
from tests.services.conftest import (
    MEMBER,
    OTHER_TENANT,
    VIEWER,
    Signals,
    job_files,
    set_file_status,
    upload_job,
)


async def _events(db: Database, job_id: str) -> list[str]:
    async with db.read() as conn:
        return [e["type"] for e in await list_events(conn, tenant=None, job_id=job_id)]


async def _status(db: Database, job_id: str) -> str:
    async with db.read() as conn:
        job = await job_store.get_job(conn, job_id, None)
    assert job is not None
    return str(job["status"])


async def test_a_directory_job_is_created_queued_and_wakes_the_workers(
    db: Database, settings: Settings, source_root: Path, signals: Signals
) -> None:
    (source_root / "papers").mkdir()
    body = {"sources": [{"type": "directory", "path": "papers"}], "options": {}}
    job_id = await service.create_job(db, settings, MEMBER, body)
    assert await _status(db, job_id) == "queued"
    assert await _events(db, job_id) == ["job.created"]
    async with db.read() as conn:
        job = await job_store.get_job(conn, job_id, None)
        sources = (await job_store.sources_of(conn, [job_id]))[job_id]
    assert job is not None and job["name"] == "papers" and job["sealed"]
    assert sources[0]["spec"]["resolved_path"] == str(source_root / "papers")
    assert signals.queued == 1


async def test_a_job_created_stopped_wakes_nobody(
    db: Database, settings: Settings, signals: Signals
) -> None:
    body = {"sources": [{"type": "upload"}], "options": {}, "start": False}
    job_id = await service.create_job(db, settings, MEMBER, body)
    assert await _status(db, job_id) == "pending"
    assert signals.queued == 0


@pytest.mark.parametrize(
    ("path", "reason"),
    [("../outside", "outside"), ("missing", "not found")],
)
async def test_a_source_path_is_checked_before_the_job_exists(
    db: Database, settings: Settings, path: str, reason: str
) -> None:
    body = {"sources": [{"type": "directory", "path": path}], "options": {}}
    with pytest.raises(ValidationFailed, match=r"sources\[0\]\.path") as refused:
        await service.create_job(db, settings, MEMBER, body)
    assert reason in refused.value.detail
    async with db.read() as conn:
        assert await job_store.list_jobs(conn, None) == []


async def test_a_viewer_cannot_create_or_act(
    db: Database, settings: Settings, blobs: LocalBlobStore
) -> None:
    with pytest.raises(PermissionDenied):
        await service.create_job(db, settings, VIEWER, {"sources": [{"type": "upload"}]})
    job_id = await upload_job(db, blobs, settings)
    with pytest.raises(PermissionDenied):
        await service.act(db, VIEWER, job_id, JobAction.PAUSE)


async def test_another_tenants_job_is_not_found(
    db: Database, settings: Settings, blobs: LocalBlobStore
) -> None:
    job_id = await upload_job(db, blobs, settings)
    with pytest.raises(NotFound):
        await service.act(db, OTHER_TENANT, job_id, JobAction.PAUSE)


async def test_pause_resume_and_a_refused_transition(
    db: Database, settings: Settings, blobs: LocalBlobStore, signals: Signals
) -> None:
    job_id = await upload_job(db, blobs, settings, b"one")
    assert await service.act(db, MEMBER, job_id, JobAction.PAUSE) is JobStatus.PAUSED
    with pytest.raises(InvalidTransition) as refused:
        await service.act(db, MEMBER, job_id, JobAction.PAUSE)
    assert refused.value.current == "paused"
    assert await service.act(db, MEMBER, job_id, JobAction.RESUME) is JobStatus.QUEUED
    assert signals.queued >= 2  # the upload, the resume
    assert (await _events(db, job_id))[-2:] == ["job.updated", "job.updated"]


async def test_cancel_cancels_the_queued_files_and_signals_the_workers(
    db: Database, settings: Settings, blobs: LocalBlobStore, signals: Signals
) -> None:
    job_id = await upload_job(db, blobs, settings, b"one", b"two")
    assert await service.act(db, MEMBER, job_id, JobAction.CANCEL) is JobStatus.CANCELLED
    assert {f["status"] for f in await job_files(db, job_id)} == {"cancelled"}
    assert signals.cancelled == [job_id]
    assert (await _events(db, job_id))[-1] == "job.cancelled"
    async with db.read() as conn:
        sources = (await job_store.sources_of(conn, [job_id]))[job_id]
    assert sources[0]["n_cancelled"] == 2 and sources[0]["n_queued"] == 0


async def test_retry_requeues_failed_files_or_refuses_when_there_are_none(
    db: Database, settings: Settings, blobs: LocalBlobStore
) -> None:
    job_id = await upload_job(db, blobs, settings, b"one", b"two")
    await service.act(db, MEMBER, job_id, JobAction.SEAL)
    first, second = await job_files(db, job_id)
    await set_file_status(db, first["id"], FileStatus.FAILED)
    await set_file_status(db, second["id"], FileStatus.COMPLETED)
    async with db.write() as conn:
        await job_store.update_job(conn, job_id, status="failed", completed_at=1.0)
    assert await service.act(db, MEMBER, job_id, JobAction.RETRY) is JobStatus.QUEUED
    statuses = {f["id"]: f["status"] for f in await job_files(db, job_id)}
    assert statuses == {first["id"]: "queued", second["id"]: "completed"}

    await set_file_status(db, first["id"], FileStatus.COMPLETED)
    async with db.write() as conn:  # failed, yet no file is (a source failed to list, say)
        await job_store.update_job(conn, job_id, status="failed", completed_at=1.0)
    with pytest.raises(Conflict, match="has no files to retry"):
        await service.act(db, MEMBER, job_id, JobAction.RETRY)


async def test_retry_of_all_runs_a_cancelled_job_again(
    db: Database, settings: Settings, blobs: LocalBlobStore
) -> None:
    job_id = await upload_job(db, blobs, settings, b"one")
    await service.act(db, MEMBER, job_id, JobAction.CANCEL)
    with pytest.raises(Conflict):
        await service.act(db, MEMBER, job_id, JobAction.RETRY)  # failed files only: none
    status = await service.act(db, MEMBER, job_id, JobAction.RETRY, failed_only=False)
    assert status is JobStatus.QUEUED
    assert {f["status"] for f in await job_files(db, job_id)} == {"queued"}


async def test_retry_file_reopens_its_ended_job(
    db: Database, settings: Settings, blobs: LocalBlobStore, signals: Signals
) -> None:
    job_id = await upload_job(db, blobs, settings, b"one")
    [row] = await job_files(db, job_id)
    with pytest.raises(InvalidTransition):
        await service.retry_file(db, MEMBER, row["id"])  # queued: nothing to retry
    await set_file_status(db, row["id"], FileStatus.FAILED)
    async with db.write() as conn:
        await job_store.update_job(conn, job_id, status="failed", completed_at=1.0)
    before = signals.queued
    fresh = await service.retry_file(db, MEMBER, row["id"])
    assert fresh["status"] == "queued" and fresh["completed_at"] is None
    assert await _status(db, job_id) == "queued"
    assert signals.queued == before + 1


async def test_seal_ends_an_upload_job_whose_files_are_done(
    db: Database, settings: Settings, blobs: LocalBlobStore
) -> None:
    job_id = await upload_job(db, blobs, settings, b"one")
    [row] = await job_files(db, job_id)
    await set_file_status(db, row["id"], FileStatus.COMPLETED)
    async with db.write() as conn:
        await job_store.update_job(conn, job_id, status="running", started_at=1.0)
    assert await service.act(db, MEMBER, job_id, JobAction.SEAL) is JobStatus.COMPLETED
    with pytest.raises(Conflict):
        await service.act(db, MEMBER, job_id, JobAction.SEAL)


async def test_delete_removes_the_job_and_signals_a_cancel(
    db: Database, settings: Settings, blobs: LocalBlobStore, signals: Signals
) -> None:
    job_id = await upload_job(db, blobs, settings, b"one")
    await service.delete_job(db, MEMBER, job_id)
    async with db.read() as conn:
        assert await job_store.get_job(conn, job_id, None) is None
    assert await job_files(db, job_id) == []
    assert signals.cancelled == [job_id]
    with pytest.raises(NotFound):
        await service.delete_job(db, MEMBER, job_id)
