"""Workers on another machine wake on NOTIFY, not at their next poll (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ingestd.runtime import Runtime
from tests.eventually import eventually


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
    # once an hour: only the notification can wake it.
    remote = Runtime(
        make_settings(database_url=database_url, poll_seconds=3600),
        run_workers=True,
        serves_api=False,
    )
    await remote.start()
    try:
        assert remote.worker is not None
        listener = remote.worker._listener
        await eventually(lambda: listener.listening, what="the remote worker listening")
        async with start_app(database_url=database_url, workers=0) as api:
            job = (
                await api.client.post(
                    "/api/v1/jobs", json={"sources": [{"type": "directory", "path": "docs"}]}
                )
            ).json()
            done = await api.wait_job(job["id"])
            assert done["status"] == "completed"
    finally:
        await remote.stop()
