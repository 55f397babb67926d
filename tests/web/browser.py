"""Debian's headless Chromium driven by Playwright, for the dashboard's pages. Nothing is
downloaded: Playwright drives the system's browser (``apt-get install chromium``)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tests.needs import missing

CHROMIUM = ("chromium", "chromium-browser")


def chromium_path() -> str:
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    missing("no chromium on PATH (apt-get install chromium)")


@asynccontextmanager
async def browser_page(base_url: str, key: str) -> AsyncIterator[tuple[Any, list[str]]]:
    """A signed-in dashboard page, and the browser's console errors (CSP refusals included)."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing("playwright is not installed (pip install -e '.[test]')")
    executable = chromium_path()
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: d.accept())  # "Retry all 2 …?" — yes
            await page.goto(f"{base_url}/dashboard")
            await page.fill("#login-key", key)
            await page.click("#login-form button")
            await page.wait_for_selector("#nav:not([hidden])")
            yield page, errors
        finally:
            await browser.close()
