"""Lanes: tasks that share a limit (a capped job's files) go to the parser pool at most ``limit``
at a time.

A job's ``max_workers`` bounds its files in parser processes at once. Waiting for a free slot in
the event loop (a semaphore around the task) costs a round trip per file: the result comes back
to the loop, the slot is released, the next file's task wakes and only then is handed to the
pool, while the parser that just finished stands idle. On tiny files that idle time was as long
as the parse (a job with ``max_workers`` equal to the parsers ran at half the uncapped speed).
Here the next waiting task is handed to the pool from the pool's own thread, in the callback of
the task that ended: the parser gets it as fast as an uncapped job's next queued task.

Pure threading and ``concurrent.futures``: no event loop, no pool of its own. The futures it
returns stay pending until their task ends, so cancelling one works while it waits (it is then
never started) and while it runs (its pool task is cancelled too).
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Lane:
    """Tasks with the same ``key`` run at most ``limit`` at once."""

    key: str
    limit: int


Start = Callable[[], "Future[Any]"]  # hands the task to the pool; its future


class _State:
    __slots__ = ("limit", "running", "waiting")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running = 0
        self.waiting: deque[tuple[Start, Future[Any]]] = deque()


class Lanes:
    """Where each lane's tasks wait for their turn. Thread-safe: tasks end in the pool's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, _State] = {}

    def submit(self, lane: Lane, start: Start) -> Future[Any]:
        """A future for the task that ``start`` hands to the pool, now if the lane has room,
        else as soon as one of its tasks ends."""
        outer: Future[Any] = Future()
        with self._lock:
            state = self._states.get(lane.key)
            if state is None:
                state = self._states[lane.key] = _State(lane.limit)
            state.limit = max(1, lane.limit)
            now = state.running < state.limit
            if now:
                state.running += 1
            else:
                state.waiting.append((start, outer))
        if now:
            self._start(lane.key, start, outer)
        return outer

    def running(self, key: str) -> int:
        """Tasks of ``key`` in the pool now."""
        with self._lock:
            state = self._states.get(key)
            return 0 if state is None else state.running

    def cancel_waiting(self) -> None:
        """Cancel every task still waiting for its turn (the pool is closing)."""
        with self._lock:
            waiting = [outer for state in self._states.values() for _, outer in state.waiting]
            for state in self._states.values():
                state.waiting.clear()
        for outer in waiting:
            outer.cancel()

    def _start(self, key: str, start: Start, outer: Future[Any]) -> None:
        try:
            inner = start()
        except BaseException as exc:  # the pool is closed: the task fails, its turn passes on
            with contextlib.suppress(InvalidStateError):
                outer.set_exception(exc)
            self._ended(key)
            return

        def finished(done: Future[Any]) -> None:
            try:
                _copy(done, outer)
            finally:
                self._ended(key)

        def cancelled(future: Future[Any]) -> None:
            if future.cancelled():
                inner.cancel()  # a running pool task is stopped too (pebble)

        outer.add_done_callback(cancelled)
        inner.add_done_callback(finished)

    def _ended(self, key: str) -> None:
        """One of ``key``'s tasks ended: hand its turn to the next one waiting. (One cancelled
        after this takes it is stopped by its own callback, and its turn passes on from there.)"""
        with self._lock:
            state = self._states[key]
            state.running -= 1
            following = None
            while state.waiting and following is None:
                start, outer = state.waiting.popleft()
                if not outer.cancelled():  # cancelled while waiting: never started
                    following = start, outer
            if following is None:
                if not state.running:
                    del self._states[key]
                return
            state.running += 1
        self._start(key, *following)


def _copy(source: Future[Any], target: Future[Any]) -> None:
    """``source``'s outcome onto ``target`` (which its consumer may have cancelled meanwhile)."""
    with contextlib.suppress(InvalidStateError):
        if source.cancelled():
            target.cancel()
        elif (error := source.exception()) is not None:
            target.set_exception(error)
        else:
            target.set_result(source.result())
