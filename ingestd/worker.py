"""The worker: claims files and sources, runs the pipeline, reports outcomes.

Embedded in ``ingestd serve`` (same event loop as the API) or alone in ``ingestd worker``.
Parsing and embedding run in a process pool; the loop itself only waits and writes rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from ingestd.blobs.local import LocalBlobStore
from ingestd.config import Settings
from ingestd.domain.errors import BadRequest, FileError
from ingestd.domain.ids import new_id
from ingestd.domain.states import Pipeline, Priority
from ingestd.events.progress import ProgressEvents
from ingestd.pipeline import stages
from ingestd.pipeline.pool import ExtractionPool
from ingestd.queue import listing
from ingestd.queue.claims import Claimed, ClaimedFile, claim_files, renew_leases
from ingestd.queue.committer import Committer
from ingestd.queue.notify import WorkListener
from ingestd.queue.outcomes import (
    FileOutcome,
    LeaseLost,
    cancel_claimed,
    fail_file,
    release_file,
    skip_file,
)
from ingestd.queue.rescue import rescue_expired
from ingestd.sources.base import SourceEntry, SourceError
from ingestd.store import files as file_store
from ingestd.store.db import Database
from ingestd.store.tables import workers

log = logging.getLogger("ingestd.worker")

LIST_BATCH = 500  # files inserted per transaction while listing a source
CONTENDED_RETRY_SECONDS = 0.05
ONE_TRIP_BYTES = 256 * 1024  # files up to this size are parsed and embedded in one pool call


@dataclass(slots=True)
class InFlight:
    claimed: ClaimedFile
    task: asyncio.Task[None]
    step: str = "accessing"
    progress: float = 0.0
    stop_reason: str | None = None  # "cancelled" (job cancelled) or "shutdown"
    started: bool = False

    def stop(self, reason: str) -> None:
        """Stop this file's work. A task that has not started yet is not cancelled (it would
        never run its cleanup): it sees ``stop_reason`` when it starts and cleans up then. Only the
        first call counts: cancelling again would interrupt the cleanup itself."""
        if self.stop_reason is not None:
            return
        self.stop_reason = reason
        if self.started and not self.task.done():
            self.task.cancel()


class Worker:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        concurrency: int,
        pool: ExtractionPool | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.blobs = LocalBlobStore(settings.blob_dir)
        self.concurrency = concurrency
        self.pool = pool or ExtractionPool(
            settings.process_count, memory_mb=settings.parser_memory_mb
        )
        self._owns_pool = pool is None
        self.id = new_id("wrk")
        self._inflight: dict[str, InFlight] = {}
        self._wake = asyncio.Event()
        self._list_wake = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._committer = Committer(db)
        self._listener = WorkListener(db, self.wake)
        self._progress = ProgressEvents(
            db,
            file_seconds=settings.progress_event_seconds,
            job_seconds=settings.job_progress_event_seconds,
        )
        self._checks: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        now = time.time()
        async with self.db.write() as conn:
            await conn.execute(
                workers.insert().values(
                    id=self.id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    started_at=now,
                    last_seen=now,
                    running=0,
                )
            )
        self._committer.start()
        self._listener.start()
        self._progress.start()
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="claim"),
            asyncio.create_task(self._heartbeat_loop(), name="heartbeat"),
            asyncio.create_task(self._listing_loop(), name="listing"),
        ]
        log.info(
            "worker %s started: %d concurrent files, %d parser processes",
            self.id,
            self.concurrency,
            self.pool.processes,
        )

    def wake(self) -> None:
        """New work may be waiting: claim (and list new sources) now, not at the next poll."""
        self._wake.set()
        self._list_wake.set()

    def check_now(self) -> None:
        """Heartbeat now: picks up cancelled jobs at once (the API process signals us)."""
        task = asyncio.get_running_loop().create_task(self._heartbeat())
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    def interrupt_job(self, job_id: str) -> None:
        """Stop this worker's files of a cancelled or deleted job now, not at the next heartbeat."""
        for flight in list(self._inflight.values()):
            if flight.claimed.job_id == job_id and not flight.task.done():
                flight.stop("cancelled")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop claiming, let files in flight finish within the grace period, release the rest."""
        self._stopping.set()
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        pending = [f.task for f in self._inflight.values()]
        if pending:
            _done, still = await asyncio.wait(pending, timeout=grace_seconds)
            for flight in list(self._inflight.values()):
                if flight.task in still:
                    flight.stop("shutdown")
            await asyncio.gather(*still, return_exceptions=True)
        await self._committer.stop()
        await self._listener.stop()
        await self._progress.stop()
        with contextlib.suppress(Exception):
            async with self.db.write() as conn:
                await conn.execute(
                    workers.update()
                    .where(workers.c.id == self.id)
                    .values(stopped_at=time.time(), running=0)
                )
        if self._owns_pool:
            await asyncio.to_thread(self.pool.close)

    # -- loops -----------------------------------------------------------------------------
    async def _claim_loop(self) -> None:
        # Claim in batches: wait until half the slots are free, then fill them in one transaction.
        threshold = max(1, self.concurrency // 2)
        while not self._stopping.is_set():
            free = self.concurrency - len(self._inflight)
            if free < threshold:
                await self._wait(self._slot_free)
                continue
            claimed = Claimed()
            try:
                claimed = await claim_files(
                    self.db,
                    self.id,
                    free,
                    now=time.time(),
                    lease_seconds=self.settings.lease_seconds,
                )
            except Exception:
                log.exception("claiming files failed; retrying")
            for item in claimed:
                task = asyncio.create_task(self._run_file(item), name=item.id)
                self._inflight[item.id] = InFlight(claimed=item, task=task)
            if claimed.contended:  # a job was busy with another writer: look again shortly
                await self._wait(self._wake, CONTENDED_RETRY_SECONDS)
            elif len(claimed) < free:  # the queue is drained for now
                await self._wait(self._wake, self.settings.poll_seconds)

    async def _wait(self, event: asyncio.Event, seconds: float | None = None) -> None:
        with contextlib.suppress(TimeoutError):  # asyncio.timeout: see events/tail.py
            async with asyncio.timeout(seconds):
                await event.wait()
        event.clear()

    async def _heartbeat_loop(self) -> None:
        while not self._stopping.is_set():
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                await self._heartbeat()
            except Exception:
                log.exception("heartbeat failed; retrying")

    async def _heartbeat(self) -> None:
        now = time.time()
        progress = {fid: (f.step, f.progress) for fid, f in self._inflight.items()}
        to_stop = await renew_leases(
            self.db,
            self.id,
            progress,
            now=now,
            lease_seconds=self.settings.lease_seconds,
            job_ids=[f.claimed.job_id for f in self._inflight.values()],
        )
        for file_id in to_stop:
            flight = self._inflight.get(file_id)
            if flight is not None:
                flight.stop("cancelled")
        async with self.db.write() as conn:
            await conn.execute(
                workers.update()
                .where(workers.c.id == self.id)
                .values(last_seen=now, running=len(self._inflight))
            )
        rescued = await rescue_expired(self.db, now=now)
        if rescued:
            log.warning("re-queued %d file(s) whose worker stopped responding", rescued)
            self.wake()

    async def _listing_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                source = await listing.claim_source(
                    self.db, self.id, now=time.time(), lease_seconds=self.settings.lease_seconds
                )
                if source is not None:
                    await self._list_source(source)
                    continue
            except Exception:
                log.exception("listing a source failed; retrying")
            await self._wait(self._list_wake, self.settings.poll_seconds)

    # -- sources -----------------------------------------------------------------------------
    async def _list_source(self, source: dict[str, Any]) -> None:
        job_id, idx = source["job_id"], source["idx"]
        rank = Priority(source["priority"]).rank
        try:
            entries = await asyncio.to_thread(self._open_listing, source)
            while True:
                batch: list[SourceEntry] = await asyncio.to_thread(_take, entries, LIST_BATCH)
                if not batch:
                    break
                now = time.time()
                rows = [
                    listing.file_row(
                        e,
                        job_id=job_id,
                        tenant=source["tenant"],
                        source_index=idx,
                        priority_rank=rank,
                        now=now,
                    )
                    for e in batch
                ]
                lease = (idx, self.id, now + self.settings.lease_seconds)
                if await listing.add_files(self.db, job_id, rows, lease=lease):
                    self.wake()
        except listing.ListingStopped:
            log.info(
                "stopped listing source %d of %s: the job was cancelled or deleted", idx, job_id
            )
            return
        except (SourceError, BadRequest, FileError, OSError) as exc:
            error = _source_error(exc)
            log.warning("source %d of %s failed: %s", idx, job_id, error["message"])
            await listing.finish_listing(
                self.db, job_id, idx, self.id, now=time.time(), error=error
            )
            return
        await listing.finish_listing(self.db, job_id, idx, self.id, now=time.time())

    def _open_listing(self, source: dict[str, Any]) -> Iterator[SourceEntry]:
        from ingestd.sources.archive import expand_zip
        from ingestd.sources.directory import iter_directory

        spec = source["spec"]
        roots = self.settings.resolved_source_roots
        path = Path(spec["resolved_path"])
        if source["type"] == "directory":
            return iter_directory(
                path,
                recursive=spec.get("recursive", True),
                include=spec.get("include") or [],
                exclude=spec.get("exclude") or [],
                roots=roots,
            )
        if source["type"] == "zip":
            return expand_zip(
                path,
                self.blobs,
                include=spec.get("include") or [],
                exclude=spec.get("exclude") or [],
            )
        raise SourceError("unsupported_source", f"source type {source['type']!r} cannot be listed")

    # -- files -------------------------------------------------------------------------------
    async def _run_file(self, claimed: ClaimedFile) -> None:
        flight = self._inflight.get(claimed.id)
        try:
            if flight is not None:
                flight.started = True
                if flight.stop_reason:
                    raise asyncio.CancelledError()
            await self._process(claimed)
        except LeaseLost:
            log.warning("lost the lease on %s; its result was discarded", claimed.id)
        except asyncio.CancelledError:
            await self._after_cancel(claimed)
        except Exception:
            log.exception("unexpected error processing %s", claimed.id)
            with contextlib.suppress(LeaseLost):
                await self._fail(
                    claimed,
                    FileError(
                        "internal_error", "unexpected error; see the server log", retryable=True
                    ),
                )
        finally:
            self._inflight.pop(claimed.id, None)
            self._progress.ended(claimed.id, claimed.tenant, claimed.job_id)
            self._slot_free.set()

    async def _after_cancel(self, claimed: ClaimedFile) -> None:
        flight = self._inflight.get(claimed.id)
        reason = flight.stop_reason if flight else "shutdown"
        with contextlib.suppress(LeaseLost):
            if reason == "cancelled":
                await cancel_claimed(self.db, claimed, now=time.time())
            else:
                await release_file(self.db, claimed)

    def _step(self, claimed: ClaimedFile, step: str, progress: float) -> None:
        flight = self._inflight.get(claimed.id)
        if flight is not None:
            flight.step, flight.progress = step, progress
            self._progress.step(
                claimed.id, claimed.tenant, claimed.job_id, step, progress, claimed.name
            )

    async def _process(self, claimed: ClaimedFile) -> None:
        started = time.monotonic()
        options = claimed.options
        deadline = started + float(options.get("timeout_seconds") or 300)
        pipeline = Pipeline(claimed.pipeline)
        if not claimed.local_path:
            raise FileError("access_error", "the file's bytes are not available", retryable=False)
        self._step(claimed, "detecting", 0.05)
        try:
            inspection = await asyncio.to_thread(
                stages.inspect_file,
                claimed.local_path,
                claimed.name,
                max_file_size=options.get("max_file_size"),
                allowed_types=options.get("allowed_types") or [],
                needs_extractor=pipeline is not Pipeline.STORE,
            )
        except FileError as error:
            await self._fail(claimed, error)
            return
        if options.get("skip_existing", True):
            async with self.db.read() as conn:
                duplicate = await file_store.find_ingested(
                    conn, claimed.tenant, inspection.sha256, claimed.id
                )
            if duplicate:
                await skip_file(
                    self.db,
                    claimed,
                    sha256=inspection.sha256,
                    mime_type=inspection.mime_type,
                    size=inspection.size,
                    duplicate_of=duplicate,
                    now=time.time(),
                )
                return
        try:
            outcome = await self._transform(claimed, inspection, pipeline, deadline)
        except FileError as error:
            await self._fail(claimed, error, mime_type=inspection.mime_type)
            return
        outcome.duration_ms = int((time.monotonic() - started) * 1000)
        self._step(claimed, "storing", 0.95)
        await self._committer.complete(claimed, outcome)

    async def _transform(
        self,
        claimed: ClaimedFile,
        inspection: stages.Inspection,
        pipeline: Pipeline,
        deadline: float,
    ) -> FileOutcome:
        assert claimed.local_path is not None
        outcome = FileOutcome(
            mime_type=inspection.mime_type, sha256=inspection.sha256, size=inspection.size
        )
        if pipeline is Pipeline.STORE:
            self._step(claimed, "storing", 0.5)
            outcome.blob_key = claimed.blob_key or await asyncio.to_thread(
                stages.copy_to_blob, claimed.local_path, str(self.blobs.root), inspection.sha256
            )
            return outcome
        options = claimed.options
        embed = pipeline is Pipeline.FULL
        # Small files go through the pool in one trip; large ones in two, so the step shows.
        in_one_trip = embed and inspection.size <= ONE_TRIP_BYTES
        self._step(claimed, "parsing", 0.2)
        parsed: stages.ParsedFile = await self.pool.run(
            stages.parse_and_chunk,
            claimed.local_path,
            inspection.mime_type,
            int(options.get("chunk_size") or 1000),
            int(options.get("chunk_overlap", 200)),
            (True, options.get("embedder")) if in_one_trip else (False, None),
            time_limit=_remaining(deadline),
        )
        outcome.elements = parsed.elements
        outcome.chunks = parsed.chunks
        outcome.blob_key = claimed.blob_key
        if embed and parsed.chunks and not in_one_trip:
            self._step(claimed, "embedding", 0.7)
            name, dim, vectors = await self.pool.run(
                stages.embed_texts,
                [c["text"] for c in parsed.chunks],
                options.get("embedder"),
                time_limit=_remaining(deadline),
            )
            for chunk, vector in zip(parsed.chunks, vectors, strict=True):
                chunk.update(embedder=name, dim=dim, vector=vector)
        return outcome

    async def _fail(
        self, claimed: ClaimedFile, error: FileError, *, mime_type: str | None = None
    ) -> None:
        max_retries = int(claimed.options.get("max_retries", 3))
        backoff = min(
            self.settings.retry_base_seconds * 2 ** (claimed.attempts - 1),
            self.settings.retry_max_seconds,
        )
        await fail_file(
            self.db,
            claimed,
            error,
            now=time.time(),
            max_retries=max_retries,
            backoff_seconds=backoff,
            mime_type=mime_type,
        )
        if error.retryable:
            self.wake()


def _take(entries: Iterator[SourceEntry], n: int) -> list[SourceEntry]:
    return list(islice(entries, n))


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FileError("timeout", "the file's time limit ran out", retryable=True)
    return remaining


def _source_error(exc: Exception) -> dict[str, str]:
    if isinstance(exc, SourceError):
        return {"code": exc.code, "message": exc.message}
    if isinstance(exc, FileError):
        return {"code": exc.code, "message": exc.message}
    if isinstance(exc, BadRequest):
        return {"code": "invalid_source", "message": exc.detail}
    return {"code": "access_error", "message": str(exc)}


__all__ = ["Worker"]
