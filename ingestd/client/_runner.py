"""How the sync client runs the async one: on a private event loop in a background thread
(anyio's blocking portal), so it works in any thread, with or without a loop of its own
(notebooks included).

Ctrl-C is clean: a ``KeyboardInterrupt`` that arrives while the calling thread waits cancels
the work on the loop and waits for it to unwind (sockets closed, generators finished) before
it propagates. No ``aclose(): asynchronous generator is already running``.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack
from typing import Any, TypeVar, cast

from anyio.from_thread import BlockingPortal, start_blocking_portal

T = TypeVar("T")
UNWIND_SECONDS = 5.0  # at most this long for cancelled work to finish after Ctrl-C


def _leave_ctrl_c_to_the_caller() -> int:
    """Run on the loop's thread: SIGINT is not delivered to it (nor to the threads it starts),
    so the kernel delivers it to a thread that waits for a result, which wakes up and raises
    ``KeyboardInterrupt``. (A signal caught by this thread would leave that one asleep.)"""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    return threading.get_ident()


class Runner:
    def __init__(self) -> None:
        self._stack = ExitStack()
        self._portal: BlockingPortal = self._stack.enter_context(start_blocking_portal())
        self._loop_thread = self._portal.call(_leave_ctrl_c_to_the_caller)

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """``await fn(*args, **kwargs)`` on the loop; its result, or its exception."""
        unwound = threading.Event()

        async def guarded() -> T:
            try:
                return await fn(*args, **kwargs)
            finally:
                unwound.set()

        future = self._portal.start_task_soon(guarded)
        try:
            return future.result()
        except BaseException:
            if not future.done():  # interrupted while waiting: stop the work, let it unwind
                future.cancel()
                unwound.wait(UNWIND_SECONDS)
            raise

    def iterate(self, items: AsyncIterator[T]) -> Iterator[T]:
        """An async iterator as a sync one, closed on the loop when left early."""
        done = object()

        async def step() -> Any:
            try:
                return await items.__anext__()
            except StopAsyncIteration:
                return done

        try:
            while True:
                item = self.run(step)
                if item is done:
                    return
                yield cast(T, item)
        finally:
            aclose = getattr(items, "aclose", None)
            # Left early (break, an error, garbage collection): close it on the loop. Not from
            # the loop's own thread (a collection there), which cannot wait for itself: the
            # loop finalises it when it shuts down.
            if aclose is not None and threading.get_ident() != self._loop_thread:
                with contextlib.suppress(RuntimeError):  # still running after a failed unwind
                    self.run(cast(AsyncGenerator[T, None], items).aclose)

    def close(self) -> None:
        """Stop the loop. Work still running on it (a call whose Ctrl-C unwind outlasted
        ``UNWIND_SECONDS``) is cancelled, not waited for: closing never hangs on it."""
        with contextlib.suppress(RuntimeError):  # the portal is already stopped
            self._portal.call(self._portal.stop, True)
        self._stack.close()
