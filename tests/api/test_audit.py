"""The audit log: every mutating call, readable by admins only, written in batches that are never
lost on a clean shutdown nor dropped silently."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from ingestd.services import audit
from ingestd.store.audit import list_entries
from ingestd.store.db import Database
from tests.conftest import App
from tests.eventually import eventually


async def test_mutations_are_audited_for_admins(app: App) -> None:
    member = {"Authorization": f"Bearer {await app.key('member', 'acme')}"}
    job = (
        await app.client.post(
            "/api/v1/jobs", headers=member, json={"sources": [{"type": "upload"}]}
        )
    ).json()
    await app.client.post(f"/api/v1/jobs/{job['id']}/actions/pause", headers=member)
    refused = await app.client.post("/api/v1/jobs/job_nope/actions/pause", headers=member)
    assert refused.status_code == 404
    await app.client.get("/api/v1/jobs", headers=member)  # reads are not audited

    entries = (await app.client.get("/api/v1/audit", params={"tenant": "acme"})).json()["items"]
    actions = [(e["action"], e["status"]) for e in entries]
    assert actions == [
        ("POST /api/v1/jobs/{job_id}/actions/{action}", 404),
        ("POST /api/v1/jobs/{job_id}/actions/{action}", 200),
        ("POST /api/v1/jobs", 201),
    ]
    newest = entries[1]
    assert newest["target"] == {"job_id": job["id"], "action": "pause"}
    assert (
        newest["tenant"] == "acme"
        and newest["role"] == "member"
        and newest["key_id"].startswith("key_")
    )
    assert newest["request_id"] and newest["at"].endswith("Z")
    assert (await app.client.get("/api/v1/audit", headers=member)).status_code == 403


# -- batching: rows are written off the request path, and none is lost ------------------------


async def audit_rows(db: Database) -> list[dict[str, Any]]:
    async with db.read() as conn:
        return list(reversed(await list_entries(conn, tenant=None, before_seq=None, limit=500)))


def entry(action: str, **values: Any) -> dict[str, Any]:
    return {"at": time.time(), "action": action, "target": {}, "status": 200, **values}


async def test_rows_reach_the_store_without_a_read(app: App) -> None:
    """The timer writes a batch within ``LINGER`` seconds: other processes' readers see it."""
    await app.client.post("/api/v1/jobs", json={"sources": [{"type": "upload"}]})
    db = app.runtime.db
    assert db is not None
    rows = await eventually(lambda: audit_rows(db), what="the audit row written")
    assert rows[0]["action"] == "POST /api/v1/jobs"


async def test_a_clean_shutdown_writes_what_waits(
    start_app: Callable[..., Any], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "LINGER", 3600.0)  # only the shutdown can write them
    async with start_app(database_url=database_url) as app:
        for _ in range(3):
            await app.client.post("/api/v1/jobs", json={"sources": [{"type": "upload"}]})
        assert app.asgi.state.audit_writer.pending == 3
    db = Database(database_url)
    try:
        rows = await audit_rows(db)
    finally:
        await db.close()
    assert [r["action"] for r in rows] == ["POST /api/v1/jobs"] * 3


async def test_an_outage_keeps_the_rows_and_retries(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = [OSError("connection refused")] * 2  # the store is down for two attempts
    real = audit.record_many

    async def flaky(conn: Any, entries: list[dict[str, Any]]) -> None:
        if failures:
            raise failures.pop()
        await real(conn, entries)

    monkeypatch.setattr(audit, "record_many", flaky)
    monkeypatch.setattr(audit, "LINGER", 0.01)
    writer = audit.AuditWriter(db)
    await writer.add(entry("POST /a"))
    await writer.add(entry("POST /b"))
    await eventually(lambda: writer.pending, until=lambda n: n == 0, what="the queued rows written")
    assert not failures
    assert [r["action"] for r in await audit_rows(db)] == ["POST /a", "POST /b"]
    await writer.close()


async def test_rows_that_cannot_be_written_at_shutdown_are_logged_in_full(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def down(conn: Any, entries: list[dict[str, Any]]) -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(audit, "record_many", down)
    monkeypatch.setattr(audit, "LINGER", 3600.0)
    writer = audit.AuditWriter(db)
    await writer.add(entry("POST /a", request_id="req-a"))
    await writer.add(entry("DELETE /b", request_id="req-b"))
    with caplog.at_level(logging.ERROR, logger="ingestd.audit"):
        await writer.close()
        await writer.add(entry("POST /late", request_id="req-late"))  # after close: at once
    lost = [r.getMessage() for r in caplog.records if "audit entry not written" in r.getMessage()]
    assert len(lost) == 3
    assert all(req in " ".join(lost) for req in ("req-a", "req-b", "req-late"))
    assert writer.pending == 0


async def test_a_refused_row_is_logged_and_its_batch_written(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    writer = audit.AuditWriter(db)
    await writer.add(entry("POST /a"))
    await writer.add({**entry("POST /bad"), "status": None})  # NOT NULL: refused
    await writer.add(entry("POST /c"))
    with caplog.at_level(logging.ERROR, logger="ingestd.audit"):
        await writer.flush()
    assert [r["action"] for r in await audit_rows(db)] == ["POST /a", "POST /c"]
    assert any("POST /bad" in r.getMessage() for r in caplog.records)
    await writer.close()


async def test_during_an_outage_only_the_timer_retries(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A full batch is written at once, but not while the store is down: then calls do not
    each try (and wait for) it again; the rows wait for the timer's backoff."""
    attempts = 0

    async def down(conn: Any, entries: list[dict[str, Any]]) -> None:
        nonlocal attempts
        attempts += 1
        raise OSError("connection refused")

    monkeypatch.setattr(audit, "record_many", down)
    monkeypatch.setattr(audit, "LINGER", 3600.0)
    monkeypatch.setattr(audit, "BATCH", 2)
    writer = audit.AuditWriter(db)
    with caplog.at_level(logging.ERROR, logger="ingestd.audit"):
        for name in "abcde":
            await writer.add(entry(f"POST /{name}"))
        assert attempts == 1 and writer.pending == 5
        await writer.close()
    assert len([r for r in caplog.records if "audit entry not written" in r.getMessage()]) == 5
