"""Identical content is processed once (issue #12, item 2), on SQLite and PostgreSQL.

With ``skip_existing`` the content is claimed atomically (a primary key in the database, never
check-then-act), keyed by the bytes and by what shapes the output; a duplicate is skipped against
the file that was processed, waits for one still running, and is processed after all when that
one fails.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import sqlalchemy as sa

from ingestd.domain.errors import FileError
from ingestd.store.claims import claim_next_files
from ingestd.store.content import claim_content
from ingestd.store.db import Database
from ingestd.store.events import list_events
from ingestd.store.outcomes import fail_file, wait_for_original
from ingestd.store.tables import content_claims, files
from tests.conftest import App
from tests.queue.factory import LEASE, make_job

KEY = "ab" * 32
CSV = b"region,units\nnorth,12\nsouth,7\n"


async def test_racing_files_of_one_content_give_it_to_exactly_one(db: Database) -> None:
    """Eight files race for one key on two connections (on PostgreSQL really at once): one
    holds it, and all the others are told which."""
    await make_job(db, 8)
    claimed = await claim_next_files(db, "w1", 8, now=time.time(), lease_seconds=LEASE)
    other = Database(db.url)
    try:
        results = await asyncio.gather(
            *(
                claim_content(db if i % 2 else other, item, KEY, now=time.time())
                for i, item in enumerate(claimed)
            )
        )
    finally:
        await other.close()
    winners = [item.id for item, owner in zip(claimed, results, strict=True) if owner is None]
    assert len(winners) == 1
    assert {owner.file_id for owner in results if owner is not None} == set(winners)
    # Asking again from the winning file is idempotent: it is still the one.
    [winner] = [item for item in claimed if item.id == winners[0]]
    assert await claim_content(db, winner, KEY, now=time.time()) is None


async def test_a_duplicate_waits_and_is_processed_when_its_original_fails(db: Database) -> None:
    job_id = await make_job(db, 2)
    now = time.time()
    original, duplicate = await claim_next_files(db, "w1", 2, now=now, lease_seconds=LEASE)
    assert await claim_content(db, original, KEY, now=now) is None
    owner = await claim_content(db, duplicate, KEY, now=now)
    assert owner is not None and owner.file_id == original.id and not owner.completed
    await wait_for_original(db, duplicate, original.id, now=now, recheck_at=now + 3600)
    assert await claim_next_files(db, "w1", 2, now=now + 1, lease_seconds=LEASE) == []  # waits
    await fail_file(db, original, FileError("parse_error", "corrupt"), now=now + 2, retry_at=None)
    [again] = await claim_next_files(db, "w1", 2, now=now + 3, lease_seconds=LEASE)
    assert again.id == duplicate.id and again.attempts == 1  # waiting cost it no attempt
    assert await claim_content(db, again, KEY, now=now + 3) is None  # nothing lost
    async with db.read() as conn:
        held = (await conn.execute(sa.select(content_claims.c.file_id))).scalars().all()
        statuses = dict((await conn.execute(sa.select(files.c.id, files.c.status))).all())
    assert held == [duplicate.id]
    assert statuses == {original.id: "failed", duplicate.id: "running"}
    assert job_id


async def upload(app: App, job_id: str, name: str, data: bytes, *, seal: bool = False) -> str:
    response = await app.client.post(
        f"/api/v1/jobs/{job_id}/files",
        files=[("file", (name, data, "text/csv"))],
        data={"seal": "true"} if seal else {},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["items"][0]["id"])


async def ended_job(app: App, **options: Any) -> dict[str, Any]:
    body = {"sources": [{"type": "upload"}], "pipeline": "extract", "options": options}
    return (await app.client.post("/api/v1/jobs", json=body)).json()  # type: ignore[no-any-return]


async def test_the_same_bytes_uploaded_twice_are_processed_once(app: App) -> None:
    job = await ended_job(app)
    first = await upload(app, job["id"], "a.csv", CSV)
    await app.wait_job(job["id"], statuses=("running",))
    second = await upload(app, job["id"], "again.csv", CSV, seal=True)
    await app.wait_job(job["id"])
    by_id = {f["id"]: f for f in await app.files(job["id"])}
    kept, skipped = by_id[first], by_id[second]
    if kept["status"] == "skipped":  # whichever won the race is the one processed
        kept, skipped = skipped, kept
    assert kept["status"] == "completed" and kept["duplicate_of"] is None and kept["chunks"]
    assert skipped["status"] == "skipped" and skipped["duplicate_of"] == kept["id"]
    assert not skipped["chunks"]
    db = app.runtime.db
    assert db is not None
    async with db.read() as conn:
        events = await list_events(conn, tenant=None, job_id=job["id"])
    [event] = [e for e in events if e["type"] == "file.skipped"]
    assert event["file_id"] == skipped["id"] and event["data"]["duplicate_of"] == kept["id"]

    # What shapes the output is part of the content: other chunking is new work...
    other = await ended_job(app, chunk_size=500, chunk_overlap=50)
    await upload(app, other["id"], "a.csv", CSV, seal=True)
    [reworked] = await app.files((await app.wait_job(other["id"]))["id"])
    assert reworked["status"] == "completed"
    # ...the same chunking is not, across jobs; and skip_existing off processes it anyway.
    same = await ended_job(app)
    await upload(app, same["id"], "b.csv", CSV, seal=True)
    [again] = await app.files((await app.wait_job(same["id"]))["id"])
    assert again["status"] == "skipped" and again["duplicate_of"] == kept["id"]
    forced = await ended_job(app, skip_existing=False)
    await upload(app, forced["id"], "c.csv", CSV, seal=True)
    [anyway] = await app.files((await app.wait_job(forced["id"]))["id"])
    assert anyway["status"] == "completed"


async def test_speaker_notes_in_the_chunks_are_part_of_the_content(app: App) -> None:
    """``include_notes`` shapes the chunks (PPTX notes in or out): a file processed without it
    is no original for the same file asked for with it. (Before, the key ignored it, and the
    second job's file was skipped against chunks without the notes.)"""
    plain = await ended_job(app)
    await upload(app, plain["id"], "a.csv", CSV, seal=True)
    [first] = await app.files((await app.wait_job(plain["id"]))["id"])
    assert first["status"] == "completed"
    noted = await ended_job(app, include_notes=True)
    await upload(app, noted["id"], "a.csv", CSV, seal=True)
    [second] = await app.files((await app.wait_job(noted["id"]))["id"])
    assert second["status"] == "completed" and second["duplicate_of"] is None
    same = await ended_job(app, include_notes=True)
    await upload(app, same["id"], "b.csv", CSV, seal=True)
    [third] = await app.files((await app.wait_job(same["id"]))["id"])
    assert third["status"] == "skipped" and third["duplicate_of"] == second["id"]
