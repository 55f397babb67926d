"""Content claims: of several files with the same content, processed the same way, exactly one
is processed (``skip_existing``); see ``domain/content.py`` for the key and docs/queue.md.

The claim is the primary key of ``content_claims`` (tenant, content key): whoever inserts the row
holds the content; every other file with that key finds the row, and either is skipped against
its file (``completed``) or waits for it (``running``), re-checked as soon as it ends. A holder
that does not complete (a failure, a retry, a release, a cancel, a lost worker) gives the claim
up and wakes the files waiting for it, so nothing is lost to an original that failed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ingestd.domain.states import FileStatus
from ingestd.domain.work import ClaimedFile
from ingestd.store.db import Database
from ingestd.store.dialect import insert_for
from ingestd.store.errors import translated
from ingestd.store.tables import content_claims, files

RUNNING = "running"
COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class ContentOwner:
    """The file that holds a content key, and whether it has completed."""

    file_id: str
    completed: bool


def _insert(conn: AsyncConnection) -> Any:
    return insert_for(conn.dialect.name, content_claims)


@translated
async def claim_contents(
    db: Database, requests: Sequence[tuple[ClaimedFile, str]], *, now: float
) -> list[ContentOwner | None]:
    """Take each request's content key for its file, all in one transaction: per request, None
    when the key is now (or already was) that file's, else the file that holds it. Atomic:
    files racing for one key (in this batch, in parsers of other processes, in other jobs)
    insert the same primary key, and exactly one insert succeeds."""
    answers: dict[int, ContentOwner | None] = {}
    async with db.write() as conn:
        todo = list(range(len(requests)))
        for _ in range(5):  # a holder may give a key up between our insert and our read
            if not todo:
                break
            won = await _insert_claims(conn, [requests[i] for i in todo], now)
            held = await _holders(conn, [requests[i] for i in todo])
            retry = []
            for i in todo:
                claimed, key = requests[i]
                holder = held.get((claimed.tenant, key))
                if claimed.id in won or (holder is not None and holder.file_id == claimed.id):
                    answers[i] = None  # ours (from an earlier attempt of this file, maybe)
                elif holder is None:
                    retry.append(i)
                else:
                    answers[i] = holder
            todo = retry
    if todo:
        raise RuntimeError(f"content keys kept changing hands: {[requests[i][1] for i in todo]}")
    return [answers[i] for i in range(len(requests))]


async def claim_content(
    db: Database, claimed: ClaimedFile, key: str, *, now: float
) -> ContentOwner | None:
    """``claim_contents`` for one file."""
    [answer] = await claim_contents(db, [(claimed, key)], now=now)
    return answer


async def _insert_claims(
    conn: AsyncConnection, requests: Sequence[tuple[ClaimedFile, str]], now: float
) -> set[str]:
    """Insert what is free; returns the files whose row went in."""
    rows = [
        {"tenant": c.tenant, "content_key": k, "file_id": c.id, "state": RUNNING, "created_at": now}
        for c, k in requests
    ]
    statement = _insert(conn).on_conflict_do_nothing().returning(content_claims.c.file_id)
    return set((await conn.execute(statement, rows)).scalars())


async def _holders(
    conn: AsyncConnection, requests: Sequence[tuple[ClaimedFile, str]]
) -> dict[tuple[str, str], ContentOwner]:
    pairs = sorted({(c.tenant, k) for c, k in requests})
    query = sa.select(
        content_claims.c.tenant,
        content_claims.c.content_key,
        content_claims.c.file_id,
        content_claims.c.state,
    ).where(sa.tuple_(content_claims.c.tenant, content_claims.c.content_key).in_(pairs))
    return {
        (row.tenant, row.content_key): ContentOwner(str(row.file_id), row.state == COMPLETED)
        for row in await conn.execute(query)
    }


async def record_completed(
    conn: AsyncConnection, completed: Sequence[tuple[str, str, str]], *, now: float
) -> None:
    """Completed files' content (tenant, key, file id): the claim a file held becomes
    ``completed``; content processed without one (``skip_existing`` off) is entered unless
    another file holds it already. One statement."""
    if not completed:
        return
    rows = [
        {"tenant": t, "content_key": k, "file_id": f, "state": COMPLETED, "created_at": now}
        for t, k, f in completed
    ]
    await conn.execute(_record_completed_for(conn.dialect.name), rows)


@functools.cache
def _record_completed_for(dialect_name: str) -> Any:
    """Built once per dialect (every completion batch runs it)."""
    statement = insert_for(dialect_name, content_claims)
    return statement.on_conflict_do_update(
        index_elements=[content_claims.c.tenant, content_claims.c.content_key],
        set_={"state": COMPLETED},
        where=content_claims.c.file_id == statement.excluded.file_id,
    )


async def release_content(conn: AsyncConnection, file_ids: Sequence[str], *, now: float) -> int:
    """These files stopped without completing: give up the content they held (a ``running``
    claim) and make the files waiting for them claimable now. Returns the files woken."""
    if not file_ids:
        return 0
    await conn.execute(
        content_claims.delete().where(
            content_claims.c.file_id.in_(list(file_ids)), content_claims.c.state == RUNNING
        )
    )
    return await wake_waiters(conn, file_ids, now=now)


async def wake_waiters(conn: AsyncConnection, originals: Sequence[str], *, now: float) -> int:
    """Files waiting for any of ``originals`` become claimable now (they look again)."""
    if not originals:
        return 0
    result = await conn.execute(
        files.update()
        .where(
            files.c.duplicate_of.in_(list(originals)),
            files.c.status == FileStatus.QUEUED.value,
            files.c.run_after > now,
        )
        .values(run_after=now)
    )
    return int(result.rowcount or 0)
