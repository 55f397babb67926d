"""The embedded workers of ``ingestd serve``, in a child process of their own.

The API process then never parses, unpickles results or writes chunk batches, so its event loop
(and the GIL) stay free and a job's status answers in milliseconds while every core is busy.
The API nudges the child with signals: SIGUSR1 = new work, SIGUSR2 = a job was cancelled.
The child stops gracefully on SIGTERM and by itself if its parent dies (``kill -9`` of serve).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from ingestd.config import Settings
from ingestd.events.push import EventPublisher
from ingestd.events.push import choose as choose_push
from ingestd.observe import logs, multiproc, tracing
from ingestd.store.db import Database
from ingestd.worker import Worker

log = logging.getLogger("ingestd.worker")

NUDGE_EVERY = 0.01  # seconds: at most one wake-up signal per interval


class WorkerProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._process: BaseProcess | None = None
        # The child writes one byte here once it handles signals. A pipe, not a
        # multiprocessing Event: an Event's five named semaphores outlive a serve stopped by
        # SIGTERM (uvicorn re-raises it after shutting down, so no exit handler runs) and the
        # resource tracker then warns of "leaked semaphore objects" at every stop.
        self._ready: Connection | None = None
        self._is_ready = False
        self._last_nudge = 0.0

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._ready, ready = context.Pipe(duplex=False)
        self._is_ready = False
        self._process = context.Process(
            target=run_child, args=(self.settings, os.getpid(), ready), name="ingestd-worker"
        )
        self._process.start()
        ready.close()  # the child's end

    @property
    def exitcode(self) -> int | None:
        """None while the child runs."""
        return self._process.exitcode if self._process is not None else None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def wake(self) -> None:
        now = time.monotonic()
        if now - self._last_nudge >= NUDGE_EVERY:
            self._last_nudge = now
            self._signal(signal.SIGUSR1)

    def job_cancelled(self) -> None:
        self._signal(signal.SIGUSR2)

    def _signal(self, signum: int) -> None:
        # Before the child installs its handlers a signal would kill it; it claims on start anyway.
        if not self._ready_now():
            return
        if self._process is not None and self._process.pid and self._process.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._process.pid, signum)

    def _ready_now(self) -> bool:
        if not self._is_ready and self._ready is not None:
            with contextlib.suppress(OSError, EOFError):
                self._is_ready = self._ready.poll()
        return self._is_ready

    def stop(self, grace_seconds: float) -> None:
        if self._process is None:
            return
        if self._process.is_alive() and self._process.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._process.pid, signal.SIGTERM)
        self._process.join(grace_seconds + 10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        multiproc.process_exited(self._process.pid)  # its live gauges stop counting


def run_child(settings: Settings, parent_pid: int, ready: Connection) -> None:
    logs.setup("info", settings.log_format)  # the format serve was given (observe/logs.py)
    tracing.enable_from_env()  # spans of the file steps, with the otel extra (OTEL_*)
    try:
        asyncio.run(_child(settings, parent_pid, ready))
    except BaseException:
        log.exception("the worker process failed")
        raise


async def _child(settings: Settings, parent_pid: int, ready: Connection) -> None:
    """The child's whole life: the parent has migrated the database already; the child opens it,
    runs one worker (and, when events cross processes, publishes what its worker logs), and
    stops on SIGTERM or when the parent is gone."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, lambda: None)  # Ctrl-C reaches serve, which stops us
    db = Database(settings.resolved_database_url, pool_size=settings.database_pool_size)
    push = choose_push(settings, db)
    publisher = EventPublisher(push) if push is not None else None
    if publisher is not None:
        publisher.start()
    worker = Worker(settings, db, concurrency=settings.files_in_flight)
    try:
        await worker.start()
        loop.add_signal_handler(signal.SIGUSR1, worker.wake)
        loop.add_signal_handler(signal.SIGUSR2, worker.check_now)
        ready.send_bytes(b"1")
        ready.close()
        watch = asyncio.create_task(_watch_parent(parent_pid, stop))
        await stop.wait()
        watch.cancel()
    finally:
        await worker.stop()
        if publisher is not None:
            await publisher.stop()
        await db.close()


async def _watch_parent(parent_pid: int, stop: asyncio.Event) -> None:
    while True:
        await asyncio.sleep(1.0)
        if os.getppid() != parent_pid:
            break
    log.warning("the ingestd serve process is gone; stopping its workers")
    stop.set()
