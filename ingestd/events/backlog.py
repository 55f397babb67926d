"""Backlog reads: streams catching up read the event log a few at a time, and share reads.

A thousand watchers of one job open their streams within a second or two, and each must send
the job's events so far before going live (a per-job stream starts at the job's first event).
Read one by one, two at a time (more would take every reader of SQLite's pool from the tail
that feeds everyone), those thousand reads took seconds, and the live events of a job that
started meanwhile waited behind them: a summary watcher's p99 went from 0.2 s to 3 s.

The reads are the same read: the same job, from the same cursor, up to the same high-water
mark. A range of the log below the high-water mark never changes (the log is append-only), so
one read can serve every stream that asks for it: while it runs (the others wait for it, not
for a reader of their own), and for ``keep_seconds`` after (the next ones arrive in a burst).
Reads that run to the log's current end (``upto`` None) change as events come: those are
never shared.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

from ingestd.events.envelope import LiveEvent

Load = Callable[[], Awaitable[list[LiveEvent]]]


class BacklogReads:
    def __init__(self, readers: int, *, keep_seconds: float = 2.0, keep: int = 32) -> None:
        self.slots = asyncio.Semaphore(readers)  # reads of the log at once
        self.keep_seconds = keep_seconds
        self.keep = keep  # reads kept for sharing, at most (a page each: ~0.5 MB at worst)
        self.reads = 0  # reads of the log made (the rest were shared)
        self._running: dict[Hashable, asyncio.Future[list[LiveEvent]]] = {}
        self._done: OrderedDict[Hashable, tuple[float, list[LiveEvent]]] = OrderedDict()

    async def read(self, key: Hashable | None, load: Load) -> list[LiveEvent]:
        """``load()``'s events, read with a reader slot; ``key`` names the read for sharing
        (None: a read that may not be shared)."""
        if key is None:
            return await self._load(load)
        while True:
            kept = self._kept(key)
            if kept is not None:
                return kept
            running = self._running.get(key)
            if running is None:
                return await self._lead(key, load)
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # this stream was cancelled
                # the stream that was reading went away before its read ended: read again

    async def _lead(self, key: Hashable, load: Load) -> list[LiveEvent]:
        future: asyncio.Future[list[LiveEvent]] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            events = await self._load(load)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a read nobody shared is not an unhandled error
            raise
        finally:
            del self._running[key]
        future.set_result(events)
        self._done[key] = (time.monotonic(), events)
        while len(self._done) > self.keep:
            self._done.popitem(last=False)
        return events

    async def _load(self, load: Load) -> list[LiveEvent]:
        async with self.slots:
            self.reads += 1
            return await load()

    def _kept(self, key: Hashable) -> list[LiveEvent] | None:
        kept = self._done.get(key)
        if kept is None:
            return None
        at, events = kept
        if time.monotonic() - at > self.keep_seconds:
            del self._done[key]
            return None
        return events
