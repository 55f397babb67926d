"""One owner for everything a process runs in the background.

Every background service — the live-event tail, the webhook dispatcher, the tus expiry sweep,
the audit writer, the blob sweep, the workers, and later the monitors — is a
:class:`BackgroundService`, and one :class:`Lifecycle` per process starts them in order and stops
them in reverse. ``Runtime`` (``ingestd/runtime.py``) builds that lifecycle for an API process,
a worker process, or ``ingestd serve`` with both; the app's lifespan only calls it.

A service is small: ``setup`` (open what it needs; a failure here stops the start), ``run`` (its
loop, if it has one), ``teardown`` (close and hand back). The base class supplies what each of
them used to hand-roll:

- ``run`` is supervised: a crash is logged with the service's name and ``run`` starts again
  after a backoff (``restart_delay`` doubling up to ``restart_max_delay``; a run that lasted
  longer than the current delay resets it);
- ``stop(grace)`` sets :attr:`stopping`, lets ``run`` finish on its own for up to ``grace``
  seconds (a loop waits with :meth:`sleep`, which returns at once when stopping), then cancels it,
  then tears down;
- :class:`PeriodicService` is the common case: ``tick`` every ``every`` seconds, the first one
  after :meth:`first_delay`; a failing tick is logged and tried again at the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
from collections.abc import Awaitable, Callable

log = logging.getLogger("ingestd.lifecycle")


class BackgroundService:
    """Subclass and override any of :meth:`setup`, :meth:`run`, :meth:`teardown`."""

    name = "service"
    logger = log  # where its crashes (and a periodic service's failed ticks) are logged
    restart_delay = 1.0  # seconds before the first restart after a crash
    restart_max_delay = 60.0
    grace = 0.0  # seconds ``stop()`` lets the loop (or the work in flight) finish by itself

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.restarts = 0  # crashes survived (tests and the log read it)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def setup(self) -> None:
        """Before the loop starts; an exception here fails the process's start."""

    async def run(self) -> None:
        """The service's loop, until :attr:`stopping` is set (or it is cancelled). A service
        without a loop (one driven by calls or timers) leaves this alone."""

    async def teardown(self) -> None:
        """After the loop has ended: close clients, hand back leases, write what waits."""

    async def start(self) -> None:
        self.stopping.clear()
        await self.setup()
        if type(self).run is not BackgroundService.run:
            self._task = asyncio.create_task(self._supervise(), name=self.name)

    async def stop(self, grace: float | None = None) -> None:
        """Ask the loop to end, give it ``grace`` seconds (default: :attr:`grace`), cancel it,
        then tear down."""
        grace = self.grace if grace is None else grace
        self.stopping.set()
        task, self._task = self._task, None
        if task is not None:
            if grace > 0:
                await asyncio.wait({task}, timeout=grace)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.teardown()

    async def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``, or less if the service is stopping; True when it is."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(seconds, 0.0)):
                await self.stopping.wait()
        return self.stopping.is_set()

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self.restart_delay
        while not self.stopping.is_set():
            began = loop.time()
            try:
                await self.run()
                return  # it ended by itself
            except Exception:
                self.logger.exception("%s crashed; restarting it in %.1f s", self.name, delay)
            self.restarts += 1
            if loop.time() - began > delay:  # it ran a good while: a new failure, not a loop
                delay = self.restart_delay
            if await self.sleep(delay):
                return
            delay = min(delay * 2, self.restart_max_delay)


class PeriodicService(BackgroundService):
    """:meth:`tick` every ``every`` seconds; a failing tick is logged and tried at the next."""

    every = 60.0  # seconds between ticks

    def first_delay(self) -> float:
        """Seconds before the first tick (0: at once)."""
        return 0.0

    async def tick(self) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        if await self.sleep(self.first_delay()):
            return
        while True:
            try:
                await self.tick()
            except Exception:
                self.logger.exception("%s failed; trying again in %.0f s", self.name, self.every)
            if await self.sleep(self.every):
                return


def jittered(seconds: float, low: float = 0.5) -> float:
    """``seconds`` times a random factor in ``[low, 1]``: processes started together spread out."""
    return seconds * random.uniform(low, 1.0)


class Hooks(BackgroundService):
    """A service that is only a start and a stop: an object built elsewhere whose own methods
    do the work (the live-event tail, the event publisher, a worker, the rate limiter's store).
    Either may be a plain function or a coroutine function."""

    def __init__(
        self,
        name: str,
        *,
        start: Callable[[], Awaitable[None] | None] | None = None,
        stop: Callable[[], Awaitable[None] | None] | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self._on_start = start
        self._on_stop = stop

    async def setup(self) -> None:
        await _call(self._on_start)

    async def teardown(self) -> None:
        await _call(self._on_stop)


async def _call(hook: Callable[[], Awaitable[None] | None] | None) -> None:
    if hook is not None:
        result = hook()
        if inspect.isawaitable(result):
            await result


class Lifecycle:
    """The services of one process, started in the order added and stopped in reverse.

    A start that fails stops what had already started, then raises. A stop that fails in one
    service is logged and the others still stop."""

    def __init__(self) -> None:
        self.services: list[BackgroundService] = []
        self._started: list[BackgroundService] = []

    def add(self, service: BackgroundService) -> BackgroundService:
        self.services.append(service)
        return service

    def get(self, name: str) -> BackgroundService | None:
        return next((s for s in self.services if s.name == name), None)

    async def start(self) -> None:
        for service in self.services:
            if service in self._started:
                continue
            try:
                await service.start()
            except BaseException:
                await self.stop()
                raise
            self._started.append(service)
            log.debug("started %s", service.name)

    async def stop(self) -> None:
        """Stop every started service, newest first, each with its own grace period."""
        while self._started:
            service = self._started.pop()
            try:
                await service.stop()
            except Exception:
                log.exception("%s did not stop cleanly", service.name)


__all__ = ["BackgroundService", "Hooks", "Lifecycle", "PeriodicService", "jittered"]
