"""Delivers events to webhooks through a durable outbox, from every API process, each delivery once.

Each round, an API process (1) matches newly logged events to the enabled webhooks of their
tenant and to a job's ``webhook_url`` for its terminal event, writing one outbox row per
(event, target) — exactly once across processes, see ``matcher.py``; (2) claims due outbox rows
with a lease — ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the one writer on SQLite, see
``store/webhook_outbox.py`` — and sends each in its own task, so a slow receiver never holds up
the others and nothing here runs in a worker's transaction. Rounds run every
``webhook_poll_seconds`` and at once when this process logs an event or an attempt finishes.

Each attempt is recorded in ``webhook_deliveries``; failures are retried with exponential backoff
and jitter by setting the row's ``next_attempt_at`` (so a retry survives a restart and may go out
from another process); after ``webhook_disable_after`` failed attempts in a row the webhook is
disabled, its waiting deliveries dropped and a ``webhook.disabled`` event appended. A job's
``webhook_url`` is signed with the tenant's secret (``GET /api/v1/webhooks/secret``). Finished
rows and logged attempts are deleted after ``webhook_retention_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Callable

import httpx

from ingestd.config_parts import WebhookSettings
from ingestd.domain.events import EventType
from ingestd.lifecycle import BackgroundService
from ingestd.observe.metrics import WEBHOOK_DELIVERIES, WEBHOOK_SECONDS
from ingestd.store import webhook_outbox as outbox
from ingestd.store import webhooks as webhook_store
from ingestd.store.db import Connection, Database
from ingestd.store.events import append_event, on_append
from ingestd.store.webhook_outbox import Claimed
from ingestd.webhooks import safety, signing
from ingestd.webhooks.matcher import OutboxMatcher

log = logging.getLogger("ingestd.webhooks")

MIN_ROUND_SECONDS = 0.05  # coalesce the wake-ups of a burst of appends into one round
PRUNE_EVERY_SECONDS = 300.0
# An attempt must end this long before its lease does, leaving time to record the outcome: a
# lease that runs out first lets another process send the same delivery again.
LEASE_MARGIN_SECONDS = 10.0
MIN_ATTEMPT_SECONDS = 1.0


class WebhookDispatcher(BackgroundService):
    name = "webhook-dispatcher"
    logger = log

    def __init__(self, settings: WebhookSettings, db: Database) -> None:
        super().__init__()
        self.settings = settings
        self.db = db
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.matcher = OutboxMatcher(db, gap_seconds=0.0 if db.is_sqlite else settings.gap_seconds)
        self._wake = asyncio.Event()
        self._sending: dict[asyncio.Task[None], Claimed] = {}
        self._client: httpx.AsyncClient | None = None
        self._remove: Callable[[], None] = lambda: None
        self._next_prune = 0.0
        self.sent = 0  # attempts this process made (tests compare processes with it)
        self.rounds = 0  # rounds this process finished (tests wait for rounds, not for time)

    @property
    def attempt_seconds(self) -> float:
        """Upper bound of one attempt (resolve + connect + send + read); the lease outlasts it."""
        return self.settings.timeout_seconds * 2

    async def setup(self) -> None:
        # Every connection is checked after DNS and pinned to the checked address (no rebinding).
        self._client = safety.guarded_client(
            safety.webhook_policy(self.settings),
            timeout=httpx.Timeout(self.settings.timeout_seconds),
            headers={"user-agent": "ingestd-webhooks"},
        )
        self._remove = on_append(self.wake)

    async def teardown(self) -> None:
        self._remove()
        unfinished = list(self._sending.values())
        for task in list(self._sending):
            task.cancel()
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
        if unfinished:
            # due again at once, for the next process (or this one after a restart)
            with contextlib.suppress(Exception):
                async with self.db.write() as conn:
                    await outbox.release(conn, unfinished, now=time.time())
        if self._client is not None:
            await self._client.aclose()

    def wake(self) -> None:
        self._wake.set()

    def invalidate(self, tenant: str) -> None:
        """A tenant's webhooks changed: match soon (webhooks are read fresh every round)."""
        del tenant
        self.wake()

    async def run(self) -> None:
        while True:
            next_due: float | None = None
            try:
                next_due = await self.run_round()
            except Exception:
                log.exception("webhook round failed; retrying")
            self.rounds += 1
            wait = self.settings.poll_seconds
            if next_due is not None:
                wait = min(wait, max(0.0, next_due - time.time()))
            # asyncio.timeout, not wait_for: see events/tail.py (lost cancellations on 3.11)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(MIN_ROUND_SECONDS)

    async def run_round(self) -> float | None:
        """Match, prune, claim and start sending; returns when the next delivery is due."""
        more = True
        while more:
            _, more = await self.matcher.run_once()
        now = time.time()
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_EVERY_SECONDS
            await self.prune(now)
        room = self.settings.concurrency - len(self._sending)
        async with self.db.read() as conn:
            due = await outbox.next_due(conn)
        if due is None or due > now or room <= 0:
            return due
        async with self.db.write() as conn:
            claimed = await outbox.claim_due(
                conn,
                self.owner,
                room,
                now=time.time(),  # after waiting for the connection: the lease starts now
                lease_seconds=self.attempt_seconds + LEASE_MARGIN_SECONDS,
            )
        for item in claimed:
            task = asyncio.create_task(self._deliver(item), name=f"webhook-{item.event_id}")
            self._sending[task] = item
            task.add_done_callback(self._sent)
        return None if len(claimed) < room else now

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.pop(task, None)
        self.wake()

    async def prune(self, now: float) -> int:
        async with self.db.write() as conn:
            deleted = await outbox.prune(conn, before=now - self.settings.retention_seconds)
        if deleted:
            log.info("deleted %d finished webhook deliveries past retention", deleted)
        return deleted

    def backoff(self, attempt: int) -> float:
        """Seconds before attempt ``attempt + 1``: base * 2**(attempt-1), plus up to 25% jitter."""
        delay = self.settings.retry_base_seconds * 2 ** (attempt - 1)
        return float(delay * (1 + random.random() * 0.25))

    async def _attempt(
        self, url: str, secret: str | None, event_id: str, body: bytes, *, budget: float
    ) -> tuple[int | None, str | None]:
        """One POST, bounded at ``budget`` seconds in all; (status, error) with error None on 2xx."""
        assert self._client is not None
        headers = signing.headers(secret, event_id, int(time.time()), body)
        try:
            async with asyncio.timeout(budget):
                response = await self._client.post(url, content=body, headers=headers)
        except TimeoutError:
            return None, f"timed out after {budget:.3g}s"
        except safety.UnsafeTarget as exc:  # refused by the guarded client's backend
            return None, f"refused: {exc}"
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:1000]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    async def _deliver(self, item: Claimed) -> None:
        budget = min(
            self.attempt_seconds, item.lease_expires_at - LEASE_MARGIN_SECONDS - time.time()
        )
        if budget < MIN_ATTEMPT_SECONDS:  # this process is too slow to send it safely now
            log.warning("webhook delivery %s not started before its lease ran low", item.id)
            try:
                async with self.db.write() as conn:
                    await outbox.release(conn, [item], now=time.time())
            except Exception:
                log.exception("giving back a webhook delivery failed; it is due after its lease")
            return
        started = time.monotonic()
        status, error = await self._attempt(
            item.url, item.secret, item.event_id, item.body.encode(), budget=budget
        )
        elapsed = time.monotonic() - started
        latency_ms = int(elapsed * 1000)
        self.sent += 1
        outcome = (
            "delivered"
            if error is None
            else ("gave_up" if item.attempt >= self.settings.max_attempts else "failed")
        )
        WEBHOOK_DELIVERIES.labels(outcome).inc()
        WEBHOOK_SECONDS.labels(outcome).observe(elapsed)
        if error is not None:
            log.info(
                "webhook delivery to %s failed (attempt %d): %s", item.url, item.attempt, error
            )
        try:
            await self._record(item, status, latency_ms, error)
        except Exception:
            log.exception("recording a webhook delivery failed; it is retried after its lease")

    async def _record(
        self, item: Claimed, status: int | None, latency_ms: int, error: str | None
    ) -> None:
        """Settle the outbox row, log the attempt, keep the failure streak (and disable)."""
        ok = error is None
        now = time.time()
        last = item.attempt >= self.settings.max_attempts
        delay = None if ok or last else self.backoff(item.attempt)
        state = outbox.DELIVERED if ok else outbox.FAILED
        async with self.db.write() as conn:
            retry_at = None if delay is None else now + delay
            if not await outbox.settle(
                conn, item, state=state, error=error, now=now, retry_at=retry_at
            ):
                log.warning("lost the lease of webhook delivery %s; not recorded", item.id)
                return
            if item.webhook_id is None:
                return  # a job's webhook_url: no delivery log, never disabled
            await webhook_store.record_delivery(
                conn,
                webhook_id=item.webhook_id,
                event_id=item.event_id,
                event_type=item.event_type,
                attempt=item.attempt,
                status_code=status,
                latency_ms=latency_ms,
                error=error,
                next_attempt_at=retry_at,
                delivered=ok,
            )
            streak = await webhook_store.note_result(conn, item.webhook_id, ok=ok)
            if ok or streak is None or streak < self.settings.disable_after:
                return
            await self._disable(conn, item, streak, now)

    async def _disable(self, conn: Connection, item: Claimed, streak: int, now: float) -> None:
        assert item.webhook_id is not None
        if not await webhook_store.disable_webhook(conn, item.webhook_id):
            return
        await outbox.drop_pending(conn, item.webhook_id, now=now)
        await append_event(
            conn,
            tenant=item.tenant,
            type=EventType.WEBHOOK_DISABLED,
            data={"webhook_id": item.webhook_id, "url": item.url, "consecutive_failures": streak},
        )
