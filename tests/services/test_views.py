"""store/views.py: a job's rows as the API's Job, with progress from its counters."""

from __future__ import annotations

from ingestd.blobs.local import LocalBlobStore
from ingestd.config import Settings
from ingestd.domain.states import FileStatus
from ingestd.store import jobs as job_store
from ingestd.store.db import Database
from ingestd.store.views import file_view, job_view, job_views
from tests.services.conftest import job_files, set_file_status, upload_job


async def test_a_job_view_counts_its_files_and_hides_server_paths(
    db: Database, settings: Settings, blobs: LocalBlobStore
) -> None:
    job_id = await upload_job(db, blobs, settings, b"aaaa", b"bb", b"c")
    first, second, _third = await job_files(db, job_id)
    await set_file_status(db, first["id"], FileStatus.COMPLETED)
    await set_file_status(db, second["id"], FileStatus.FAILED)
    async with db.read() as conn:
        job = await job_store.get_job(conn, job_id, None)
        assert job is not None
        sources = (await job_store.sources_of(conn, [job_id]))[job_id]
        view = await job_view(conn, job, sources)
        [listed] = await job_views(conn, [job])
    files = view["progress"]["files"]
    assert (files["total"], files["completed"], files["failed"], files["queued"]) == (3, 1, 1, 1)
    assert view["progress"]["bytes"] == {
        "total": 7,
        "completed": 6,
        "cancelled": 0,
        "percent": 85.7,
    }
    assert view["created_at"].endswith("Z") and view["completed_at"] is None
    assert view["sources"][0]["type"] == "upload" and "resolved_path" not in view["sources"][0]
    assert listed["id"] == view["id"]


async def test_a_file_view_shows_its_error(
    db: Database, settings: Settings, blobs: LocalBlobStore
) -> None:
    job_id = await upload_job(db, blobs, settings, b"x")
    [row] = await job_files(db, job_id)
    view = file_view({**row, "error_code": "parse_error", "error_message": "not a PDF"})
    assert view["error"] == {"code": "parse_error", "message": "not a PDF"}
    assert file_view(row)["error"] is None and view["job_id"] == job_id


async def test_a_cancelled_job_shows_the_work_done_not_a_full_bar(
    db: Database, settings: Settings, blobs: LocalBlobStore
) -> None:
    from ingestd.domain.auth import Principal, Role
    from ingestd.domain.states import JobAction
    from ingestd.services.jobs import act

    job_id = await upload_job(db, blobs, settings, b"done!", b"never", b"run")
    first, _second, _third = await job_files(db, job_id)
    async with db.write() as conn:
        await job_store.update_job(conn, job_id, status="running", started_at=1.0)
    await set_file_status(db, first["id"], FileStatus.COMPLETED)
    await act(db, Principal("k", "default", Role.MEMBER), job_id, JobAction.CANCEL)
    async with db.read() as conn:
        job = await job_store.get_job(conn, job_id, None)
        assert job is not None
        sources = (await job_store.sources_of(conn, [job_id]))[job_id]
        view = await job_view(conn, job, sources)
    progress = view["progress"]
    assert progress["files"]["percent"] == 33.3 and progress["files"]["cancelled"] == 2
    assert progress["bytes"] == {"total": 13, "completed": 5, "cancelled": 8, "percent": 38.5}
    assert progress["percent"] == 38.5 and progress["eta_seconds"] == 0
    assert view["sources"][0]["progress"]["bytes"]["completed"] == 5
