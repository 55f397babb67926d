"""Source-side throttling of progress events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from ingestd.events.progress import ProgressEvents
from ingestd.store import events as event_store


def _events(**kw: float) -> ProgressEvents:
    return ProgressEvents(cast(Any, None), file_seconds=kw.get("f", 0.25), job_seconds=0.5)


def test_a_file_that_finishes_within_the_window_makes_no_progress_event() -> None:
    p = _events()
    p.step("f1", "t", "j", "detecting", 0.05)
    p.step("f1", "t", "j", "parsing", 0.2)
    p.ended("f1", "t", "j")
    assert p.due_files(1e9) == []


def test_at_most_one_per_file_per_window_with_the_latest_step() -> None:
    p = _events()
    p.step("f1", "t", "j", "detecting", 0.05)
    p.step("f1", "t", "j", "parsing", 0.2)
    first = p._files["f1"].changed_at
    assert first is not None
    assert p.due_files(first + 0.1) == []  # too soon
    rows = p.due_files(first + 0.3)
    assert [r["data"] for r in rows] == [{"step": "parsing", "progress": 0.2, "name": ""}]
    p.step("f1", "t", "j", "embedding", 0.7)
    assert p.due_files(first + 0.4) == []  # changed, but reported 0.1 s ago
    assert p.due_files(first + 0.3 + 0.26 + 0.25)[0]["data"]["step"] == "embedding"
    assert p.due_files(first + 10) == []  # nothing new


def test_job_updates_are_throttled_per_job() -> None:
    p = _events()
    p.ended("f1", "t", "j")
    assert p.due_jobs(100.0) == {"j": "t"}
    p.ended("f2", "t", "j")
    assert p.due_jobs(100.2) == {}
    assert p.due_jobs(100.6) == {"j": "t"}


async def test_no_progress_event_for_a_file_that_already_ended(
    start_app: Callable[..., Any], database_url: str
) -> None:
    """Regression: a progress row made due just before its file (and job) finished was written
    after the job's final event, so a replay ended on ``file.progress``, not ``job.completed``."""
    async with start_app(database_url=database_url) as app:
        job = (await app.client.post("/api/v1/jobs", json={"sources": [{"type": "upload"}]})).json()
        files = [("file", ("a.txt", b"hello there", "text/plain"))]
        await app.client.post(f"/api/v1/jobs/{job['id']}/files", files=files, data={"seal": "true"})
        await app.wait_job(job["id"])
        [file] = await app.files(job["id"])
        assert app.runtime.db is not None
        progress = ProgressEvents(app.runtime.db, file_seconds=0.01, job_seconds=0.01)
        progress.step(file["id"], "default", job["id"], "parsing", 0.5)
        progress.step(file["id"], "default", job["id"], "embedding", 0.9)
        await progress.flush(1e9)
        async with app.runtime.db.read() as conn:
            events = await event_store.list_events(conn, tenant=None, job_id=job["id"])
        assert events[-1]["type"] == "job.completed"
