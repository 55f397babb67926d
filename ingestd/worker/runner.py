"""One claimed file, from its claim to its outcome.

1. **Materialise** its bytes through its source's adapter (``sources/``): opened in place when
   they are a local file already, downloaded into a temporary file otherwise (at most
   ``concurrency`` downloads at once, however wide the claim window has grown).
2. **Inspect** (detect by magic bytes, validate, hash), in a thread; **scan** for malware when a
   clamd is configured.
3. **Claim its content** (``skip_existing``): of files with the same content, processed the same
   way, one is processed; the others are skipped against it, or wait for it while it runs
   (``store/content.py``).
4. **Transform** in the process pool: parse and chunk (and embed), or keep the bytes (``store``).
   A capped job (``max_workers``) has at most that many files in parser processes at once: its
   files take turns in the pool's lane of the job (``pipeline/lanes.py``), and the next one
   gets a parser the moment one ends. Its downloads and ``store`` copies, which are not parser
   work, take turns at the job's gate instead (``gate.py``; a download waits before it
   starts). A file's time limit counts from its turn, not from its wait for it.
5. **Record** the outcome (``outcomes.py``).

A ``FileError`` at any step fails the file, with the retry policy deciding whether it is tried
again; anything else is the caller's to handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

from ingestd.domain.chunks import TEXT, with_embedding
from ingestd.domain.errors import FileError
from ingestd.domain.states import Pipeline
from ingestd.domain.timings import StepTimes
from ingestd.domain.work import ClaimedFile, FileOutcome
from ingestd.observe import tracing
from ingestd.observe.metrics import DEDUP_HITS, FILE_SECONDS, PAGES, STEP_SECONDS, child
from ingestd.pipeline import stages
from ingestd.pipeline.lanes import Lane
from ingestd.pipeline.pool import ExtractionPool
from ingestd.pipeline.scan import ClamdScanner
from ingestd.queue.content import ContentClaimer
from ingestd.sources.port import FetchLimits, Source
from ingestd.sources.registry import Sources
from ingestd.store import files as file_store
from ingestd.store.db import Database
from ingestd.worker.gate import JobGates
from ingestd.worker.outcomes import OutcomeRecorder
from ingestd.worker.templates import TemplateStep

log = logging.getLogger("ingestd.worker")

ONE_TRIP_BYTES = 256 * 1024  # files up to this size are parsed and embedded in one pool call
# A duplicate waiting for its original looks again when the original ends, and after this
# long at the latest (the original may be slow; if its worker is lost, the rescuer frees it).
RECHECK_SECONDS = 60.0

StepReporter = Callable[[ClaimedFile, str, float], None]  # (file, step, progress 0..1)

T = TypeVar("T")


def _timed_in_thread(clock: StepTimes, step: str, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """``fn(*args, **kw)``, its wall and thread CPU time added to ``clock`` under ``step``."""
    with clock.thread(step):
        return fn(*args, **kw)


class FileRunner:
    def __init__(
        self,
        *,
        db: Database,
        sources: Sources,
        pool: ExtractionPool,
        scanner: ClamdScanner | None,
        recorder: OutcomeRecorder,
        contents: ContentClaimer,
        report: StepReporter,
        download_slots: int,
        on_content_freed: Callable[[], None],
        gates: JobGates | None = None,
    ) -> None:
        self.db = db
        # A capped job's downloads and store copies past ``max_workers`` wait here (gate.py).
        self.gates = gates or JobGates()
        self.sources = sources
        self.pool = pool
        self.scanner = scanner
        self.recorder = recorder
        self.contents = contents
        self.report = report
        self.on_content_freed = on_content_freed
        self._download_slots = asyncio.Semaphore(max(1, download_slots))
        self.templates = TemplateStep(db, pool)

    async def check_scanner(self) -> None:
        """Say at start whether clamd answers; files fail retryably while it does not."""
        if self.scanner is None:
            return
        try:
            await asyncio.to_thread(self.scanner.ping)
            log.info("files are scanned for malware by clamd at %s", self.scanner.address)
        except FileError as error:
            log.warning("%s; files fail with scan_unavailable until it answers", error.message)

    async def run(self, claimed: ClaimedFile) -> None:
        """Process ``claimed`` and record its outcome. Its time limit (``timeout_seconds``)
        counts from here, downloads included."""
        started = time.monotonic()
        with tracing.span("file", **{"ingestd.file.size": claimed.size}):
            await self._run(claimed, started)
        FILE_SECONDS.labels(self.recorder.last_outcome(claimed.id)).observe(
            time.monotonic() - started
        )

    async def _run(self, claimed: ClaimedFile, started: float) -> None:
        clock = StepTimes()  # where this file's time goes, step by step (domain/timings.py)
        if claimed.ref is None:
            await self.recorder.fail(
                claimed, FileError("access_error", "the file's bytes are not available")
            )
            return
        source = self.sources.for_ref(claimed.ref)
        if not source.is_remote(claimed.ref):
            await self._materialised(claimed, source, started, clock)
            return
        # A download is processing too: a capped job's files wait for their slot before it.
        async with self.gates.passage(claimed):
            started = time.monotonic()  # the time limit counts from the slot, not the wait
            async with self._download_slots:
                self.report(claimed, "downloading", 0.0)
                await self._materialised(claimed, source, started, clock)

    async def _materialised(
        self, claimed: ClaimedFile, source: Source, started: float, clock: StepTimes
    ) -> None:
        assert claimed.ref is not None
        deadline = Deadline(started + claimed.options.timeout_seconds)

        def progress(done: int, declared: int | None) -> None:
            self.report(claimed, "downloading", min(1.0, done / declared) if declared else 0.0)

        limits = FetchLimits(
            max_bytes=claimed.options.max_file_size,
            seconds_left=deadline.at - time.monotonic(),
            on_progress=progress,
        )
        remote = source.is_remote(claimed.ref)
        fetching = time.perf_counter()
        try:
            async with _fetched(source.materialise(claimed.ref, limits)) as local:
                if remote:
                    clock.add(
                        "downloading", wall_ms=(time.perf_counter() - fetching) * 1000, cpu_ms=0
                    )
                if local.name and local.name != claimed.name:  # the server's own name wins
                    async with self.db.write() as conn:
                        await file_store.rename_file(conn, claimed.id, local.name)
                    claimed = dataclasses.replace(claimed, name=local.name)
                await self._process(claimed, local.path, started, deadline, clock)
        except FileError as error:
            await self.recorder.fail(claimed, error)

    async def _process(
        self,
        claimed: ClaimedFile,
        path: Path,
        started: float,
        deadline: Deadline,
        clock: StepTimes,
    ) -> None:
        options = claimed.options
        self.report(claimed, "detecting", 0.05)
        try:
            async with _step("detect"):
                inspection = await asyncio.to_thread(
                    _timed_in_thread,
                    clock,
                    "detecting",
                    stages.inspect_file,
                    str(path),
                    claimed.name,
                    max_file_size=options.max_file_size,
                    allowed_types=options.allowed_types,
                    needs_extractor=claimed.pipeline is not Pipeline.STORE,
                )
        except FileError as error:
            await self.recorder.fail(claimed, error)
            return
        if self.scanner is not None:  # before anything reads the content beyond its head
            try:
                async with _step("scan"):
                    await asyncio.to_thread(
                        _timed_in_thread, clock, "scanning", self.scanner.scan_file, str(path)
                    )
            except FileError as error:
                await self.recorder.fail(claimed, error, mime_type=inspection.mime_type)
                return
        key = stages.content_key_of(inspection.sha256, claimed.pipeline, options)
        held = options.skip_existing
        if held and not await self._claim_content(claimed, inspection, key):
            return
        try:
            waiting = time.monotonic()
            # store copies take turns at the job's gate; parser work in its lane (_transform)
            gated = claimed.pipeline is Pipeline.STORE
            async with self.gates.passage(claimed) if gated else contextlib.nullcontext():
                if gated:
                    waited = time.monotonic() - waiting
                    deadline.extend(waited)
                    clock.add("waiting_for_slot", wall_ms=waited * 1000, cpu_ms=0.0)
                outcome = await self._transform(claimed, path, inspection, deadline, clock)
        except FileError as error:
            await self.recorder.fail(claimed, error, mime_type=inspection.mime_type)
            self._freed(held)
            return
        outcome.content_key, outcome.content_held = key, held
        # waits for the job's turn (gate or lane) are not the file's work
        outcome.duration_ms = int((time.monotonic() - started - deadline.shifted) * 1000)
        outcome.timings = clock.as_dict()
        self.report(claimed, "storing", 0.95)
        async with _step("record"):
            await self.recorder.complete(claimed, outcome)
        self._freed(held)

    async def _claim_content(
        self, claimed: ClaimedFile, inspection: stages.Inspection, key: str
    ) -> bool:
        """Whether this file is the one to process its content; if not, it is skipped against
        the file that was, or waits for the one that is being processed."""
        owner = await self.contents.claim(claimed, key)
        if owner is None:
            return True
        DEDUP_HITS.labels("skipped" if owner.completed else "waiting").inc()
        if owner.completed:
            await self.recorder.skip(
                claimed,
                sha256=inspection.sha256,
                mime_type=inspection.mime_type,
                size=inspection.size,
                duplicate_of=owner.file_id,
            )
        else:
            await self.recorder.wait_for(claimed, owner.file_id, recheck_seconds=RECHECK_SECONDS)
        return False

    def _freed(self, held: bool) -> None:
        """A file that held its content ended: files waiting for it may go (store/content.py)."""
        if held:
            self.on_content_freed()

    async def _transform(
        self,
        claimed: ClaimedFile,
        path: Path,
        inspection: stages.Inspection,
        deadline: Deadline,
        clock: StepTimes,
    ) -> FileOutcome:
        outcome = FileOutcome(
            mime_type=inspection.mime_type, sha256=inspection.sha256, size=inspection.size
        )
        if claimed.pipeline is Pipeline.STORE:
            self.report(claimed, "storing", 0.5)
            async with _step("store"):
                outcome.blob_key = claimed.blob_key or await asyncio.to_thread(
                    _timed_in_thread,
                    clock,
                    "storing",
                    stages.copy_to_blob,
                    str(path),
                    self.sources.context.blob_store(),
                    inspection.sha256,
                )
            return outcome
        options = claimed.options
        cap = options.max_workers
        lane = None if cap is None else Lane(claimed.job_id, cap)
        embed = claimed.pipeline is Pipeline.FULL
        # Small files go through the pool in one trip; large ones in two, so the step shows.
        in_one_trip = embed and inspection.size <= ONE_TRIP_BYTES
        # "parsing" once a parser process has the file: until then it waits for a free one,
        # and its step stays what it was (the wait is timed as "waiting_for_parser").
        async with _step("parse"):  # waiting for a free parser included
            parsed: stages.ParsedFile = await self.pool.run(
                stages.parse_and_chunk,
                str(path),
                inspection.mime_type,
                options.chunk_size,
                options.chunk_overlap,
                (True, options.embedder) if in_one_trip else (False, None),
                options.include_notes,
                options.ocr,
                options.chunking,
                options.chunk_unit,
                time_limit=deadline.left(),
                on_start=self._started(
                    claimed, clock, "parsing", 0.2, None if lane is None else deadline
                ),
                lane=lane,
            )
        for text_source, pages in (
            ("text_layer", parsed.pages - parsed.ocr_pages),
            ("ocr", parsed.ocr_pages),
        ):
            if pages:
                PAGES.labels(text_source).inc(pages)
        outcome.elements = parsed.elements
        outcome.chunks = parsed.chunks
        outcome.blob_key = claimed.blob_key
        outcome.pages, outcome.ocr_pages = parsed.pages, parsed.ocr_pages
        clock.merge(parsed.timings)
        if parsed.document:
            outcome.document_key = await asyncio.to_thread(
                _timed_in_thread,
                clock,
                "storing",
                stages.store_document,
                parsed.document,
                self.sources.context.blob_store(),
            )
        if embed and parsed.chunks and not in_one_trip:
            async with _step("embed"):
                embedded: stages.Embedded = await self.pool.run(
                    stages.embed_texts_timed,
                    [c[TEXT] for c in parsed.chunks],
                    options.embedder,
                    time_limit=deadline.left(),
                    on_start=self._started(claimed, clock, "embedding", 0.7),
                    lane=lane,
                )
            clock.merge(embedded.timings)
            name, dim = embedded.name, embedded.dim
            outcome.chunks = [
                with_embedding(c, name, dim, v)
                for c, v in zip(parsed.chunks, embedded.vectors, strict=True)
            ]
        if embed:
            outcome.embeddings = len(outcome.chunks)
        if options.templates:  # docs/templates.md
            self.report(claimed, "storing", 0.8)
            outcome.needs_mapping = await self.templates.run(
                claimed, path, inspection.mime_type, deadline.left, lane=lane
            )
        return outcome

    def _started(
        self,
        claimed: ClaimedFile,
        clock: StepTimes,
        step: str,
        progress: float,
        deadline: Deadline | None = None,
    ) -> Callable[[], None]:
        """What to do once a parser process takes the file: time the wait for it, show the step.
        With ``deadline`` (a capped job's file waiting for its turn), the wait does not count
        against the file's time limit."""
        asked = time.perf_counter()

        def started() -> None:
            waited = time.perf_counter() - asked
            clock.add("waiting_for_parser", wall_ms=waited * 1000, cpu_ms=0.0)
            if deadline is not None:
                deadline.extend(waited)
            self.report(claimed, step, progress)

        return started


@contextlib.asynccontextmanager
async def _step(name: str) -> AsyncIterator[None]:
    """Time one pipeline step (``ingestd_step_seconds``) and trace it (a span per step)."""
    started = time.perf_counter()
    try:
        with tracing.span(f"step {name}", **{"ingestd.step": name}):
            yield
    finally:
        child(STEP_SECONDS, name).observe(time.perf_counter() - started)


@contextlib.asynccontextmanager
async def _fetched(materialising: contextlib.AbstractAsyncContextManager[T]) -> AsyncIterator[T]:
    """Enter ``materialising`` as the ``fetch`` step: only the entry (open or download) is
    timed, not the processing done while the file is held."""
    async with contextlib.AsyncExitStack() as stack:
        async with _step("fetch"):
            local = await stack.enter_async_context(materialising)
        yield local


class Deadline:
    """When a file's time limit runs out (``time.monotonic``); waits that are not the file's
    work (for its turn in a capped job) push it back."""

    __slots__ = ("at", "shifted")

    def __init__(self, at: float) -> None:
        self.at = at
        self.shifted = 0.0  # seconds pushed back so far

    def extend(self, seconds: float) -> None:
        self.at += seconds
        self.shifted += seconds

    def left(self) -> float:
        """Seconds left; a ``timeout`` error when none are."""
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise FileError("timeout", "the file's time limit ran out", retryable=True)
        return remaining
