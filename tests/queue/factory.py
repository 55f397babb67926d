"""Building queue state directly in the store, for the queue tests on both dialects."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ingestd.domain.ids import new_id
from ingestd.domain.refs import PathRef
from ingestd.domain.states import Priority
from ingestd.domain.work import ClaimedSource, FileOutcome, SourceEntry
from ingestd.store import jobs as job_store
from ingestd.store.db import Database
from ingestd.store.listing import add_listed_files

LEASE = 30.0


async def make_job(
    db: Database,
    n_files: int,
    *,
    priority: Priority = Priority.NORMAL,
    max_workers: int = 100,
    status: str = "queued",
    run_at: float | None = None,
    max_retries: int = 3,
    tenant: str = "t",
    pipeline: str = "extract",
    local_paths: list[str] | None = None,
) -> str:
    """A sealed, listed job with ``n_files`` queued files (of ``local_paths`` when given)."""
    now = time.time()
    job_id = await insert_job(
        db,
        {"type": "directory", "spec": {}, "state": "listed"},
        priority=priority,
        max_workers=max_workers,
        status=status,
        run_at=run_at,
        options={"max_retries": max_retries, "max_workers": max_workers},  # as the API stores
        tenant=tenant,
        pipeline=pipeline,
    )
    source = ClaimedSource(job_id, 0, "directory", {}, tenant, priority.rank)
    entries = [
        SourceEntry(
            name=f"f{i}",
            path=f"f{i}",
            size=10,
            ref=PathRef(local_paths[i] if local_paths else "/nonexistent"),
        )
        for i in range(n_files)
    ]
    await add_listed_files(db, source, entries, now=now)
    return job_id


async def insert_job(
    db: Database,
    source: dict[str, Any],
    *,
    priority: Priority = Priority.NORMAL,
    max_workers: int = 100,
    status: str = "queued",
    run_at: float | None = None,
    options: dict[str, Any] | None = None,
    tenant: str = "t",
    pipeline: str = "extract",
) -> str:
    """A sealed job of one source (``type``, ``spec``, ``state``), as the store holds it."""
    now = time.time()
    job = {
        "id": new_id("job"),
        "tenant": tenant,
        "name": "q",
        "status": status,
        "priority": priority.value,
        "pipeline": pipeline,
        "options": options or {},
        "labels": {},
        "sealed": True,
        "max_workers": max_workers,
        "run_at": run_at,
        "created_at": now,
        "updated_at": now,
    }
    async with db.write() as conn:
        await job_store.insert_job(conn, job, [{"idx": 0, **source}])
    return str(job["id"])


def outcome(n_chunks: int = 2) -> FileOutcome:
    return FileOutcome(
        mime_type="text/plain",
        sha256="0" * 64,
        size=10,
        elements=1,
        chunks=[(i, f"c{i}", 0, 2, "{}", None, None, None) for i in range(n_chunks)],
    )


async def job_row(db: Database, job_id: str) -> dict[str, Any]:
    async with db.read() as conn:
        job = await job_store.get_job(conn, job_id, None)
        assert job is not None
        sources = await job_store.sources_of(conn, [job_id])
    return {**job, "sources": sources[job_id]}


def small_files(folder: Path, n: int, suffix: str = ".txt") -> list[str]:
    """``n`` small, distinct files under ``folder`` (created), by path."""
    folder.mkdir()
    paths = []
    for i in range(n):
        path = folder / f"{i}{suffix}"
        path.write_text(f"# Note {i}\n\nA small file.\n")
        paths.append(str(path))
    return paths
