"""Matching logged events to webhooks, once across every API process, into the outbox.

The cursor (``webhook_cursor``, one row) is the seq of the last event matched. A round reads the
events after it and the webhooks they match on a reader connection, then in one short write
transaction advances the cursor compare-and-set and inserts the outbox rows. When two processes
race, one of them finds the cursor moved and rolls back, so each event is matched exactly once;
the unique (event_id, target) index would also turn a second insert into nothing. Events logged
while no API process ran are matched at the next start: nothing is missed across a restart.

On PostgreSQL a seq can become visible after a higher one (sequence values are taken at insert,
rows appear at commit); like the live tail (``events/tail.py``), a round stops at a gap and waits
up to ``gap_seconds`` for it to fill before passing it.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from ingestd.domain.events import TERMINAL_JOB_EVENTS
from ingestd.events.envelope import envelope
from ingestd.store import events as event_store
from ingestd.store import webhook_outbox as outbox
from ingestd.store import webhooks as webhook_store
from ingestd.store.db import Connection, Database
from ingestd.webhooks import signing

BATCH = 500  # events per round


def matches(patterns: list[str], event_type: str) -> bool:
    return "*" in patterns or event_type in patterns


class OutboxMatcher:
    def __init__(self, db: Database, *, gap_seconds: float) -> None:
        self.db = db
        self.gap_seconds = gap_seconds
        self._gap_since: float | None = None

    async def run_once(self) -> tuple[int, bool]:
        """One round: (deliveries written, whether more events may be waiting)."""
        async with self.db.read() as conn:
            cursor = await outbox.read_cursor(conn)
            rows = await event_store.events_between(conn, after_seq=cursor, limit=BATCH)
            ready = self._contiguous(cursor, rows)
            if not ready:
                return 0, False
            deliveries, tenants = await self._targets(conn, ready)
        async with self.db.write() as conn:
            if not await outbox.advance_cursor(conn, old=cursor, new=int(ready[-1]["seq"])):
                return 0, True  # another process matched these; look again from its cursor
            for tenant in tenants:  # job webhook_urls are signed with the tenant's secret
                await outbox.tenant_secret(conn, tenant, candidate=signing.new_secret())
            await outbox.enqueue(conn, deliveries, now=time.time())
        return len(deliveries), len(rows) == BATCH

    def _contiguous(self, cursor: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows up to the first gap (or past it, once it has lasted ``gap_seconds``)."""
        ready: list[dict[str, Any]] = []
        last = cursor
        for row in rows:
            seq = int(row["seq"])
            if seq != last + 1 and not self._gap_expired():
                break
            self._gap_since = None
            ready.append(row)
            last = seq
        return ready

    def _gap_expired(self) -> bool:
        if self.gap_seconds <= 0:
            return True
        now = time.monotonic()
        if self._gap_since is None:
            self._gap_since = now
        return now - self._gap_since >= self.gap_seconds

    async def _targets(
        self, conn: Connection, rows: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], set[str]]:
        """The outbox rows for ``rows``, and the tenants whose job-webhook secret they need."""
        hooks: dict[str, list[dict[str, Any]]] = {}
        for tenant in {r["tenant"] for r in rows}:
            hooks[tenant] = await webhook_store.list_webhooks(
                conn, tenant=tenant, enabled_only=True
            )
        job_urls = await webhook_store.job_webhook_urls(
            conn, [r["job_id"] for r in rows if r["type"] in TERMINAL_JOB_EVENTS and r["job_id"]]
        )
        out: list[dict[str, Any]] = []
        tenants: set[str] = set()
        for row in rows:
            body: str | None = None
            for hook in hooks[row["tenant"]]:
                # a webhook gets the events logged after it was made, never older ones
                if hook["created_at"] <= row["at"] and matches(hook["events"], row["type"]):
                    body = body or _body(row)
                    out.append(_delivery(row, body, hook["id"], hook["url"]))
            url = _job_url(row, job_urls) if row["type"] in TERMINAL_JOB_EVENTS else None
            if url:
                out.append(_delivery(row, body or _body(row), None, url))
                tenants.add(row["tenant"])
        return out, tenants


def _job_url(row: dict[str, Any], job_urls: dict[str, str]) -> str | None:
    """Where a job's terminal event goes: its ``webhook_url``, read from the job, or from the
    event itself once the job is gone (``job.deleted`` records it: the row is deleted with it)."""
    found = job_urls.get(row["job_id"])
    return found or (row["data"] or {}).get("webhook_url") or None


def _body(row: dict[str, Any]) -> str:
    return orjson.dumps(envelope(row)).decode()


def _delivery(row: dict[str, Any], body: str, webhook_id: str | None, url: str) -> dict[str, Any]:
    return {
        "tenant": row["tenant"],
        "target": webhook_id or outbox.JOB_TARGET,
        "webhook_id": webhook_id,
        "url": url,
        "event_id": row["id"],
        "event_type": row["type"],
        "body": body,
    }
