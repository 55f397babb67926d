"""The dashboard in a real headless Chromium (Debian's, driven by Playwright; no browser is
downloaded): "Run again" on a cancelled job, numbers that do not mislead (a cancelled job is
never full, skipped files are counted, no ETA without evidence), a failed source on the job
page, and a skipped duplicate linking to its original file."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN_KEY, App
from tests.loopback import serve_on_loopback
from tests.needs import missing

CHROMIUM = Path("/usr/lib/chromium/chromium")  # the binary behind Debian's /usr/bin/chromium

playwright_api = pytest.importorskip("playwright.async_api")


@pytest.fixture
async def dashboard(start_app: Callable[..., Any], source_root: Path) -> AsyncIterator[Any]:
    if not CHROMIUM.exists():  # noqa: ASYNC240 - one stat, before anything starts
        missing("chromium is not installed (apt-get install -y chromium)")
    async with (
        start_app() as app,
        serve_on_loopback(app.asgi) as port,
        playwright_api.async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        page = await browser.new_page()
        await page.add_init_script(f"sessionStorage.setItem('ingestd.key', {ADMIN_KEY!r});")
        base = f"http://127.0.0.1:{port}"
        await page.goto(f"{base}/")
        await _sign_in(page)
        yield app, page, base
        await browser.close()


async def _sign_in(page: Any) -> None:
    login = page.locator("#login-key")
    if await login.is_visible():
        await login.fill(ADMIN_KEY)
        await page.locator("#login-form button[type=submit]").click()
    await page.locator("#nav").wait_for(state="visible")


async def _upload_job(app: App, files: dict[str, bytes], *, start: bool, **options: Any) -> str:
    created = await app.client.post(
        "/api/v1/jobs",
        json={"sources": [{"type": "upload"}], "start": start, "options": options},
    )
    assert created.status_code == 201, created.text
    job_id = str(created.json()["id"])
    parts = [("file", (name, body, "text/plain")) for name, body in files.items()]
    sent = await app.client.post(f"/api/v1/jobs/{job_id}/files", files=parts, data={"seal": "true"})
    assert sent.status_code == 201, sent.text
    return job_id


async def test_a_cancelled_job_is_not_full_and_runs_again(dashboard: Any) -> None:
    app, page, base = dashboard
    files = {f"note{i}.txt": f"note {i}\n".encode() * 20 for i in range(3)}
    job_id = await _upload_job(app, files, start=False, skip_existing=False)
    cancelled = await app.client.post(f"/api/v1/jobs/{job_id}/actions/cancel")
    assert cancelled.json()["status"] == "cancelled"

    await page.goto(f"{base}/#/jobs")
    row = page.locator(f"#jobs-body tr[data-id='{job_id}']")
    await row.wait_for()
    assert "0 / 3" in await row.inner_text()
    assert "3 cancelled" in await row.inner_text()

    await page.goto(f"{base}/#/jobs/{job_id}")
    await page.locator("#job-files-done").wait_for()
    assert await page.locator("#job-files-done").inner_text() == "0 of 3 done"
    assert await page.locator("#job-eta").count() == 0  # no ETA without evidence
    widths = await page.locator("#job-progress progress").evaluate_all(
        "bars => bars.map(b => b.value)"
    )
    assert widths and all(float(w) < 100 for w in widths), widths
    run_again = page.locator("#job-actions button[data-action=rerun]")
    assert await run_again.is_enabled()
    await run_again.click()
    await page.locator("#job-status", has_text="completed").wait_for(timeout=60_000)
    await page.locator("#job-files-done", has_text="3 of 3 done").wait_for(timeout=60_000)
    job = (await app.client.get(f"/api/v1/jobs/{job_id}")).json()
    assert job["status"] == "completed" and job["progress"]["files"]["completed"] == 3


async def test_a_failed_source_shows_on_the_job_page(dashboard: Any, source_root: Path) -> None:
    app, page, base = dashboard
    bomb = source_root / "bomb.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", bytes(200 * 2**20))
    bomb.write_bytes(buffer.getvalue())
    created = await app.client.post(
        "/api/v1/jobs", json={"sources": [{"type": "zip", "path": str(bomb)}]}
    )
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    job = await app.wait_job(job_id)
    assert job["sources"][0]["error"]["code"] == "zip_bomb"
    await page.goto(f"{base}/#/jobs/{job_id}")
    error = page.locator("#job-error")
    await error.wait_for(state="visible")
    assert "zip_bomb" in await error.inner_text()
    assert "zip_bomb" in await page.locator("#job-sources").inner_text()


async def test_a_skipped_duplicate_links_to_its_original(dashboard: Any) -> None:
    app, page, base = dashboard
    body = b"the same bytes twice\n" * 10
    first = await _upload_job(app, {"a.txt": body}, start=True, skip_existing=True)
    await app.wait_job(first)
    [original] = await app.files(first)
    second = await _upload_job(app, {"again.txt": body}, start=True, skip_existing=True)
    await app.wait_job(second)
    [duplicate] = await app.files(second)
    assert duplicate["status"] == "skipped" and duplicate["duplicate_of"] == original["id"]

    await page.goto(f"{base}/#/jobs")
    row = page.locator(f"#jobs-body tr[data-id='{second}']")
    await row.wait_for()
    assert "1 skipped" in await row.inner_text()

    await page.goto(f"{base}/#/jobs/{second}")
    link = page.locator(f"#files-body tr[data-id='{duplicate['id']}'] a.duplicate-of")
    await link.wait_for()
    assert await link.inner_text() == original["id"]
    await link.click()
    marked = page.locator(f"#files-body tr.highlight[data-id='{original['id']}']")
    await marked.wait_for()
    assert page.url.endswith(f"#/files/{original['id']}")
    assert await page.locator("#job-title").inner_text() != second
