"""Delivers events to webhooks: subscribes to the in-process hub (every tenant), matches each
event to the tenant's enabled webhooks (and a job's ``webhook_url`` for its terminal event), and
sends each delivery in its own background task so a slow receiver never holds up the others.

Each attempt is recorded in ``webhook_deliveries``; failures are retried with exponential backoff
and jitter; after ``webhook_disable_after`` failed attempts in a row the webhook is disabled and a
``webhook.disabled`` event is appended. Deliveries pending when the process stops are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass

import httpx
import orjson

from ingestd.config import Settings
from ingestd.events.envelope import LiveEvent
from ingestd.events.hub import Hub, Lagged, Subscription
from ingestd.store.db import Database
from ingestd.store.events import append_event
from ingestd.webhooks import safety, signing
from ingestd.webhooks import store as webhook_store

log = logging.getLogger("ingestd.webhooks")

CACHE_SECONDS = 2.0
TAP_BUFFER = 20_000  # events buffered for matching before the dispatcher counts as lagged
JOB_TERMINAL = frozenset({"job.completed", "job.failed", "job.cancelled"})


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    secret: str | None
    webhook_id: str | None  # None: a job's webhook_url (not recorded, never disabled)
    tenant: str


def matches(patterns: list[str], event_type: str) -> bool:
    return "*" in patterns or event_type in patterns


class WebhookDispatcher:
    def __init__(self, settings: Settings, db: Database, hub: Hub) -> None:
        self.settings = settings
        self.db = db
        self.hub = hub
        self._cache: dict[str, tuple[float, list[dict[str, object]]]] = {}
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(
            timeout=self.settings.webhook_timeout_seconds,
            follow_redirects=False,
            headers={"user-agent": "ingestd-webhooks"},
        )
        self._sub = self.hub.tap(limit=TAP_BUFFER)
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sub is not None:
            self.hub.unsubscribe(self._sub)
        for task in list(self._deliveries):
            task.cancel()
        if self._deliveries:
            await asyncio.gather(*self._deliveries, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def invalidate(self, tenant: str) -> None:
        """Forget the cached webhook list of ``tenant`` (after a create or delete)."""
        self._cache.pop(tenant, None)

    async def _run(self) -> None:
        while True:
            assert self._sub is not None
            try:
                event = await self._sub.get()
            except Lagged:
                log.warning("webhook dispatcher fell behind; events were skipped")
                self._sub = self.hub.tap(limit=TAP_BUFFER)
                continue
            if event is None:
                continue
            try:
                await self.handle(event)
            except Exception:
                log.exception("matching webhooks for event %s failed", event.seq)

    async def handle(self, event: LiveEvent) -> None:
        targets = [
            Target(str(w["url"]), str(w["secret"]), str(w["id"]), event.tenant)
            for w in await self._webhooks(event.tenant)
            if matches(list(w["events"]), event.type)  # type: ignore[call-overload]
        ]
        if event.type in JOB_TERMINAL and event.job_id is not None:
            async with self.db.read() as conn:
                url = await webhook_store.job_webhook_url(conn, event.job_id)
            if url:
                targets.append(Target(url, None, None, event.tenant))
        if not targets:
            return
        event_id = str(orjson.loads(event.text)["id"])
        for target in targets:
            task = asyncio.create_task(
                self._deliver(target, event_id, event.type, event.text.encode()),
                name=f"webhook-delivery-{event_id}",
            )
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _webhooks(self, tenant: str) -> list[dict[str, object]]:
        now = time.monotonic()
        cached = self._cache.get(tenant)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self.db.read() as conn:
            rows: list[dict[str, object]] = list(
                await webhook_store.list_webhooks(conn, tenant=tenant, enabled_only=True)
            )
        self._cache[tenant] = (now + CACHE_SECONDS, rows)
        return rows

    def backoff(self, attempt: int) -> float:
        """Seconds before attempt ``attempt + 1``: base * 2**(attempt-1), plus up to 25% jitter."""
        delay = self.settings.webhook_retry_base_seconds * 2 ** (attempt - 1)
        return float(delay * (1 + random.random() * 0.25))

    async def _attempt(
        self, target: Target, event_id: str, body: bytes
    ) -> tuple[int | None, str | None]:
        assert self._client is not None
        if not self.settings.webhook_allow_private:
            try:
                await safety.check_resolved(target.url)
            except safety.UnsafeTarget as exc:
                return None, f"refused: {exc}"
        headers = signing.headers(target.secret, event_id, int(time.time()), body)
        try:
            response = await self._client.post(target.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:1000]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    async def _deliver(self, target: Target, event_id: str, event_type: str, body: bytes) -> None:
        attempts = self.settings.webhook_max_attempts
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            status, error = await self._attempt(target, event_id, body)
            latency_ms = int((time.monotonic() - started) * 1000)
            ok = error is None
            delay = self.backoff(attempt) if not ok and attempt < attempts else None
            if target.webhook_id is not None:
                try:
                    if not await self._record(
                        target, event_id, event_type, attempt, status, latency_ms, error, delay
                    ):
                        return  # the webhook was deleted or disabled meanwhile
                except Exception:
                    log.exception("recording a webhook delivery failed")
            if ok:
                return
            log.info("webhook delivery to %s failed (attempt %d): %s", target.url, attempt, error)
            if delay is None:
                return
            await asyncio.sleep(delay)

    async def _record(
        self,
        target: Target,
        event_id: str,
        event_type: str,
        attempt: int,
        status: int | None,
        latency_ms: int,
        error: str | None,
        delay: float | None,
    ) -> bool:
        """Record the attempt and the streak; False when the webhook should get no more tries."""
        assert target.webhook_id is not None
        ok = error is None
        async with self.db.write() as conn:
            webhook = await webhook_store.get_webhook(conn, target.webhook_id, tenant=None)
            if webhook is None:
                return False
            await webhook_store.record_delivery(
                conn,
                webhook_id=target.webhook_id,
                event_id=event_id,
                event_type=event_type,
                attempt=attempt,
                status_code=status,
                latency_ms=latency_ms,
                error=error,
                next_attempt_at=time.time() + delay if delay is not None else None,
                delivered=ok,
            )
            streak = await webhook_store.note_result(conn, target.webhook_id, ok=ok)
            if ok or streak is None or streak < self.settings.webhook_disable_after:
                return bool(webhook["enabled"])
            if await webhook_store.disable_webhook(conn, target.webhook_id):
                await append_event(
                    conn,
                    tenant=target.tenant,
                    type="webhook.disabled",
                    data={
                        "webhook_id": target.webhook_id,
                        "url": target.url,
                        "consecutive_failures": streak,
                    },
                )
        self.invalidate(target.tenant)
        return False
