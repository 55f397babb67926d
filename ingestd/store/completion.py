"""Completing many files in one transaction.

Each file still gets its own lease check (``(id, lease_token)`` must match a running file), so a
file whose lease was lost is refused alone while the rest of the batch commits. Batching turns
~8 round trips per file into ~8 per batch: on SQLite, where writes are serialised, this is what
lets small files flow at hundreds per second.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.events import EventType
from ingestd.domain.ids import new_id
from ingestd.domain.states import FileStatus, JobStatus
from ingestd.domain.work import ClaimedFile, FileOutcome
from ingestd.store import content as content_store
from ingestd.store import files as file_store
from ingestd.store import jobs as job_store
from ingestd.store import timings as timing_store
from ingestd.store import usage as usage_store
from ingestd.store.claims import HandOff, claim_successors, lock_for_successors
from ingestd.store.db import Database
from ingestd.store.errors import LeaseLost, translated
from ingestd.store.finish import finish_job_if_done
from ingestd.store.tables import events, files

Done = tuple[ClaimedFile, FileOutcome]
# Processed to the end: chunks stored, content recorded (a needs_mapping file waits only for a
# template mapping: docs/templates.md).
_PROCESSED = (FileStatus.COMPLETED, FileStatus.NEEDS_MAPPING)


class Completed(list[FileStatus | LeaseLost]):
    """Per item, its final status or ``LeaseLost``; and ``successors``: the files claimed in
    the same transaction for the jobs whose ``max_workers`` these completions had filled
    (``claims.claim_successors``), now the caller's under a lease."""

    successors: list[ClaimedFile]

    def __init__(self, items: Sequence[FileStatus | LeaseLost] = ()) -> None:
        super().__init__(items)
        self.successors = []


@translated
async def complete_files(
    db: Database, done: Sequence[Done], *, now: float, hand_off: HandOff | None = None
) -> Completed:
    """Write every outcome; returns, per item, its final status or ``LeaseLost``. With
    ``hand_off``, a capped job whose files completed here claims its next files in the same
    transaction (``Completed.successors``): the freed slot does not wait for another claim."""
    if not done:
        return Completed()
    successors: list[ClaimedFile] = []
    job_ids = [c.job_id for c, _ in done]
    # Capped jobs (the only ones that may get successors): their loads are read as they are
    # locked, instead of their statuses alone, so handing on costs no statement of its own.
    may_hand_off = hand_off is not None and hand_off.limit > 0
    capped = (
        {c.job_id for c, _ in done if c.options.max_workers is not None} if may_hand_off else ()
    )
    loads: list[dict[str, Any]] = []
    async with db.write() as conn:
        if capped:
            loads = await lock_for_successors(conn, job_ids, now=now)
            statuses = {str(row["id"]): str(row["status"]) for row in loads}
        else:
            statuses = await job_store.lock_job_statuses(conn, job_ids)
        cancelled_jobs = {j for j, status in statuses.items() if status == JobStatus.CANCELLED}
        wanted = [
            (claimed, outcome, _final_status(claimed, outcome, cancelled_jobs))
            for claimed, outcome in done
        ]
        held = await _finish(conn, wanted, now)
        finished = [item for item in wanted if item[0].id in held]
        if finished:
            busy = await _write(conn, finished, now)
            if capped and hand_off is not None:
                freed = Counter(
                    c.job_id
                    for c, _, status in finished
                    if status in _PROCESSED and c.job_id in capped
                )
                successors = await claim_successors(conn, freed, loads, hand_off, now=now)
                busy |= {c.job_id for c in successors}
            maybe_idle = [c.job_id for c, _, _ in finished if c.job_id not in busy]
            if maybe_idle:
                for job_id in await job_store.idle_jobs(conn, maybe_idle):
                    await finish_job_if_done(conn, job_id, now)
    result = Completed([status if c.id in held else LeaseLost(c.id) for c, _, status in wanted])
    result.successors = successors
    return result


def _final_status(
    claimed: ClaimedFile, outcome: FileOutcome, cancelled_jobs: set[str]
) -> FileStatus:
    if claimed.job_id in cancelled_jobs:
        return FileStatus.CANCELLED
    return FileStatus.NEEDS_MAPPING if outcome.needs_mapping else FileStatus.COMPLETED


