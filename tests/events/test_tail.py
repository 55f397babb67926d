"""The event-log tail while the database is unreachable."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ingestd.events.hub import Hub
from ingestd.events.tail import LogTail
from tests.conftest import App


async def test_an_unreachable_database_is_logged_once_and_retried_with_backoff(
    sqlite_app: App, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: during a PostgreSQL restart the tail logged a full traceback ~30 times a
    second. Now: one warning, a backoff, one line when it is back, and it goes on reading."""
    assert sqlite_app.runtime.db is not None
    tail = LogTail(sqlite_app.runtime.db, Hub(queue_size=100), poll_seconds=0.01, gap_seconds=1)
    real_read = tail.read_once
    calls = 0

    async def flaky_read() -> bool:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise ConnectionRefusedError("connection refused")
        return await real_read()

    monkeypatch.setattr(tail, "read_once", flaky_read)
    with caplog.at_level(logging.INFO, logger="ingestd.events"):
        await tail.start()
        try:
            for _ in range(400):
                if calls > 5:
                    break
                await asyncio.sleep(0.01)
        finally:
            await tail.stop()
    assert calls > 5
    messages = [r.getMessage() for r in caplog.records if r.name == "ingestd.events"]
    assert sum("unreachable" in m for m in messages) == 1
    assert sum("reachable again" in m for m in messages) == 1
    assert not any(r.exc_info for r in caplog.records)
