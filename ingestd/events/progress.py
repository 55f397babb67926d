"""Progress events, throttled where they are made (the worker), written in batches.

``file.progress``: at most one per file per ``progress_event_seconds``, and only for a change
that has stood that long, so a file that finishes within the window makes none (its
``file.completed`` says all). ``job.updated`` with the Job's ``progress`` object: at most one
per job per ``job_progress_event_seconds`` after its files move. Final events (``file.completed``,
``job.completed``, …) are written by the queue in the same transaction as the change, never here,
so no throttle can drop them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.events import EventType
from ingestd.domain.states import JobStatus
from ingestd.sources.registry import describe_source
from ingestd.store import events as event_store
from ingestd.store import files as file_store
from ingestd.store import jobs as job_store
from ingestd.store.db import Database
from ingestd.store.views import job_view

log = logging.getLogger("ingestd.events")


@dataclass(slots=True)
class _FileState:
    tenant: str
    job_id: str
    name: str
    step: str
    progress: float
    changed_at: float | None  # when the first change not yet reported was made
    reported_at: float = float("-inf")


class ProgressEvents:
    def __init__(self, db: Database, *, file_seconds: float, job_seconds: float) -> None:
        self.db = db
        self.file_seconds = file_seconds
        self.job_seconds = job_seconds
        self._files: dict[str, _FileState] = {}
        self._jobs: dict[str, str] = {}  # job id → tenant, for jobs whose files moved
        self._job_reported: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="progress-events")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # -- what the worker tells us (cheap, synchronous) ---------------------------------------
    def step(
        self, file_id: str, tenant: str, job_id: str, step: str, progress: float, name: str = ""
    ) -> None:
        state = self._files.get(file_id)
        now = time.monotonic()
        if state is None:
            self._files[file_id] = _FileState(tenant, job_id, name, step, progress, now)
            return
        if state.changed_at is None:
            state.changed_at = now
        state.step, state.progress = step, progress

    def ended(self, file_id: str, tenant: str, job_id: str) -> None:
        """The file left this worker (any outcome): no more progress for it; its job moved."""
        self._files.pop(file_id, None)
        self._jobs[job_id] = tenant

    # -- the batch writer -------------------------------------------------------------------
    async def _run(self) -> None:
        tick = min(self.file_seconds, self.job_seconds) / 2
        while True:
            await asyncio.sleep(tick)
            try:
                await self.flush(time.monotonic())
            except Exception:
                log.exception("writing progress events failed; continuing")

    def due_files(self, now: float) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for file_id, state in self._files.items():
            if state.changed_at is None or now - state.changed_at < self.file_seconds:
                continue
            if now - state.reported_at < self.file_seconds:
                continue
            state.changed_at, state.reported_at = None, now
            rows.append(
                {
                    "tenant": state.tenant,
                    "type": EventType.FILE_PROGRESS,
                    "job_id": state.job_id,
                    "file_id": file_id,
                    "data": {
                        "step": state.step,
                        "progress": round(state.progress, 3),
                        "name": state.name,
                    },
                }
            )
        return rows

    def due_jobs(self, now: float) -> dict[str, str]:
        due = {
            job_id: tenant
            for job_id, tenant in self._jobs.items()
            if now - self._job_reported.get(job_id, float("-inf")) >= self.job_seconds
        }
        for job_id in due:
            del self._jobs[job_id]
            self._job_reported[job_id] = now
        if len(self._job_reported) > 1000:  # forget jobs not reported for a while
            self._job_reported = {
                j: t for j, t in self._job_reported.items() if now - t < 10 * self.job_seconds
            }
        return due

    async def flush(self, now: float) -> None:
        rows = self.due_files(now)
        jobs = self.due_jobs(now)
        if not rows and not jobs:
            return
        async with self.db.write() as conn:
            # The jobs' rows locked first (the order every file-changing transaction uses):
            # a file's final event and its job's are then either committed already, so the
            # stale progress row is dropped, or wait for ours, so they land after it.
            await job_store.lock_jobs(conn, [*jobs, *(row["job_id"] for row in rows)])
            running = await file_store.running_files(conn, [row["file_id"] for row in rows])
            rows = [row for row in rows if row["file_id"] in running]
            rows.extend(await self._job_rows(conn, jobs))
            if rows:
                await event_store.append_events(conn, rows)

    async def _job_rows(self, conn: AsyncConnection, jobs: dict[str, str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        if not jobs:
            return rows
        sources = await job_store.sources_of(conn, list(jobs))
        for job_id, tenant in sorted(jobs.items()):  # one lock order: no deadlock with peers
            job = await job_store.get_job(conn, job_id, None, lock=True)
            if job is None or JobStatus(job["status"]).is_terminal:
                continue  # its final event already carries the outcome
            view = await job_view(conn, job, sources.get(job_id, []), describe_source)
            rows.append(
                {
                    "tenant": tenant,
                    "type": EventType.JOB_UPDATED,
                    "job_id": job_id,
                    "data": {"status": job["status"], "progress": view["progress"]},
                }
            )
        return rows
