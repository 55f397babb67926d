"""The parser pool: a slow or crashing task costs only its own process."""

from __future__ import annotations

import os
import signal
import time

import pytest

from ingestd.domain.errors import FileError
from ingestd.pipeline.pool import ExtractionPool


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


def _crash() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _double(value: int) -> int:
    return value * 2


@pytest.fixture
def pool() -> ExtractionPool:
    pool = ExtractionPool(1)
    yield pool  # type: ignore[misc]
    pool.close()


async def test_a_task_over_its_time_limit_fails_with_timeout_and_the_pool_goes_on(
    pool: ExtractionPool,
) -> None:
    with pytest.raises(FileError) as caught:
        await pool.run(_sleep, 30, time_limit=0.5)
    assert caught.value.code == "timeout" and caught.value.retryable
    assert await pool.run(_double, 21, time_limit=30) == 42


async def test_a_crashing_task_fails_with_worker_crashed_and_the_pool_goes_on(
    pool: ExtractionPool,
) -> None:
    with pytest.raises(FileError) as caught:
        await pool.run(_crash, time_limit=30)
    assert caught.value.code == "worker_crashed"
    assert await pool.run(_double, 2, time_limit=30) == 4


def _allocate(megabytes: int) -> int:
    block = bytearray(megabytes * 1024 * 1024)
    return len(block)


async def test_a_task_over_the_memory_limit_fails_alone() -> None:
    pool = ExtractionPool(1, memory_mb=400)
    try:
        with pytest.raises(FileError) as caught:
            await pool.run(_allocate, 1024, time_limit=30)
        assert caught.value.code == "memory_limit" and "400 MB" in caught.value.message
        assert await pool.run(_allocate, 10, time_limit=30) == 10 * 1024 * 1024
    finally:
        pool.close()
