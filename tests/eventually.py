"""``eventually()``: wait for a condition by polling it, with a deadline — never a fixed sleep.

    job = await eventually(lambda: app.get_job(job_id), until=lambda j: j["status"] == "completed")
    await eventually(lambda: blobs.exists(key), until=lambda present: not present)
    await eventually(check_rows)  # a probe that asserts: retried until it stops raising

The deadline only bounds a failing test: nothing asserts how fast the condition came true.
The probe may be a plain function or a coroutine function. It is called until ``until(value)``
holds (by default: the value is truthy), or, for a probe that raises ``AssertionError``, until it
stops raising. Past ``seconds`` the test fails with what it waited for and the last value
(or assertion) seen, so a failure says where things stood instead of "timed out".
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")

DEADLINE_SECONDS = 60.0  # generous: it only bounds a failing test on a loaded machine
INTERVAL = 0.02  # seconds between probes


async def eventually(
    probe: Callable[[], Awaitable[T] | T],
    *,
    until: Callable[[T], object] = bool,
    seconds: float = DEADLINE_SECONDS,
    interval: float = INTERVAL,
    what: str = "",
) -> T:
    """The probe's first value for which ``until`` holds; fails the test after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    last: Any = _NOTHING
    while True:
        try:
            value = probe()
            if inspect.isawaitable(value):
                value = await value
            last = value
            if until(cast(T, value)):
                return cast(T, value)
        except AssertionError as exc:
            last = exc
        if loop.time() >= deadline:
            raise AssertionError(_failure(what or _name(probe), seconds, last))
        await asyncio.sleep(interval)


def eventually_sync(
    probe: Callable[[], T],
    *,
    until: Callable[[T], object] = bool,
    seconds: float = DEADLINE_SECONDS,
    interval: float = INTERVAL,
    what: str = "",
) -> T:
    """:func:`eventually` for tests that are not async (real processes, ``tests/e2e``)."""
    deadline = time.monotonic() + seconds
    last: Any = _NOTHING
    while True:
        try:
            last = probe()
            if until(last):
                return cast(T, last)
        except AssertionError as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(_failure(what or _name(probe), seconds, last))
        time.sleep(interval)


def _name(probe: Callable[..., Any]) -> str:
    return getattr(probe, "__name__", "the condition")


def _failure(name: str, seconds: float, last: Any) -> str:
    return f"{name} did not hold within {seconds:g} s; last value: {_show(last)}"


class _Nothing:
    def __repr__(self) -> str:
        return "(never probed)"


_NOTHING = _Nothing()


def _show(value: Any) -> str:
    text = f"AssertionError: {value}" if isinstance(value, AssertionError) else repr(value)
    return text if len(text) <= 2000 else text[:2000] + "…"


__all__ = ["eventually", "eventually_sync"]