async def complete_file(
    db: Database, claimed: ClaimedFile, outcome: FileOutcome, *, now: float
) -> FileStatus:
    """Complete one file (``complete_files`` for many at once); ``LeaseLost`` if it is not ours."""
    [result] = await complete_files(db, [(claimed, outcome)], now=now)
    if isinstance(result, LeaseLost):
        raise result
    return result


# What a finished file's row takes from its outcome, in the order of ``_outcome_row``.
_OUTCOME_COLUMNS: dict[str, sa.types.TypeEngine[Any]] = {
    "b_id": sa.String(),
    "b_token": sa.String(),
    "b_status": sa.String(),
    "b_mime": sa.String(),
    "b_sha": sa.String(),
    "b_size": sa.BigInteger(),
    "b_blob": sa.String(),
    "b_document": sa.String(),
    "b_elements": sa.Integer(),
    "b_chunks": sa.Integer(),
    "b_duration": sa.Integer(),
    "b_pages": sa.Integer(),
    "b_ocr_pages": sa.Integer(),
}


def _finish_values(batch: Any) -> dict[str, Any]:
    return {
        "status": batch.b_status,
        "step": None,
        "progress": 1.0,
        "mime_type": batch.b_mime,
        "sha256": batch.b_sha,
        "size": batch.b_size,
        "blob_key": batch.b_blob,
        "document_key": batch.b_document,
        "elements": batch.b_elements,
        "chunks": batch.b_chunks,
        "duration_ms": batch.b_duration,
        "pages": batch.b_pages,
        "ocr_pages": batch.b_ocr_pages,
        "completed_at": sa.bindparam("b_now", type_=files.c.completed_at.type),
        "error_code": None,
        "error_message": None,
        "lease_owner": None,
        "lease_token": None,
        "lease_expires_at": None,
    }


# PostgreSQL: the batch arrives as one array per column, unnested into rows and joined to
# ``files``: one statement checks every lease and writes every row, and its SQL is the same
# for any batch size, so SQLAlchemy compiles it once (a VALUES list would be compiled anew
# for every batch: ~40 ms for 64 rows).
_unnested = (
    sa.func.unnest(
        *(sa.bindparam(name, type_=ARRAY(kind)) for name, kind in _OUTCOME_COLUMNS.items())
    )
    .table_valued(*(sa.column(name, kind) for name, kind in _OUTCOME_COLUMNS.items()), name="batch")
    .render_derived()
)
_FINISH_POSTGRES = (
    files.update()
    .where(
        files.c.id == _unnested.c.b_id,
        files.c.lease_token == _unnested.c.b_token,
        files.c.status == FileStatus.RUNNING.value,
    )
    .values(**_finish_values(_unnested.c))
    .returning(files.c.id)
)
# SQLite (no arrays): the held files are read first, then updated by one executemany.
_FINISH_SQLITE = (
    files.update()
    .where(files.c.id == sa.bindparam("b_id"))
    .values(**_finish_values(SimpleNamespace(**{n: sa.bindparam(n) for n in _OUTCOME_COLUMNS})))
)


def _outcome_row(claimed: ClaimedFile, outcome: FileOutcome, status: FileStatus) -> tuple[Any, ...]:
    completed = status in _PROCESSED
    return (
        claimed.id,
        claimed.lease_token,
        status.value,
        outcome.mime_type,
        outcome.sha256,
        outcome.size,
        outcome.blob_key,
        outcome.document_key if completed else None,
        outcome.elements if completed else None,
        len(outcome.chunks) if completed else 0,
        outcome.duration_ms,
        outcome.pages if completed and outcome.pages else None,
        outcome.ocr_pages if completed and outcome.pages else None,
    )


