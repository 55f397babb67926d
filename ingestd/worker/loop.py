"""The worker's loops: claim files into a window, keep their leases (the heartbeat, which also
runs the rescuer), list new sources; and start and stop all of it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter

from ingestd.blobs.url import open_blob_store
from ingestd.config import MAX_PREFETCH, Settings
from ingestd.domain.ids import new_id
from ingestd.domain.retry import RetryPolicy
from ingestd.domain.work import ClaimedFile
from ingestd.events.progress import ProgressEvents
from ingestd.observe import metrics
from ingestd.observe.logs import bound, context_with
from ingestd.pipeline.pool import ExtractionPool
from ingestd.pipeline.scan import ClamdScanner
from ingestd.queue.committer import Committer
from ingestd.queue.content import ContentClaimer
from ingestd.queue.notify import WorkListener
from ingestd.queue.window import ClaimWindow
from ingestd.sources.port import SourceContext
from ingestd.sources.registry import Sources
from ingestd.store import claims as claim_store
from ingestd.store import workers as worker_store
from ingestd.store.claims import Claimed, HandOff
from ingestd.store.db import Database
from ingestd.store.errors import LeaseLost
from ingestd.worker.flight import InFlight, log_retry
from ingestd.worker.heartbeat import Heartbeat
from ingestd.worker.listing import SourceLister
from ingestd.worker.outcomes import OutcomeRecorder
from ingestd.worker.runner import FileRunner

log = logging.getLogger("ingestd.worker")

CONTENDED_RETRY_SECONDS = 0.05


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
        self.sources = Sources(SourceContext(settings, self.blobs))
        self.concurrency = concurrency
        self.pool = pool or ExtractionPool(
            settings.process_count, memory_mb=settings.parser_memory_mb
        )
        # Files in flight: ``concurrency`` at least, more while files are tiny (queue/window.py);
        # downloads stay at ``concurrency`` at once (runner.py).
        self.window = ClaimWindow(concurrency, self.pool.processes * MAX_PREFETCH)
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
        self._committer = Committer(
            db, hand_off=self._hand_off, on_successors=self._take_successors
        )
        self._contents = ContentClaimer(db)
        self._listener = WorkListener(db, self.wake)
        self._progress = ProgressEvents(
            db,
            file_seconds=settings.progress_event_seconds,
            job_seconds=settings.job_progress_event_seconds,
        )
        self.recorder = OutcomeRecorder(
            db,
            self._committer,
            RetryPolicy(settings.retry_base_seconds, settings.retry_max_seconds),
            stopping=self._stopping,
            on_retry_queued=self._wake_at,
        )
        self.runner = FileRunner(
            db=db,
            sources=self.sources,
            pool=self.pool,
            scanner=self.scanner,
            recorder=self.recorder,
            contents=self._contents,
            report=self._step,
            download_slots=concurrency,
            on_content_freed=self._wake.set,
        )
        self.lister = SourceLister(
            db,
            self.sources,
            worker_id=self.id,
            lease_seconds=settings.lease_seconds,
            on_files=self.wake,
        )
        self.heartbeat = Heartbeat(db, settings, worker_id=self.id)
        self._checks: set[asyncio.Task[None]] = set()
        self._held_back = False  # the last claim left files that max_workers held back
        # Per job, successors that completions handed over whose files have not ended yet: a
        # file that ended with its slot handed on needs no claim to fill it.
        self._handed: Counter[str] = Counter()
        # When the next job with a future run_at starts (inf: none), as of the last look; the
        # claim looks again after a wake (a new job) and once that time has come.
        self._next_start = float("inf")
        self._start_unknown = True
        self._timers: set[asyncio.TimerHandle] = set()

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        await worker_store.register_worker(self.db, self.id, now=time.time())
        self._committer.start()
        self._contents.start()
        self._listener.start()
        self._progress.start()
        # Every line these loops (and the files they start) log names this worker.
        self._tasks = [
            asyncio.create_task(loop, name=name, context=context_with(worker_id=self.id))
            for name, loop in (
                ("claim", self._claim_loop()),
                ("heartbeat", self._heartbeat_loop()),
                ("listing", self._listing_loop()),
            )
        ]
        log.info(
            "worker %s started: %d to %d files in flight (more while files are tiny), "
            "%d parser processes",
            self.id,
            self.window.floor,
            self.window.ceiling,
            self.pool.processes,
        )
        await self.runner.check_scanner()

    def wake(self) -> None:
        """New work may be waiting: claim (and list new sources) now, not at the next poll."""
        self._start_unknown = True  # a new job may start later: ask when
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
        for timer in self._timers:
            timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._drain(grace_seconds)
        await self._committer.stop()
        await self._contents.stop()
        await self._listener.stop()
        await self._progress.stop()
        with contextlib.suppress(Exception):
            await worker_store.unregister_worker(self.db, self.id, now=time.time())
        if self._owns_pool:
            await asyncio.to_thread(self.pool.close)

    async def _drain(self, grace_seconds: float) -> None:
        """Let the files in flight finish within the grace period; stop the rest. (A completion
        committed as the worker began to stop may have handed over successors: they are in
        flight too, stopped before they start, and released.)"""
        deadline = time.monotonic() + grace_seconds
        while self._inflight:
            pending = {f.task for f in self._inflight.values()}
            _done, still = await asyncio.wait(pending, timeout=deadline - time.monotonic())
            if still:
                for flight in list(self._inflight.values()):
                    flight.stop("shutdown")
                await asyncio.gather(*still, return_exceptions=True)
                await asyncio.gather(
                    *(f.task for f in self._inflight.values()), return_exceptions=True
                )
                return

    # -- loops -----------------------------------------------------------------------------
    async def _claim_loop(self) -> None:
        # Claim in batches: wait until half the window is free, then fill it in one transaction.
        # No fixed sleep stands between free capacity and claimable work: a claim that came back
        # short waits for new work (``wake``), for a file of ours to end while a job's
        # ``max_workers`` held files back, or for the next ``run_at``; the poll is a fallback.
        while not self._stopping.is_set():
            window = self.window.size
            free = window - len(self._inflight)
            if free < max(1, window // 2):
                await self._wait(self._slot_free)
                continue
            claimed = Claimed()
            try:
                now = time.time()
                look_ahead = self._start_unknown or self._next_start <= now
                claimed = await claim_store.claim_next_files(
                    self.db,
                    self.id,
                    free,
                    now=now,
                    lease_seconds=self.settings.lease_seconds,
                    look_ahead=look_ahead,
                    # a capped job this worker alone runs, if it can use its cap: gate.py
                    prefetch=self.pool.processes,
                )
                if look_ahead and len(claimed) < free:  # it looked
                    self._start_unknown = False
                    self._next_start = claimed.next_start or float("inf")
            except Exception as exc:
                log_retry("claiming files", exc)
            for item in claimed:
                self._start_file(item)
            self._held_back = claimed.held_back
            if claimed.contended:  # a job was busy with another writer: look again shortly
                await self._wait(self._wake, CONTENDED_RETRY_SECONDS)
            elif claimed and claimed.held_back:
                # This claim took a capped job up to its cap: if this worker alone runs it, the
                # next claim takes its files past the cap, prefetched (store/claims.py). Ask now,
                # not after a file ends: hand-offs keep the job going one file at a time, so
                # no file ending may wake this loop for a while.
                continue
            elif len(claimed) < free:  # nothing more to claim for now
                await self._wait(self._wake, self._idle_seconds())

    def _idle_seconds(self) -> float:
        """How long a short claim waits at most: the poll, or less if a job starts sooner."""
        return max(0.0, min(self.settings.poll_seconds, self._next_start - time.time()))

    def _wake_at(self, when: float) -> None:
        """Claim again at ``when`` (seconds since the epoch): a retry's backoff ends then."""

        def fire() -> None:
            self._timers.discard(timer)
            self._wake.set()

        timer = asyncio.get_running_loop().call_later(max(0.0, when - time.time()), fire)
        self._timers.add(timer)

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
                log_retry("heartbeat", exc)

    async def _heartbeat(self) -> None:
        to_stop, rescued = await self.heartbeat.beat(self._inflight)
        for flight in to_stop:
            # Only the attempt the beat asked about: its file may have ended meanwhile and
            # been claimed again, under a new lease that is this worker's to keep.
            if self._inflight.get(flight.claimed.id) is flight:
                flight.stop("cancelled")
        if rescued:
            metrics.RESCUED_FILES.labels(self.id).inc(rescued)
            self.wake()

    async def _listing_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                if await self.lister.list_next():
                    continue
            except Exception as exc:
                log_retry("listing a source", exc)
            await self._wait(self._list_wake, self.settings.poll_seconds)

    # -- files -------------------------------------------------------------------------------
    def _start_file(self, claimed: ClaimedFile) -> InFlight:
        # Its log lines name this worker, whether a claim or a completion's hand-off took it.
        context = context_with(worker_id=self.id)
        task = asyncio.create_task(self._run_file(claimed), name=claimed.id, context=context)
        flight = self._inflight[claimed.id] = InFlight(claimed=claimed, task=task)
        return flight

    def _hand_off(self, ending: int) -> HandOff | None:
        """Whether completions may claim successors for capped jobs now, and how many: as many
        as the batch frees (``ending`` files), while the worker would claim anyway (half its
        window free once they end). A worker whose window is full leaves its free slots to the
        claim, which deals them fairly between tenants."""
        if self._stopping.is_set():
            return None
        window = self.window.size
        after = len(self._inflight) - ending
        if window - after < max(1, window // 2):
            return None
        return HandOff(self.id, self.settings.lease_seconds, limit=ending)

    def _take_successors(self, successors: list[ClaimedFile]) -> None:
        """Files a completion claimed for this worker: they start now, with no claim between."""
        for claimed in successors:
            flight = self._start_file(claimed)
            self._handed[claimed.job_id] += 1
            if self._stopping.is_set():  # stopped before it starts: released untouched
                flight.stop("shutdown")

    async def _run_file(self, claimed: ClaimedFile) -> None:
        flight = self._inflight.get(claimed.id)
        in_flight = metrics.child(metrics.FILES_IN_FLIGHT, self.id)
        in_flight.inc()
        # every log line (and span) about this file names it: observe/logs.py
        context = bound(job_id=claimed.job_id, file_id=claimed.id, tenant=claimed.tenant)
        try:
            if flight is not None:
                flight.started = True
                if flight.stop_reason:
                    raise asyncio.CancelledError()
            await self.runner.run(claimed)
        except LeaseLost:
            metrics.LEASES_LOST.labels(self.id).inc()
            log.warning("lost the lease on %s; its result was discarded", claimed.id)
        except asyncio.CancelledError:
            reason = flight.stop_reason if flight is not None else None
            await self.recorder.after_cancel(claimed, reason or "shutdown")
        except Exception as exc:
            await self.recorder.after_error(claimed, exc)
        finally:
            in_flight.dec()
            context.reset()
            self._inflight.pop(claimed.id, None)
            self._progress.ended(claimed.id, claimed.tenant, claimed.job_id)
            self.window.finished()
            self._slot_free.set()
            if self._handed[claimed.job_id] > 0:  # its slot went on to the job's next file
                self._handed[claimed.job_id] -= 1
                if not self._handed[claimed.job_id]:
                    del self._handed[claimed.job_id]
            elif self._held_back:  # a job's max_workers held files back: this slot may take one
                self._wake.set()

    def _step(self, claimed: ClaimedFile, step: str, progress: float) -> None:
        flight = self._inflight.get(claimed.id)
        if flight is not None:
            flight.step, flight.progress = step, progress
            self._progress.step(
                claimed.id, claimed.tenant, claimed.job_id, step, progress, claimed.name
            )
