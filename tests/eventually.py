"""``eventually``: wait for a condition instead of sleeping, and say what was last seen.

    job = await eventually(lambda: job_row(db, job_id), until=lambda j: j["status"] == "completed")

The deadline only bounds a failing test (a loaded machine may be slow): nothing asserts how fast
the condition came true.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

T = TypeVar("T")

DEADLINE_SECONDS = 60.0


async def eventually(
    probe: Callable[[], Awaitable[T]] | Callable[[], T],
    *,
    until: Callable[[T], object] = bool,
    seconds: float = DEADLINE_SECONDS,
    interval: float = 0.02,
    what: str = "",
) -> T:
    """Call ``probe`` (sync or async) until ``until`` holds for what it returns, and return that.

    Raises ``AssertionError`` naming ``what`` and the last value seen once ``seconds`` have
    passed, or with the probe's own error if it kept raising one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    last: object = "nothing yet"
    while True:
        try:
            value = probe()
            if inspect.isawaitable(value):
                value = await value
            if until(cast(T, value)):
                return cast(T, value)
            last = value
        except AssertionError as exc:  # a probe that asserts: keep its message as the last value
            last = exc
        if loop.time() >= deadline:
            raise AssertionError(
                f"{what or 'condition'} still not met after {seconds} s; last: {last!r}"
            )
        await asyncio.sleep(interval)
