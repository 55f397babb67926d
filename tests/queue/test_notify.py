"""Workers on another machine wake on NOTIFY, not at their next poll (PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ingestd.runtime import Runtime


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_worker_elsewhere_claims_at_once_on_notify(
    start_app: Callable[..., Any],
    make_settings: Callable[..., Any],
    database_url: str,
    source_root: Path,
) -> None:
    (source_root / "docs").mkdir()
    (source_root / "docs" / "a.md").write_text("# Hello\n\nFrom far away.")
    # A worker with its own store connection, as on another machine, that would poll only
    # every 30 s: only the notification can wake it in time.
    remote = Runtime(
        make_settings(database_url=database_url, poll_seconds=30),
        run_workers=True,
        serves_api=False,
    )
    await remote.start()
    try:
        await asyncio.sleep(1.0)  # let it finish its first (empty) claim and start listening
        async with start_app(database_url=database_url, workers=0) as api:
            started = time.monotonic()
            job = (
                await api.client.post(
                    "/api/v1/jobs", json={"sources": [{"type": "directory", "path": "docs"}]}
                )
            ).json()
            done = await api.wait_job(job["id"], seconds=20)
            assert done["status"] == "completed"
            assert time.monotonic() - started < 15
    finally:
        await remote.stop()
