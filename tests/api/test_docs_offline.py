"""``/docs`` and ``/redoc`` work without internet: a real headless Chromium, for which every host
but this machine's loopback does not resolve, renders the operations from the package's own
Swagger UI and ReDoc files."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ingestd.api.app import create_app
from tests.loopback import serve_on_loopback
from tests.needs import missing

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
RENDER_MS = 20_000  # virtual time for the page's scripts (not wall time: it ends when idle)


async def render(url: str, profile: Path) -> str:
    """The page's DOM after its scripts ran, fetched by a Chromium that can reach nothing but
    127.0.0.1: a script or style from a CDN would fail to load, and the page stay empty."""
    if not HAVE_CHROMIUM:
        missing("chromium is not installed (apt-get install -y chromium)")
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--proxy-server=http://127.0.0.1:9",  # anything not bypassed goes nowhere
        "--proxy-bypass-list=127.0.0.1",
        f"--virtual-time-budget={RENDER_MS}",
        "--dump-dom",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode()


@pytest.fixture
async def docs_url(make_settings: Callable[..., Any]) -> Any:
    app = create_app(make_settings())  # the pages need no store: no lifespan
    async with serve_on_loopback(app) as port:
        yield f"http://127.0.0.1:{port}"


async def test_swagger_ui_renders_the_operations_offline(docs_url: str, tmp_path: Path) -> None:
    dom = await render(f"{docs_url}/docs", tmp_path / "profile")
    assert "swagger-ui" in dom and 'class="opblock' in dom, dom[:3000]
    for operation in ("/api/v1/jobs", "/api/v1/uploads", "Create a job"):
        assert operation in dom, operation
    assert "cdn.jsdelivr.net" not in dom and "fonts.googleapis.com" not in dom


async def test_redoc_renders_the_operations_offline(docs_url: str, tmp_path: Path) -> None:
    dom = await render(f"{docs_url}/redoc", tmp_path / "profile")
    assert "Create a job" in dom and "/api/v1/jobs" in dom, dom[:3000]
