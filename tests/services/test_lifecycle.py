"""The lifecycle owner: services start in order and stop in reverse, a crashed loop is restarted
with backoff, a stop gives the loop its grace period, and a failed start undoes itself."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from ingestd.lifecycle import BackgroundService, Hooks, Lifecycle, PeriodicService
from tests.conftest import App
from tests.eventually import eventually


class Recorder(BackgroundService):
    def __init__(self, name: str, log: list[str]) -> None:
        super().__init__()
        self.name = name
        self.log = log

    async def setup(self) -> None:
        self.log.append(f"start {self.name}")

    async def teardown(self) -> None:
        self.log.append(f"stop {self.name}")


async def test_services_start_in_order_and_stop_in_reverse() -> None:
    log: list[str] = []
    lifecycle = Lifecycle()
    for name in ("store", "events", "workers"):
        lifecycle.add(Recorder(name, log))
    await lifecycle.start()
    await lifecycle.stop()
    assert log == [
        "start store",
        "start events",
        "start workers",
        "stop workers",
        "stop events",
        "stop store",
    ]


async def test_a_failed_start_stops_what_had_started() -> None:
    log: list[str] = []

    async def refuse() -> None:
        raise RuntimeError("no database")

    lifecycle = Lifecycle()
    lifecycle.add(Recorder("first", log))
    lifecycle.add(Hooks("broken", start=refuse))
    lifecycle.add(Recorder("never", log))
    with pytest.raises(RuntimeError, match="no database"):
        await lifecycle.start()
    assert log == ["start first", "stop first"]


class Crashing(BackgroundService):
    name = "crashing"
    restart_delay = 0.01
    restart_max_delay = 0.04

    def __init__(self, crashes: int) -> None:
        super().__init__()
        self.crashes = crashes
        self.runs = 0
        self.steady = asyncio.Event()

    async def run(self) -> None:
        self.runs += 1
        if self.runs <= self.crashes:
            raise RuntimeError(f"crash {self.runs}")
        self.steady.set()
        await self.stopping.wait()


async def test_a_crashed_loop_is_logged_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    service = Crashing(crashes=3)
    with caplog.at_level(logging.ERROR, logger="ingestd.lifecycle"):
        await service.start()
        await eventually(service.steady.is_set, what="the service running after its crashes")
        await service.stop()
    assert service.runs == 4 and service.restarts == 3
    crashes = [r for r in caplog.records if "crashing crashed; restarting it" in r.getMessage()]
    assert len(crashes) == 3
    assert "crash 1" in (crashes[0].exc_text or "")


class Draining(BackgroundService):
    """A loop that needs a moment to finish what it holds once asked to stop."""

    name = "draining"

    def __init__(self) -> None:
        super().__init__()
        self.finished = False
        self.release = asyncio.Event()

    async def run(self) -> None:
        await self.stopping.wait()
        await self.release.wait()  # the work in flight
        self.finished = True


async def test_stop_gives_the_loop_its_grace_period_then_cancels() -> None:
    kept = Draining()
    await kept.start()
    stopping = asyncio.create_task(kept.stop(grace=60))
    await eventually(kept.stopping.is_set)
    kept.release.set()
    await stopping
    assert kept.finished

    cut = Draining()
    await cut.start()
    await cut.stop(grace=0)  # nothing releases it: cancelled at once
    assert not cut.finished and not cut.running


class Ticking(PeriodicService):
    name = "ticking"
    every = 0.01

    def __init__(self, fail_first: int) -> None:
        super().__init__()
        self.fail_first = fail_first
        self.ticks = 0

    async def tick(self) -> None:
        self.ticks += 1
        if self.ticks <= self.fail_first:
            raise OSError("store down")


async def test_a_failing_tick_is_tried_again_at_the_next(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = Ticking(fail_first=2)
    with caplog.at_level(logging.ERROR, logger="ingestd.lifecycle"):
        await service.start()
        await eventually(lambda: service.ticks, until=lambda n: n >= 4)
        await service.stop()
    assert service.restarts == 0  # a failed tick is not a crash
    assert sum("ticking failed; trying again" in r.getMessage() for r in caplog.records) == 2


async def test_the_app_runs_every_service_through_one_lifecycle(
    start_app: Callable[..., Any],
) -> None:
    async with start_app() as app:
        running: App = app
        services = {s.name: s for s in running.runtime.lifecycle.services}
        expected = {"live-events", "webhook-dispatcher", "tus-expiry", "audit-writer", "blob-gc"}
        assert expected <= set(services)
        assert "workers" in services  # in-process workers in the tests (worker_process=False)
        names = list(services)
        assert names.index("workers") > names.index("live-events")  # workers stop first
        assert services["webhook-dispatcher"].running and services["tus-expiry"].running
        assert running.asgi.state.tus is running.runtime.tus  # what the routes read
    assert not any(s.running for s in services.values())


async def test_queuing_work_wakes_the_workers_without_the_route(
    start_app: Callable[..., Any], source_root: Any
) -> None:
    """A job created through the service alone (no route, no notify_work call) is claimed at
    once: the workers poll only every hour here."""
    from ingestd.domain.auth import Principal, Role
    from ingestd.services.jobs import create_job

    (source_root / "docs").mkdir()
    (source_root / "docs" / "a.md").write_text("# Hello")
    async with start_app(poll_seconds=3600) as app:
        await eventually(lambda: app.runtime.worker is not None and app.runtime.worker.id)
        admin = Principal("key_test", "default", Role.ADMIN)
        body = {"sources": [{"type": "directory", "path": "docs"}], "options": {}}
        job_id = await create_job(app.runtime.db, app.settings, admin, body)
        done = await app.wait_job(job_id, seconds=30)
        assert done["status"] == "completed"
