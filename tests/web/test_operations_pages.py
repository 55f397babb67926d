"""The dashboard's Queue, Stats and job pages in a real browser (issue #18, items 3, 5, 6, 9):
live numbers and SVG charts from the metrics feed, errors by code with "retry all", a job's
timings. Debian's headless Chromium, driven by Playwright, against a real server on loopback."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ADMIN_KEY, App
from tests.loopback import serve_on_loopback
from tests.operations.test_api import run_job, write_mixed
from tests.web.browser import browser_page


async def test_queue_stats_and_job_pages(sqlite_app: App, docs: Path) -> None:
    write_mixed(docs)
    job_id = await run_job(sqlite_app)
    async with (
        serve_on_loopback(sqlite_app.asgi) as port,
        browser_page(f"http://127.0.0.1:{port}", ADMIN_KEY) as (page, errors),
    ):
        # Queue: the feed's numbers, and its charts drawn as SVG.
        await page.click('nav a[data-nav="queue"]')
        await page.locator("#queue-live-state", has_text="Live: updated").wait_for()
        summary = await page.inner_text("#queue-summary")
        assert "Files/s (10 s · 1 min)" in summary and "database: healthy" in summary
        await page.wait_for_selector("#queue-throughput-chart svg polyline", state="attached")
        # storage latency from the monitor's samples (it probed as the service started)
        await page.wait_for_selector("#queue-storage-chart svg", state="attached")

        # Stats: files by status, daily usage, errors by code with a retry per code.
        await page.click('nav a[data-nav="stats"]')
        await page.wait_for_selector("#stats-status-chart svg rect", state="attached")
        labels = await page.locator("#stats-status-chart rect").evaluate_all(
            "rects => rects.map(r => r.dataset.label)"
        )
        assert set(labels) == {"completed", "failed"}
        await page.wait_for_selector("#stats-daily-chart svg polyline", state="attached")
        await page.wait_for_selector("#stats-errors-body tr")
        rows = await page.locator("#stats-errors-body tr").all_inner_texts()
        assert any("empty_file" in r for r in rows) and any("unsupported_type" in r for r in rows)
        await page.click('#stats-errors-body button[data-code="empty_file"]')
        await page.wait_for_selector("#stats-retry-result:not([hidden])")
        assert await page.inner_text("#stats-retry-result") == "Retried 1 file(s) with empty_file."
        await sqlite_app.wait_job(job_id)

        # The job's page: where its time went.
        await page.goto(f"http://127.0.0.1:{port}/dashboard#/jobs/{job_id}")
        await page.wait_for_selector("#job-timings:not([hidden])")
        await page.click("#job-timings summary")
        steps = await page.locator("#timings-body tr td:first-child").all_inner_texts()
        assert "parsing" in steps and "detecting" in steps
        await page.wait_for_selector("#timings-chart svg rect", state="attached")
        assert "on average" in await page.inner_text("#timings-wait")
        assert await page.locator("#timings-slowest li").count() >= 1
    assert errors == [], errors  # no script error, no Content-Security-Policy refusal
