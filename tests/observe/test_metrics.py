"""/metrics answers the operators' questions: what finished how, where time went, what waits,
what the API and the live feeds are doing — counted as work happens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ingestd.config import Settings
from tests.conftest import App
from tests.observe.scrape import names, value


async def test_a_job_shows_up_in_the_counters_and_histograms(sqlite_app: App, docs: Path) -> None:
    app = sqlite_app
    before = (await app.client.get("/metrics")).text
    for i in range(4):
        (docs / f"note{i}.md").write_text(f"# Note {i}\n\nSome text {i}. " * 20)
    (docs / "empty.txt").write_bytes(b"")  # fails for good: empty_file
    created = await app.client.post(
        "/api/v1/jobs",
        json={"sources": [{"type": "directory", "path": "docs"}], "pipeline": "extract"},
    )
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    done = await app.wait_job(job_id)
    assert done["progress"]["files"]["completed"] == 4, done
    await app.client.get(f"/api/v1/jobs/{job_id}")
    await app.client.get("/api/v1/no/such/route")

    after = (await app.client.get("/metrics")).text

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert (
        delta("ingestd_files_finished_total", outcome="completed", mime_type="text/markdown") == 4
    )
    assert delta("ingestd_files_finished_total", outcome="failed", error_code="empty_file") == 1
    assert delta("ingestd_file_seconds_count", outcome="completed") == 4
    for step in ("fetch", "detect", "parse", "record"):
        assert delta("ingestd_step_seconds_count", step=step) >= 4, step
    assert delta("ingestd_queue_wait_seconds_count", priority="normal") == 5
    assert delta("ingestd_files_in_flight") == 0  # all ended
    # HTTP by route template, never the raw path (bounded labels)
    assert (
        delta(
            "ingestd_http_requests_total",
            route="/api/v1/jobs/{job_id}",
            method="GET",
            status="200",
        )
        >= 1
    )
    assert delta("ingestd_http_requests_total", route="unmatched", status="404") == 1
    assert not any(job_id in line for line in after.splitlines() if line.startswith("ingestd_http"))
    assert delta("ingestd_http_request_seconds_count", route="/api/v1/jobs") >= 1
    assert delta("ingestd_db_transaction_seconds_count", kind="write") > 0
    assert delta("ingestd_db_transaction_seconds_count", kind="read") > 0
    # gauges read at scrape time from small tables
    assert value(after, "ingestd_files", status="completed") >= 4
    assert value(after, "ingestd_files", status="failed") >= 1
    assert value(after, "ingestd_jobs", status="failed") >= 1
    assert value(after, "ingestd_queue_depth", priority="normal", state="queued") == 0
    assert ("ingestd_queue_depth_by_tenant") in names(after)
    assert value(after, "ingestd_workers") >= 1
    assert value(after, "ingestd_build_info") == 1


async def test_duplicates_and_retries_are_counted(sqlite_app: App, docs: Path) -> None:
    app = sqlite_app
    before = (await app.client.get("/metrics")).text
    for i in range(3):
        (docs / f"same{i}.txt").write_text("the very same content\n" * 50)
    created = await app.client.post(
        "/api/v1/jobs",
        json={
            "sources": [{"type": "directory", "path": "docs"}],
            "pipeline": "extract",
            "options": {"skip_existing": True},
        },
    )
    done = await app.wait_job(created.json()["id"])
    assert done["progress"]["files"]["skipped"] >= 1, done
    after = (await app.client.get("/metrics")).text
    hits = value(after, "ingestd_dedup_hits_total") - value(before, "ingestd_dedup_hits_total")
    assert hits >= done["progress"]["files"]["skipped"]
    skipped = value(after, "ingestd_files_finished_total", outcome="skipped") - value(
        before, "ingestd_files_finished_total", outcome="skipped"
    )
    assert skipped == done["progress"]["files"]["skipped"]


def test_tenant_depth_labels_stay_bounded() -> None:
    from ingestd.services.metric_gauges import OTHER, TENANT_LABELS, bounded

    counts = {f"t{i:03d}": (i, 1) for i in range(100)}
    kept = bounded(counts)
    assert len(kept) == TENANT_LABELS + 1 and OTHER in kept
    assert sum(q for q, _r in kept.values()) == sum(q for q, _r in counts.values())
    assert "t099" in kept and "t000" not in kept  # the busiest are named


async def test_a_worker_serves_its_own_metrics_port(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    import httpx

    from ingestd.runtime import Runtime
    from tests.e2e.conftest import free_port

    port = free_port()
    runtime = Runtime(
        make_settings(database_url=database_url, metrics_port=port),
        run_workers=True,
        serves_api=False,
    )
    await runtime.start()
    try:
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    finally:
        await runtime.stop()
    assert "ingestd_files_finished_total" in text and "ingestd_step_seconds" in text
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.TransportError):  # stopped with the worker
            await client.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