async def _finish(
    conn: AsyncConnection, wanted: list[tuple[ClaimedFile, FileOutcome, FileStatus]], now: float
) -> set[str]:
    """Mark the files finished, each only while its lease holds (``(id, lease_token)`` of a
    running file); returns the ids written."""
    rows = [_outcome_row(*item) for item in wanted]
    if conn.dialect.name == "postgresql":
        arrays = {
            name: list(values)
            for name, values in zip(_OUTCOME_COLUMNS, zip(*rows, strict=True), strict=True)
        }
        updated = await conn.execute(_FINISH_POSTGRES, {**arrays, "b_now": now})
        return set(updated.scalars())
    pairs = [(row[0], row[1]) for row in rows]
    held = set(
        (
            await conn.execute(
                sa.select(files.c.id).where(
                    sa.tuple_(files.c.id, files.c.lease_token).in_(pairs),
                    files.c.status == FileStatus.RUNNING.value,
                )
            )
        ).scalars()
    )
    params = [
        {**dict(zip(_OUTCOME_COLUMNS, row, strict=True)), "b_now": now}
        for row in rows
        if row[0] in held
    ]
    if params:
        await conn.execute(_FINISH_SQLITE, params)
    return held


async def _write(
    conn: AsyncConnection, finished: list[tuple[ClaimedFile, FileOutcome, FileStatus]], now: float
) -> set[str]:
    """Everything else a finished file brings: its chunks, its event, its job's counters.

    Returns the jobs that certainly go on (a source of theirs still has files queued or running).
    """
    chunk_rows: list[file_store.ChunkRecord] = []
    event_rows: list[dict[str, Any]] = []
    counters: dict[tuple[str, int, FileStatus], list[int]] = defaultdict(lambda: [0, 0, 0])
    still_busy: dict[tuple[str, int], bool] = {}
    content: list[tuple[str, str, str]] = []  # (tenant, key, file id) of completed content
    held: list[str] = []  # files that held their content's claim: their waiters look again
    for claimed, outcome, status in finished:
        counter = counters[(claimed.job_id, claimed.source_index, status)]
        counter[0] += 1
        counter[1] += outcome.size
        counter[2] += outcome.size - claimed.size  # the file may have changed since listing
        if status in _PROCESSED:
            chunk_rows.extend(_chunk_rows(claimed, outcome))
            if outcome.content_key is not None:
                content.append((claimed.tenant, outcome.content_key, claimed.id))
        if outcome.content_held:
            held.append(claimed.id)
        event_rows.append(_event(claimed, outcome, status, now))
    await file_store.insert_chunks(conn, chunk_rows)
    completed = [(c, o) for c, o, status in finished if status is FileStatus.COMPLETED]
    await timing_store.record(conn, completed)
    await usage_store.add_completed(conn, completed, at=now)
    await conn.execute(events.insert(), event_rows)
    await content_store.record_completed(conn, content, now=now)
    await content_store.release_content(conn, held, now=now)  # cancelled ones give theirs up
    for (job_id, source_index, status), (count, size, drift) in counters.items():
        # The last update of a source tells its state after the whole batch.
        still_busy[(job_id, source_index)] = await job_store.move_counter(
            conn,
            job_id,
            source_index,
            FileStatus.RUNNING,
            status,
            size=size,
            count=count,
            drift=drift,
        )
    return {job_id for (job_id, _), busy in still_busy.items() if busy}


def _chunk_rows(claimed: ClaimedFile, outcome: FileOutcome) -> list[file_store.ChunkRecord]:
    ids = (claimed.id, claimed.job_id, claimed.tenant)  # file_store.CHUNK_COLUMNS order
    return [(*ids, *chunk) for chunk in outcome.chunks]


def _event(
    claimed: ClaimedFile, outcome: FileOutcome, status: FileStatus, now: float
) -> dict[str, Any]:
    completed = status in _PROCESSED
    data: dict[str, Any] = {"name": claimed.name, "size": outcome.size}
    if completed:
        data.update(
            elements=outcome.elements, chunks=len(outcome.chunks), duration_ms=outcome.duration_ms
        )
    kind = EventType.FILE_COMPLETED if completed else EventType.FILE_CANCELLED
    if status is FileStatus.NEEDS_MAPPING:
        kind = EventType.MAPPING_NEEDED
        data.update(status=status.value, tables=outcome.needs_mapping)
    return {
        "id": new_id("evt"),
        "tenant": claimed.tenant,
        "type": kind,
        "job_id": claimed.job_id,
        "file_id": claimed.id,
        "at": now,
        "data": data,
    }
