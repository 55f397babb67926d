"""A process pool for CPU-heavy stages (parsing, embedding), so the event loop stays free.

Built on pebble: a task over its time limit, or one that crashes its process (a segfault in a
parser, an out-of-memory kill), costs only that process, which is replaced; the file fails with
a clear code and every other file goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import resource
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError as FutureCancelled
from concurrent.futures import Future
from typing import Any, TypeVar, cast

from pebble import ProcessExpired, ProcessPool

from ingestd.domain.errors import FileError
from ingestd.observe import multiproc
from ingestd.pipeline.lanes import Lane, Lanes

T = TypeVar("T")


PARSER_NICENESS = 10


def _prepare_process(memory_mb: int | None) -> None:
    """Parsers yield the CPU to the API and the queue (status stays fast while every core parses),
    and may not grow past ``memory_mb`` of address space: a decompression bomb or a pathological
    document raises MemoryError in its own process instead of taking the machine down.

    Parsers write no metric files (they are recycled often: their work is measured by the
    worker that sent it), so they leave prometheus_client's multiprocess mode."""
    multiproc.leave()
    with contextlib.suppress(OSError):
        os.nice(PARSER_NICENESS)
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class ExtractionPool:
    def __init__(
        self, processes: int, *, memory_mb: int | None = None, max_tasks_per_process: int = 2000
    ) -> None:
        self.processes = processes
        self.memory_mb = memory_mb
        self._pool = ProcessPool(
            max_workers=processes,
            max_tasks=max_tasks_per_process,  # recycle processes to bound slow leaks in parsers
            context=multiprocessing.get_context("spawn"),
            initializer=_prepare_process,
            initargs=(memory_mb,),
        )
        self._lanes = Lanes()
        # Tasks handed to pebble and not done: closing the pool ends every one of them (a task
        # handed over just as pebble stops would otherwise never be resolved).
        self._outstanding: set[Future[Any]] = set()
        self._outstanding_lock = threading.Lock()

    async def run(
        self,
        fn: Callable[..., T],
        *args: Any,
        time_limit: float | None,
        on_start: Callable[[], None] | None = None,
        lane: Lane | None = None,
    ) -> T:
        """Run ``fn(*args)`` in a parser process. ``on_start`` is called (on this event loop)
        once a process has the task: until then it waits for a free one. ``time_limit`` counts
        from then. With ``lane``, at most ``lane.limit`` tasks of its key are in processes at
        once (a capped job's files: ``lanes.py``); the others wait for their turn first."""
        loop = asyncio.get_running_loop()

        def start() -> Future[Any]:
            scheduled = self._pool.schedule(fn, args=args, timeout=time_limit)
            with self._outstanding_lock:
                self._outstanding.add(scheduled)
            scheduled.add_done_callback(self._done)
            if on_start is not None:
                _when_started(scheduled, loop, on_start)
            return scheduled

        # A lane as wide as the pool holds nothing back: its tasks queue as any others do, so
        # a parser that ends one reads the next from its pipe at once (no thread hand-over).
        wide = lane is None or lane.limit >= self.processes
        future = start() if lane is None or wide else self._lanes.submit(lane, start)
        try:
            return cast(T, await asyncio.wrap_future(future))
        except TimeoutError:
            raise FileError(
                "timeout", f"processing took longer than {time_limit or 0:g} s", retryable=True
            ) from None
        except ProcessExpired as exc:
            raise FileError(
                "worker_crashed",
                f"the parser process died (exit code {exc.exitcode}) while reading this file",
                retryable=True,
            ) from None
        except MemoryError:
            raise FileError(
                "memory_limit",
                f"reading this file needed more than the {self.memory_mb} MB a parser may use",
            ) from None
        except FutureCancelled:
            raise asyncio.CancelledError() from None

    def _done(self, future: Future[Any]) -> None:
        with self._outstanding_lock:
            self._outstanding.discard(future)

    def close(self) -> None:
        self._lanes.cancel_waiting()
        self._pool.stop()  # type: ignore[no-untyped-call]
        self._pool.join(timeout=10)
        with self._outstanding_lock:
            left = list(self._outstanding)
        for future in left:  # never resolved by pebble: whoever awaits it must not hang
            future.cancel()


def _when_started(
    future: Future[Any], loop: asyncio.AbstractEventLoop, call: Callable[[], None]
) -> None:
    """Call ``call`` on ``loop`` once ``future`` is running (or done), exactly once.

    pebble marks a task's future running when a worker process acknowledges the task, from its
    own thread; a future has no callback for that, so the marking method of this one future is
    wrapped. The task may have started before the wrapper is in place: it is checked after."""
    fired = threading.Lock()

    def fire() -> None:
        if fired.acquire(blocking=False):
            loop.call_soon_threadsafe(call)

    mark = future.set_running_or_notify_cancel

    def marked() -> bool:
        running = mark()
        if running:
            fire()
        return running

    future.set_running_or_notify_cancel = marked  # type: ignore[method-assign]
    if future.running() or future.done():
        fire()
