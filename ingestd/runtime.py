"""What a process runs: the store (migrated), key checks, the blob sweep (API processes), and —
unless told not to — workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from ingestd import preflight
from ingestd.config import Settings
from ingestd.domain.auth import Role
from ingestd.events.push import EventPublisher
from ingestd.events.push import choose as choose_push
from ingestd.queue.notify import WorkNotifier
from ingestd.services.blob_gc import BlobCollector
from ingestd.services.keys import KeyAuthenticator, create_key
from ingestd.store.db import Database
from ingestd.store.errors import Duplicate
from ingestd.store.migrate import upgrade
from ingestd.worker import Worker
from ingestd.worker_process import WorkerProcess

GRACE_SECONDS = 10.0  # files in flight get this long to finish when the service stops

log = logging.getLogger("ingestd")


class Runtime:
    def __init__(
        self, settings: Settings, *, run_workers: bool | None = None, serves_api: bool = True
    ) -> None:
        self.settings = settings
        self.run_workers = settings.workers > 0 if run_workers is None else run_workers
        self.serves_api = serves_api
        self.db: Database | None = None
        self.auth: KeyAuthenticator | None = None
        self.worker: Worker | None = None
        self.child: WorkerProcess | None = None
        self.notifier: WorkNotifier | None = None
        self.event_publisher: EventPublisher | None = None  # wakes API processes elsewhere
        self._supervisor: asyncio.Task[None] | None = None
        self.blob_collector: BlobCollector | None = None
        self.bootstrap_key: str | None = None  # a first admin key made at start, shown once

    async def start(self) -> None:
        settings = self.settings
        preflight.check(settings)  # a missing extra is one line naming it, not a traceback
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.data_dir, 0o700)
        url = settings.resolved_database_url
        await upgrade(url)
        self.db = Database(url, pool_size=settings.database_pool_size)
        self.auth = KeyAuthenticator(self.db)
        self.notifier = WorkNotifier(self.db)
        push = choose_push(settings, self.db)
        if push is not None:
            self.event_publisher = EventPublisher(push)
            self.event_publisher.start()
        if self.serves_api:
            await self._admin_key()
            self._start_blob_collector()
        if not self.run_workers:
            return
        if settings.worker_process and self.serves_api:
            self.child = WorkerProcess(settings)
            self.child.start()
            log.info("workers run in process %s", self.child.pid)
            self._supervisor = asyncio.create_task(self._supervise())
        else:
            self.worker = Worker(settings, self.db, concurrency=settings.files_in_flight)
            await self.worker.start()

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
        from ingestd.store.keys import count_keys

        async with self.db.read() as conn:
            if await count_keys(conn):
                return
        _row, self.bootstrap_key = await create_key(
            self.db, name="bootstrap admin", role=Role.ADMIN, tenant="default"
        )

    def _start_blob_collector(self) -> None:
        from ingestd.blobs.url import open_blob_store

        assert self.db is not None
        if self.settings.blob_gc_seconds <= 0:
            return
        self.blob_collector = BlobCollector(
            self.settings.storage, self.db, open_blob_store(self.settings)
        )
        self.blob_collector.start()

    async def _supervise(self) -> None:
        """Restart the worker process if it dies (an out-of-memory kill, a bug): files it held
        return to the queue when their leases expire."""
        delay = 1.0
        while True:
            await asyncio.sleep(1.0)
            assert self.child is not None
            if self.child.exitcode is None:
                delay = 1.0
                continue
            if self.child.exitcode == 0:
                return  # it stopped on request (SIGTERM to the process group): we are stopping too
            log.error(
                "the worker process exited (code %s); restarting it in %.0f s",
                self.child.exitcode,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
            self.child.start()

    def notify_work(self) -> None:
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
        if self.blob_collector is not None:
            await self.blob_collector.stop()
        if self.worker is not None:
            await self.worker.stop()
        if self._supervisor is not None:
            self._supervisor.cancel()
        if self.child is not None:
            await asyncio.to_thread(self.child.stop, GRACE_SECONDS)
        if self.event_publisher is not None:
            await self.event_publisher.stop()
        if self.db is not None:
            await self.db.close()
