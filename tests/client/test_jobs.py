"""The async SDK against the app in process: typed jobs, control, waiting with progress."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestd.client import (
    AsyncClient,
    ConflictError,
    Event,
    EventType,
    FileStatus,
    JobOptions,
    JobStatus,
    NotFoundError,
    Pipeline,
    Priority,
    Progress,
    WaitTimeout,
    sources,
)
from tests.api.test_jobs import write_docs


async def test_create_wait_and_read_a_job(client: AsyncClient, docs: Path) -> None:
    write_docs(docs)
    job = await client.jobs.create(
        sources.directory("docs", include=["*.md", "**/*.csv"]),
        name="notes",
        priority=Priority.HIGH,
        pipeline="extract",
        options=JobOptions(chunk_size=400, chunk_overlap=40),
        labels={"team": "research"},
    )
    assert job.id.startswith("job_") and job.priority is Priority.HIGH
    assert job.pipeline is Pipeline.EXTRACT and job.options["chunk_size"] == 400
    seen: list[Progress] = []
    events: list[Event] = []
    final = await client.jobs.wait(job.id, on_progress=seen.append, on_event=events.append)
    assert final.status is JobStatus.COMPLETED and final.completed_at is not None
    assert final.progress.files.completed == final.progress.files.total == 6
    assert seen and seen[-1].status is JobStatus.COMPLETED and seen[-1].eta_seconds == 0
    assert seen[-1].files_percent == 100.0 and seen[-1].job_id == job.id
    assert all(e.job_id == job.id for e in events)
    files = [f async for f in client.jobs.files(job.id)]
    assert {f.relative_path for f in files} == {f"note{i}.md" for i in range(5)} | {
        "nested/table.csv"
    }
    assert all(f.status is FileStatus.COMPLETED for f in files)
    table = next(f for f in files if f.path == "nested/table.csv")
    chunks = [c async for c in client.files.chunks(table.id)]
    assert chunks and "ada" in chunks[0].text
    assert (await client.files.get(table.id)).sha256 == table.sha256
    listed = [j.id async for j in client.jobs.list(labels={"team": "research"}, limit=5)]
    assert listed == [job.id]


async def test_actions_are_methods_and_refusals_are_typed(client: AsyncClient) -> None:
    job = await client.jobs.create([sources.upload()], start=False)
    assert job.status is JobStatus.PENDING
    assert (await client.jobs.start(job.id)).status is JobStatus.QUEUED
    assert (await client.jobs.pause(job.id)).status is JobStatus.PAUSED
    with pytest.raises(ConflictError) as refused:
        await client.jobs.pause(job.id)
    assert refused.value.status == 409 and "paused" in refused.value.detail
    assert (await client.jobs.resume(job.id)).status is JobStatus.QUEUED
    cancelled = await client.jobs.cancel(job.id)
    assert cancelled.status is JobStatus.CANCELLED
    with pytest.raises(ConflictError, match="no files to retry"):
        await client.jobs.retry(job.id, failed_only=False)
    await client.jobs.delete(job.id)
    with pytest.raises(NotFoundError):
        await client.jobs.get(job.id)


async def test_wait_gives_up_after_its_timeout_and_the_job_goes_on(client: AsyncClient) -> None:
    job = await client.jobs.create(sources.upload())  # unsealed: it cannot end
    with pytest.raises(WaitTimeout) as gave_up:
        await client.jobs.wait(job.id, timeout=0.5)
    assert gave_up.value.job.id == job.id and gave_up.value.job.status is JobStatus.QUEUED
    assert isinstance(gave_up.value, TimeoutError)


async def test_watch_yields_typed_events_to_the_end(client: AsyncClient, docs: Path) -> None:
    write_docs(docs, count=2)
    job = await client.jobs.create(sources.directory("docs"))
    events = [e async for e in client.watch(job.id)]
    assert events[0].type is EventType.JOB_CREATED
    assert events[-1].type is EventType.JOB_COMPLETED and events[-1].type.ends_job
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs))
    assert sum(e.type is EventType.FILE_COMPLETED for e in events) == 3
