"""Hostile documents through the real worker: each fails (or passes) alone, with a clear code,
within its time and memory limits; the worker survives and the next job runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.hostile_corpus import corpus, streamed

pytestmark = pytest.mark.slow


async def test_hostile_corpus_fails_file_by_file(
    start_app: Callable[..., Any], source_root: Path
) -> None:
    folder = source_root / "hostile"
    folder.mkdir()
    expected: dict[str, set[str]] = {}
    for name, data, outcomes in corpus():
        (folder / name).write_bytes(data)
        expected[name] = outcomes
    big = []
    for name, write, outcomes in streamed():  # e.g. a CSV with one 500 MB line
        write(folder / name)
        expected[name] = outcomes
        big.append(folder / name)
    try:
        await _run_corpus(start_app, source_root, expected)
    finally:  # pytest keeps the last runs' tmp dirs: don't leave 500 MB behind in each
        for path in big:
            path.unlink(missing_ok=True)


async def _run_corpus(
    start_app: Callable[..., Any], source_root: Path, expected: dict[str, set[str]]
) -> None:
    async with start_app(parser_memory_mb=1024) as app:
        body = {
            "sources": [{"type": "directory", "path": "hostile"}],
            # max_file_size above 500 MB: the one-line CSV must reach its extractor
            "options": {"timeout_seconds": 60, "max_retries": 0, "max_file_size": 1024**3},
        }
        job = (await app.client.post("/api/v1/jobs", json=body)).json()
        done = await app.wait_job(job["id"], seconds=240)
        files = {f["name"]: f for f in await app.files(job["id"])}
        assert set(files) == set(expected)
        for name, item in files.items():
            outcome = item["error"]["code"] if item["status"] == "failed" else item["status"]
            assert outcome in expected[name], (name, item["status"], item["error"])
            if item["error"]:
                assert item["error"]["message"] and "Traceback" not in item["error"]["message"]
        assert done["status"] in ("completed", "failed")
        # refused early by the CSV extractor, not by the time or memory limit
        assert "longer than" in files["longline.csv"]["error"]["message"]

        # the worker survived: a normal job still runs
        (source_root / "after").mkdir()
        (source_root / "after" / "ok.md").write_text("# Still here\n\nAll good.")
        after = (
            await app.client.post(
                "/api/v1/jobs", json={"sources": [{"type": "directory", "path": "after"}]}
            )
        ).json()
        assert (await app.wait_job(after["id"], seconds=60))["status"] == "completed"
