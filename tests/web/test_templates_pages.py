"""The dashboard's template pages in a real headless Chromium (DevTools protocol over a
WebSocket): the list shows usage and valid-row rate, a template shows its versions with diffs
and the mapping editor with sample rows and suggestions, and the mapping queue approves."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from ingestd.events.uvicorn_ws import LeanWebSocketProtocol
from tests.api.test_docs_offline import CHROMIUM, HAVE_CHROMIUM
from tests.conftest import ADMIN_KEY, App
from tests.eventually import eventually
from tests.loopback import serve_on_loopback
from tests.needs import missing


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Page:
    """One Chromium tab driven over the DevTools protocol."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        await self.ws.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(await self.ws.recv())
            if message.get("id") == number:
                assert "error" not in message, message
                return message.get("result", {})  # type: ignore[no-any-return]

    async def eval(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    async def text_of(self, selector: str, *, contains: str) -> str:
        async def probe() -> str:
            return str(
                await self.eval(
                    f"document.querySelector({json.dumps(selector)})?.textContent || ''"
                )
            )

        return await eventually(
            probe, until=lambda t: contains in t, seconds=30, what=f"{selector} shows {contains!r}"
        )


@contextlib.asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Page]:
    if not HAVE_CHROMIUM:
        missing("chromium is not installed (apt-get install -y chromium)")
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", f"--user-data-dir={profile}",
        f"--remote-debugging-port={port}", "--remote-allow-origins=*", "about:blank",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient() as http:

            async def targets() -> list[dict[str, Any]]:
                try:
                    return (await http.get(f"http://127.0.0.1:{port}/json/list")).json()  # type: ignore[no-any-return]
                except httpx.HTTPError:
                    return []

            found = await eventually(
                targets,
                until=lambda t: any(x["type"] == "page" for x in t),
                seconds=60,
                what="chromium",
            )
        url = next(t["webSocketDebuggerUrl"] for t in found if t["type"] == "page")
        async with websockets.connect(url, max_size=None) as ws:
            yield Page(ws)
    finally:
        process.kill()
        await process.wait()


@pytest.fixture
async def site(sqlite_app: App) -> AsyncIterator[str]:
    async with serve_on_loopback(
        sqlite_app.asgi, ws=LeanWebSocketProtocol, ws_per_message_deflate=False
    ) as port:
        yield f"http://127.0.0.1:{port}"


async def test_template_pages(
    sqlite_app: App, site: str, source_root: Path, tmp_path: Path
) -> None:
    app = sqlite_app
    (source_root / "t").mkdir()
    (source_root / "t" / "stock.csv").write_text(
        "SKU,Qty,Unit Price\n" + "".join(f"S{i},{i},{i}.50\n" for i in range(10))
    )
    job = (
        await app.client.post(
            "/api/v1/jobs",
            json={
                "sources": [{"type": "directory", "path": "t"}],
                "pipeline": "extract",
                "options": {"templates": True},
            },
        )
    ).json()
    await app.wait_job(job["id"])
    [file] = await app.files(job["id"])
    [template] = (await app.client.get("/api/v1/templates")).json()["items"]
    schema = {"fields": [{"name": "sku", "type": "string"}, {"name": "quantity", "type": "integer"},
                         {"name": "unit_price", "type": "decimal"}]}  # fmt: skip
    submitted = await app.client.post(
        f"/api/v1/mapping/{file['id']}",
        json={
            "target_schema": schema,
            "mapping": {"SKU": "sku", "Qty": "quantity", "Unit Price": "unit_price"},
        },
    )
    assert submitted.status_code == 201, submitted.text

    async with chromium(tmp_path / "profile") as page:
        await page.send("Page.navigate", url=f"{site}/dashboard")
        await eventually(
            lambda: page.eval("document.readyState"), until=lambda s: s == "complete", what="load"
        )
        await page.eval(f"sessionStorage.setItem('ingestd.key', {json.dumps(ADMIN_KEY)})")
        await page.send("Page.navigate", url=f"{site}/dashboard#/mapping")
        pending = await page.text_of("#mapping-pending", contains="stock")
        assert "Approve" in pending and "Reject" in pending

        await page.send("Page.navigate", url=f"{site}/dashboard#/templates/{template['id']}")
        versions = await page.text_of("#template-versions", contains="v2")
        assert "pending_approval" in versions and "first version" in versions
        editor = await page.text_of("#mapping-body", contains="Unit Price")
        assert "1.50" in editor  # sample rows
        await page.eval("document.getElementById('mapping-suggest').click()")
        suggested = await page.text_of("#mapping-body", contains="quantity (")
        assert "unit_price (" in suggested

        await page.send("Page.navigate", url=f"{site}/dashboard#/mapping")
        await page.text_of("#mapping-pending", contains="stock")
        await page.eval("document.querySelector('#mapping-pending button.approve').click()")

        async def status() -> str:
            return str((await app.client.get(f"/api/v1/files/{file['id']}")).json()["status"])

        await eventually(
            status, until=lambda s: s == "completed", seconds=60, what="the approved re-run"
        )
        await page.send("Page.navigate", url=f"{site}/dashboard#/templates")
        row = await page.text_of("#templates-body", contains="100.0%")
        assert "approved" in row and "stock" in row
