"""The claim window: it holds ~AHEAD_SECONDS of work, between the floor and the ceiling."""

from __future__ import annotations

import asyncio
import doctest
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestd.config import MAX_PREFETCH, Settings
from ingestd.domain.refs import FileRef, PathRef
from ingestd.queue import window as window_module
from ingestd.queue.window import ClaimWindow
from ingestd.sources.port import BaseSource, FetchLimits, LocalFile
from ingestd.sources.registry import SourceRegistry, Sources
from ingestd.store.db import Database
from ingestd.worker import Worker
from tests.eventually import eventually
from tests.queue.factory import job_row, make_job, small_files


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_docstring_example_holds() -> None:
    assert doctest.testmod(window_module).failed == 0


def test_starts_at_the_floor_and_stays_there_for_slow_files() -> None:
    clock = Clock()
    window = ClaimWindow(16, 128, clock=clock)
    assert window.size == 16
    for _ in range(20):  # 1 MB PDFs: ~10 files/s on two parsers
        clock.now += 1.0
        window.finished(10)
        assert window.size == 16


def test_grows_to_the_ceiling_while_files_finish_fast_and_shrinks_when_they_slow() -> None:
    clock = Clock()
    window = ClaimWindow(16, 128, clock=clock)
    clock.now += 0.5
    window.finished(1000)  # 2,000 files/s: 0.25 s of them is 500 files
    assert window.size == 128
    sizes = []
    for _ in range(12):  # then 100 files/s: 25 files' worth, once the average has caught up
        clock.now += 0.5
        window.finished(50)
        sizes.append(window.size)
    assert sizes == sorted(sizes, reverse=True), "it only shrinks while the files stay slow"
    assert sizes[-1] == 25


def test_the_rate_is_measured_over_whole_intervals() -> None:
    clock = Clock()
    window = ClaimWindow(4, 64, clock=clock)
    clock.now += 0.1
    window.finished(1000)  # a burst within a short interval is not a rate yet
    assert window.size == 4
    clock.now += 0.4
    assert window.size == 64


@given(
    floor=st.integers(min_value=-3, max_value=200),
    ceiling=st.integers(min_value=-3, max_value=300),
    bursts=st.lists(
        st.tuples(st.floats(min_value=0, max_value=5), st.integers(min_value=0, max_value=10**6)),
        max_size=30,
    ),
)
def test_always_between_floor_and_ceiling(
    floor: int, ceiling: int, bursts: list[tuple[float, int]]
) -> None:
    clock = Clock()
    window = ClaimWindow(floor, ceiling, clock=clock)
    assert 1 <= window.floor <= window.ceiling
    for seconds, files in bursts:
        clock.now += seconds
        window.finished(files)
        assert window.floor <= window.size <= window.ceiling


async def _store_job_through(worker: Worker, db: Database, paths: list[str]) -> dict[str, Any]:
    """Start ``worker``, give it a store-only job of ``paths``, and return the job once it has
    completed (the worker stopped again)."""
    await worker.start()
    try:
        job_id = await make_job(db, len(paths), pipeline="store", local_paths=paths)
        worker.wake()
        job = await eventually(
            lambda: job_row(db, job_id), until=lambda j: j["status"] == "completed", what="job"
        )
    finally:
        await worker.stop(grace_seconds=5)
    return job


async def test_a_worker_claims_beyond_its_floor_for_tiny_files(
    db: Database,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Store-only tiny files finish far faster than a claim: the worker widens its window."""
    monkeypatch.setattr(window_module, "RATE_SECONDS", 0.02)  # measure within a short job
    paths = small_files(tmp_path / "tiny", 400)
    settings = make_settings(database_url=db.url)
    worker = Worker(settings, db, concurrency=2)
    widest = 0

    async def watch() -> None:
        nonlocal widest
        while True:
            widest = max(widest, len(worker._inflight))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    try:
        job = await _store_job_through(worker, db, paths)
    finally:
        watcher.cancel()
    assert job["sources"][0]["n_completed"] == len(paths)
    assert widest > 2, "the window never grew past its floor"
    assert worker.window.ceiling == worker.pool.processes * MAX_PREFETCH


class RemoteFiles(BaseSource):
    """A source whose every file must be downloaded (stands in for an S3 bucket or a remote
    blob store: no network), counting the downloads under way."""

    type = "directory"
    ref_kinds: tuple[str, ...] = ("path",)
    downloading = 0
    widest = 0
    on_download: Callable[[], None] = staticmethod(lambda: None)

    @asynccontextmanager
    async def materialise(self, ref: FileRef, limits: FetchLimits) -> AsyncIterator[LocalFile]:
        assert isinstance(ref, PathRef)
        cls = type(self)
        cls.downloading += 1
        cls.widest = max(cls.widest, cls.downloading)
        cls.on_download()
        try:
            await asyncio.sleep(0.01)  # the bytes arriving
            yield LocalFile(Path(ref.path))
        finally:
            cls.downloading -= 1


async def test_downloads_stay_at_the_floor_however_wide_the_window(
    db: Database, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """A window widened by tiny files must not start a download per claimed file: large remote
    files that follow them would all be fetched at once."""
    paths = small_files(tmp_path / "remote", 40)
    worker = Worker(make_settings(database_url=db.url), db, concurrency=2)
    worker.window = ClaimWindow(32, 64)  # as if tiny files had widened it
    worker.runner.sources = Sources(worker.sources.context, SourceRegistry([RemoteFiles]))
    widest_window = 0

    def seen() -> None:
        nonlocal widest_window
        widest_window = max(widest_window, len(worker._inflight))

    RemoteFiles.on_download = staticmethod(seen)
    job = await _store_job_through(worker, db, paths)
    assert job["sources"][0]["n_completed"] == len(paths)
    assert widest_window > 2, "the files were claimed in a wide window"
    assert RemoteFiles.widest == 2, "yet no more than `concurrency` downloaded at once"
