"""What a process runs, and the one owner of its lifecycle.

``Runtime`` opens the store (migrated), checks keys, and builds the process's
:class:`~ingestd.lifecycle.Lifecycle`: every background service it runs, started in order and
stopped in reverse by :meth:`Runtime.start` / :meth:`Runtime.stop` — nothing else starts one.

- an API process (``serves_api``, the default) runs the live-event tail, the webhook dispatcher,
  the tus expiry sweep, the audit writer and the blob sweep;
- ``run_workers`` (default: ``settings.workers > 0``) adds the workers: in a child process of
  their own under ``ingestd serve`` (restarted if it dies), in this process for
  ``ingestd worker``;
- every process publishes its events to the other processes when a push feed is configured.

Services queue work through the store, which signals this runtime (``db.signals``): the workers
here are nudged and the ones elsewhere get a ``NOTIFY``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any

from ingestd import preflight
from ingestd.blobs.base import BlobStore
from ingestd.blobs.url import open_blob_store
from ingestd.config import Settings
from ingestd.domain.auth import Role
from ingestd.events.push import EventPublisher
from ingestd.events.push import choose as choose_push
from ingestd.events.service import LiveEvents
from ingestd.lifecycle import BackgroundService, Hooks, Lifecycle
from ingestd.observe import tracing
from ingestd.queue.notify import WorkNotifier
from ingestd.services.audit import AuditWriter
from ingestd.services.blob_gc import BlobCollector
from ingestd.services.keys import KeyAuthenticator, create_key
from ingestd.services.storage_health import StorageMonitor
from ingestd.services.tus import TusExpiry, TusService
from ingestd.store.db import Database
from ingestd.store.errors import Duplicate
from ingestd.store.keys import count_keys
from ingestd.store.migrate import upgrade
from ingestd.webhooks.dispatcher import WebhookDispatcher
from ingestd.worker import Worker
from ingestd.worker_process import WorkerProcess

GRACE_SECONDS = 10.0  # files in flight get this long to finish when the service stops
CHILD_POLL_SECONDS = 1.0  # how often the API process checks that its worker process lives

log = logging.getLogger("ingestd")


class Runtime:
    def __init__(
        self, settings: Settings, *, run_workers: bool | None = None, serves_api: bool = True
    ) -> None:
        self.settings = settings
        self.run_workers = settings.workers > 0 if run_workers is None else run_workers
        self.serves_api = serves_api
        self.lifecycle = Lifecycle()
        self.blobs: BlobStore = open_blob_store(settings)  # a directory or S3 (docs/storage.md)
        self.db: Database | None = None
        self.auth: KeyAuthenticator | None = None
        self.notifier: WorkNotifier | None = None
        self.bootstrap_key: str | None = None  # a first admin key made at start, shown once
        # The services, once started (None when this process does not run them).
        self.event_publisher: EventPublisher | None = None  # wakes API processes elsewhere
        self.events: LiveEvents | None = None
        self.webhooks: WebhookDispatcher | None = None
        self.tus: TusService | None = None
        self.audit: AuditWriter | None = None
        self.blob_collector: BlobCollector | None = None
        # Probes the database and blob store (API processes); /ready, GET
        # /api/v1/metrics/storage and the live metrics feed read its snapshot().
        self.storage_monitor: StorageMonitor | None = None
        self.worker: Worker | None = None
        self.child: WorkerProcess | None = None
        self._unsubscribe: list[Callable[[], None]] = []

    async def start(self) -> None:
        settings = self.settings
        preflight.check(settings)  # a missing extra is one line naming it, not a traceback
        if not tracing.enabled():
            tracing.enable_from_env()  # OTEL_* asks for traces (the otel extra)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.data_dir, 0o700)
        url = settings.database.url
        await upgrade(url)
        self.db = db = Database(url, pool_size=settings.database.pool_size)
        self.auth = KeyAuthenticator(db)
        self.notifier = WorkNotifier(db)
        push = choose_push(settings, db)
        if push is not None:
            self.event_publisher = EventPublisher(push)
            publisher = self.event_publisher
            self.lifecycle.add(Hooks("event-publisher", start=publisher.start, stop=publisher.stop))
        if self.serves_api:
            await self._admin_key()
            self._api_services(db)
        if self.run_workers:
            self._workers(db)
        try:
            await self.lifecycle.start()
        except BaseException:
            await db.close()
            raise
        if self.serves_api:  # work queued here wakes the workers, here and elsewhere
            self._unsubscribe = [
                db.signals.on_work_queued(self.notify_work),
                db.signals.on_job_cancelled(self.cancel_job),
            ]

    def _api_services(self, db: Database) -> None:
        settings = self.settings
        self.events = LiveEvents(settings, db)  # tails the event log for WebSocket/SSE clients
        self.lifecycle.add(Hooks("live-events", start=self.events.start, stop=self.events.stop))
        self.webhooks = WebhookDispatcher(settings.webhooks, db)  # the durable outbox
        self.lifecycle.add(self.webhooks)
        self.tus = TusService(db, self.blobs, settings.uploads)
        self.lifecycle.add(TusExpiry(self.tus))
        self.audit = AuditWriter(db)
        self.lifecycle.add(self.audit)
        self.storage_monitor = StorageMonitor(settings.storage, db, self.blobs)
        self.lifecycle.add(self.storage_monitor)
        if settings.storage.blob_gc_seconds > 0:
            self.blob_collector = BlobCollector(settings.storage, db, self.blobs)
            self.lifecycle.add(self.blob_collector)

    def _workers(self, db: Database) -> None:
        settings = self.settings
        if settings.worker_process and self.serves_api:
            self.child = WorkerProcess(settings)
            self.lifecycle.add(ChildWorkers(self.child))
        else:
            self.worker = worker = Worker(settings, db, concurrency=settings.files_in_flight)
            self.lifecycle.add(
                Hooks("workers", start=worker.start, stop=lambda: worker.stop(GRACE_SECONDS))
            )
            if settings.metrics_port and not self.serves_api:  # `ingestd worker --metrics-port`
                self.lifecycle.add(MetricsEndpoint(settings.host, settings.metrics_port))

    async def _admin_key(self) -> None:
        assert self.db is not None
        if self.settings.admin_key:
            # Several API processes may start at once on a new database: one inserts the key,
            # the others find it taken (same hash) and have nothing to do.
            with contextlib.suppress(Duplicate):
                await create_key(
                    self.db,
                    name="INGESTD_ADMIN_KEY",
                    role=Role.ADMIN,
                    tenant="default",
                    plain=self.settings.admin_key,
                )
            return
        async with self.db.read() as conn:
            if await count_keys(conn):
                return
        _row, self.bootstrap_key = await create_key(
            self.db, name="bootstrap admin", role=Role.ADMIN, tenant="default"
        )

    def notify_work(self) -> None:
        """Files became claimable: wake the workers here, and (PostgreSQL) the ones elsewhere.
        Services do this by themselves through ``db.signals``; kept for callers outside them."""
        if self.notifier is not None:  # workers on other machines (PostgreSQL)
            self.notifier.notify()
        if self.worker is not None:
            self.worker.wake()
        if self.child is not None:
            self.child.wake()

    def cancel_job(self, job_id: str) -> None:
        if self.worker is not None:
            self.worker.interrupt_job(job_id)
        if self.child is not None:
            self.child.job_cancelled()

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        await self.lifecycle.stop()
        if self.db is not None:
            await self.db.close()


class ChildWorkers(BackgroundService):
    """The worker process of ``ingestd serve``: started with the API, restarted with backoff if it
    dies (an out-of-memory kill, a bug) — the files it held return to the queue when their
    leases expire — and stopped with a grace period for the files in flight."""

    name = "worker-process"
    logger = log
    grace = GRACE_SECONDS

    def __init__(self, child: WorkerProcess) -> None:
        super().__init__()
        self.child = child

    async def setup(self) -> None:
        self._start_child()

    async def run(self) -> None:
        if self.child.exitcode is not None:  # run again after a crash: a new child
            self._start_child()
        while not await self.sleep(CHILD_POLL_SECONDS):
            code = self.child.exitcode
            if code == 0:
                return  # it stopped on request (SIGTERM to the process group): we are stopping too
            if code is not None:
                raise ChildExited(f"the worker process exited (code {code})")

    def _start_child(self) -> None:
        self.child.start()
        log.info("workers run in process %s", self.child.pid)

    async def stop(self, grace: float | None = None) -> None:
        self.stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self.child.stop, self.grace if grace is None else grace)


class MetricsEndpoint(BackgroundService):
    """``ingestd worker --metrics-port``: this process's metrics on ``http://HOST:PORT/metrics``
    (prometheus_client's own server, in a thread), for Prometheus to scrape each worker."""

    name = "metrics-endpoint"
    logger = log

    def __init__(self, host: str, port: int) -> None:
        super().__init__()
        self.host, self.port = host, port
        self._server: Any = None

    async def setup(self) -> None:
        from prometheus_client import start_http_server

        self._server, _thread = start_http_server(self.port, addr=self.host)
        log.info("worker metrics at http://%s:%d/metrics", self.host, self.port)

    async def teardown(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class ChildExited(Exception):
    """The worker process ended with an error."""
