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
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from ingestd.blobs.url import open_blob_store
from ingestd.config import MAX_PREFETCH, Settings
from ingestd.domain.chunks import TEXT, with_embedding
from ingestd.domain.errors import BadRequest, FileError
from ingestd.domain.ids import new_id
from ingestd.domain.states import Pipeline, Priority
from ingestd.events.progress import ProgressEvents
from ingestd.pipeline import stages
from ingestd.pipeline.fetch import Fetcher
from ingestd.pipeline.pool import ExtractionPool
from ingestd.pipeline.scan import ClamdScanner
from ingestd.queue import listing, registry
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
from ingestd.queue.window import ClaimWindow
from ingestd.sources.base import SourceEntry, SourceError
from ingestd.store import files as file_store
from ingestd.store.db import Database, is_unavailable
from ingestd.store.tables import workers

log = logging.getLogger("ingestd.worker")

T = TypeVar("T")

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
        self.blobs = open_blob_store(settings)
        self.fetcher = Fetcher(settings, self.blobs)  # bytes in a remote blob store or bucket
        self.concurrency = concurrency
        self.pool = pool or ExtractionPool(
            settings.process_count, memory_mb=settings.parser_memory_mb
        )
        # Files in flight: ``concurrency`` at least, more while files are tiny (queue/window.py);
        # downloads stay at ``concurrency`` at once (``_process_fetched``).
        self.window = ClaimWindow(concurrency, self.pool.processes * MAX_PREFETCH)
        self._fetch_slots = asyncio.Semaphore(max(1, concurrency))
        self._owns_pool = pool is None
        # Malware scanning before parsing, when a clamd is configured (pipeline/scan.py).
        self.scanner = (
            ClamdScanner.from_url(settings.clamd, timeout=settings.clamd_timeout_seconds)
            if settings.clamd
            else None
        )
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
            "worker %s started: %d to %d files in flight (more while files are tiny), "
            "%d parser processes",
            self.id,
            self.window.floor,
            self.window.ceiling,
            self.pool.processes,
        )
        if self.scanner is not None:
            await self._check_scanner(self.scanner)

    async def _check_scanner(self, scanner: ClamdScanner) -> None:
        """Say at start whether clamd answers; files fail retryably while it does not."""
        try:
            await asyncio.to_thread(scanner.ping)
            log.info("files are scanned for malware by clamd at %s", scanner.address)
        except FileError as error:
            log.warning("%s; files fail with scan_unavailable until it answers", error.message)

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
        # Claim in batches: wait until half the window is free, then fill it in one transaction.
        while not self._stopping.is_set():
            window = self.window.size
            free = window - len(self._inflight)
            if free < max(1, window // 2):
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
            except Exception as exc:
                _log_retry("claiming files", exc)
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
            except Exception as exc:
                _log_retry("heartbeat", exc)

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
            running=len(self._inflight),  # the registry row, in the same transaction
        )
        for file_id in to_stop:
            flight = self._inflight.get(file_id)
            if flight is not None:
                flight.stop("cancelled")
        silent = registry.gone_after(
            heartbeat_seconds=self.settings.heartbeat_seconds,
            lease_seconds=self.settings.lease_seconds,
        )
        rescued = await rescue_expired(self.db, now=now, gone_before=now - silent)
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
            except Exception as exc:
                _log_retry("listing a source", exc)
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
        if source["type"] == "s3":  # one file per object; downloaded when claimed (fetch.py)
            from ingestd.sources.s3 import iter_s3_objects, source_client

            endpoint = spec.get("endpoint_url") or self.settings.s3_endpoint_url
            return iter_s3_objects(
                source_client(endpoint, self.settings.s3_region),
                bucket=spec["bucket"],
                prefix=spec.get("prefix") or "",
                endpoint_url=endpoint,
                recursive=spec.get("recursive", True),
                include=spec.get("include") or [],
                exclude=spec.get("exclude") or [],
            )
        if source["type"] == "url":  # one file per URL; downloaded when claimed (_process_url)
            from ingestd.sources.url import iter_urls

            return iter_urls(spec["urls"])
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
            await self._process_fetched(claimed)
        except LeaseLost:
            log.warning("lost the lease on %s; its result was discarded", claimed.id)
        except asyncio.CancelledError:
            await self._after_cancel(claimed)
        except Exception as exc:
            if is_unavailable(exc):  # a read failed mid-file: not the file's fault, no attempt lost
                log.warning("the database is unreachable; handing %s back", claimed.id)
                with contextlib.suppress(LeaseLost):
                    await self._record(claimed, lambda: release_file(self.db, claimed))
                return
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
            self.window.finished()
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

    async def _process_fetched(self, claimed: ClaimedFile) -> None:
        """Bytes in a remote blob store or an s3 bucket are downloaded to a temporary local file
        first (pipeline/fetch.py), and a URL's by ``_process_url``; everything else is opened in
        place, with no copy.

        At most ``concurrency`` files download or hold a downloaded copy at once, however wide
        the claim window has grown: a window widened by tiny files must not start dozens of
        large downloads at once when large files follow them.
        """
        download = self.fetcher.remote(claimed)
        if download is None and not _is_url(claimed.local_path):
            await self._process(claimed)
            return
        async with self._fetch_slots:
            if download is None:
                await self._process(claimed)  # a URL: downloaded there, within its deadline
                return
            self._step(claimed, "downloading", 0.0)
            try:
                async with self.fetcher.local_copy(claimed, download) as local:
                    await self._process(local)
            except FileError as error:
                await self._fail(claimed, error)

    async def _process(self, claimed: ClaimedFile) -> None:
        started = time.monotonic()
        options = claimed.options
        deadline = started + float(options.get("timeout_seconds") or 300)
        pipeline = Pipeline(claimed.pipeline)
        if _is_url(claimed.local_path):
            await self._process_url(claimed, deadline)  # downloads, then back here
            return
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
        if self.scanner is not None:  # before anything reads the content beyond its head
            try:
                await asyncio.to_thread(self.scanner.scan_file, claimed.local_path)
            except FileError as error:
                await self._fail(claimed, error, mime_type=inspection.mime_type)
                return
        if options.get("skip_existing", True):
            async with self.db.read() as conn:
                duplicate = await file_store.find_ingested(
                    conn, claimed.tenant, inspection.sha256, claimed.id
                )
            if duplicate:
                await self._record(
                    claimed,
                    lambda: skip_file(
                        self.db,
                        claimed,
                        sha256=inspection.sha256,
                        mime_type=inspection.mime_type,
                        size=inspection.size,
                        duplicate_of=duplicate,
                        now=time.time(),
                    ),
                )
                return
        try:
            outcome = await self._transform(claimed, inspection, pipeline, deadline)
        except FileError as error:
            await self._fail(claimed, error, mime_type=inspection.mime_type)
            return
        outcome.duration_ms = int((time.monotonic() - started) * 1000)
        self._step(claimed, "storing", 0.95)
        await self._record(claimed, lambda: self._committer.complete(claimed, outcome))

    async def _record(self, claimed: ClaimedFile, write: Callable[[], Awaitable[T]]) -> T:
        """Write a file's outcome. While the database is unreachable (a restart, a failover) the
        file stays in flight and the write is tried again with backoff, so finished work is not
        thrown away and the file is never left leased with nobody holding it. The lease decides
        once the database answers: if another worker took the file meanwhile, the write refuses
        (``LeaseLost``) and nothing is stored twice."""
        delay = 0.25  # seconds, doubling up to 5
        while True:
            try:
                return await write()
            except Exception as exc:
                if not is_unavailable(exc) or self._stopping.is_set():
                    raise
                log.warning(
                    "the database is unreachable; recording %s again in %.2g s", claimed.id, delay
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _process_url(self, claimed: ClaimedFile, deadline: float) -> None:
        """A URL file: download it through the outbound guard into a temporary file, process
        that like a local file, then remove it."""
        from dataclasses import replace

        from ingestd.sources import url as url_source

        assert claimed.local_path is not None
        self._step(claimed, "downloading", 0.0)
        limits = url_source.limits_for(
            self.settings,
            max_file_size=claimed.options.get("max_file_size"),
            seconds_left=deadline - time.monotonic(),
        )

        def progress(done: int, declared: int | None) -> None:
            self._step(claimed, "downloading", min(1.0, done / declared) if declared else 0.0)

        policy = url_source.policy_for(self.settings)
        try:
            got = await url_source.download(
                claimed.local_path, self.blobs.tmp_dir(), policy, limits, progress
            )
        except FileError as error:
            await self._fail(claimed, error)
            return
        try:
            name = got.filename or claimed.name
            if name != claimed.name:  # the server's Content-Disposition name wins
                async with self.db.write() as conn:
                    await file_store.update_file(conn, claimed.id, name=name)
            await self._process(replace(claimed, local_path=str(got.path), name=name))
        finally:
            got.path.unlink(missing_ok=True)  # our own temp file: the bytes are processed

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
                stages.copy_to_blob, claimed.local_path, self.blobs, inspection.sha256
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
            bool(options.get("include_notes", False)),
            time_limit=_remaining(deadline),
        )
        outcome.elements = parsed.elements
        outcome.chunks = parsed.chunks
        outcome.blob_key = claimed.blob_key
        if embed and parsed.chunks and not in_one_trip:
            self._step(claimed, "embedding", 0.7)
            name, dim, vectors = await self.pool.run(
                stages.embed_texts,
                [c[TEXT] for c in parsed.chunks],
                options.get("embedder"),
                time_limit=_remaining(deadline),
            )
            outcome.chunks = [
                with_embedding(c, name, dim, v) for c, v in zip(parsed.chunks, vectors, strict=True)
            ]
        return outcome

    async def _fail(
        self, claimed: ClaimedFile, error: FileError, *, mime_type: str | None = None
    ) -> None:
        max_retries = int(claimed.options.get("max_retries", 3))
        backoff = min(
            self.settings.retry_base_seconds * 2 ** (claimed.attempts - 1),
            self.settings.retry_max_seconds,
        )
        await self._record(
            claimed,
            lambda: fail_file(
                self.db,
                claimed,
                error,
                now=time.time(),
                max_retries=max_retries,
                backoff_seconds=backoff,
                mime_type=mime_type,
            ),
        )
        if error.retryable:
            self.wake()


def _log_retry(what: str, exc: Exception) -> None:
    """A loop step failed and will be tried again: one line while the database is unreachable
    (it may be restarting: no traceback per poll), the whole traceback for anything else."""
    if is_unavailable(exc):
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.warning("%s failed, the database is unreachable (%s); retrying", what, reason)
    else:
        log.error("%s failed; retrying", what, exc_info=exc)


def _is_url(path: str | None) -> bool:
    return path is not None and path.startswith(("http://", "https://"))


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
