"""The dashboard's file page in a real headless Chromium (driven over the DevTools protocol): a
completed file's document rendered (headings, a list, a table as a table), its chunks beside it,
its pages, and the original's download."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.api.test_docs_offline import CHROMIUM, HAVE_CHROMIUM
from tests.api.test_documents import REPORT, upload_job
from tests.conftest import ADMIN_KEY, App
from tests.eventually import eventually
from tests.loopback import serve_on_loopback
from tests.needs import missing


class Page:
    """One Chromium tab over the DevTools protocol: evaluate JavaScript, read the DOM."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self.ids)
        await self.socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            answer = json.loads(await self.socket.recv())
            if answer.get("id") == message_id:
                assert "error" not in answer, answer
                return answer.get("result", {})  # type: ignore[no-any-return]

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        return result["result"].get("value")


@contextlib.asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Page]:
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
        "--remote-debugging-port=0",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        await eventually(
            lambda: asyncio.to_thread(port_file.exists), until=bool, what="chromium's debug port"
        )
        port = (await asyncio.to_thread(port_file.read_text)).split()[0]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            targets = (await http.get("/json/list")).json()
        [target] = [t for t in targets if t["type"] == "page"]
        async with connect(target["webSocketDebuggerUrl"], max_size=2**24) as socket:
            yield Page(socket)
    finally:
        process.kill()
        await process.wait()


@pytest.fixture
async def served(sqlite_app: App) -> AsyncIterator[tuple[App, str]]:
    async with serve_on_loopback(sqlite_app.asgi) as port:
        yield sqlite_app, f"http://127.0.0.1:{port}"


async def test_the_file_page_shows_the_document_chunks_pages_and_download(
    served: tuple[App, str], tmp_path: Path
) -> None:
    app, base = served
    job = await upload_job(app, {"report.md": REPORT.encode()})
    [file] = await app.files(job["id"])
    async with chromium(tmp_path / "profile") as page:
        await page.send("Page.navigate", url=f"{base}/dashboard")
        await eventually(
            lambda: page.evaluate("document.readyState"), until=lambda s: s == "complete"
        )
        await page.evaluate(f"sessionStorage.setItem('ingestd.key', {json.dumps(ADMIN_KEY)})")
        await page.send("Page.navigate", url=f"{base}/dashboard#/files/{file['id']}")
        await eventually(
            lambda: page.evaluate("!!document.querySelector('#file-document table')"),
            until=bool,
            what="the document rendered",
        )
        await eventually(
            lambda: page.evaluate("document.querySelectorAll('#file-chunks li').length"),
            until=lambda n: n == file["chunks"],
            what="the chunks listed",
        )
        view = await page.evaluate(
            """(() => {
              const doc = document.querySelector('#file-document');
              return {
                visible: !document.querySelector('#view-file').hidden,
                title: document.querySelector('#file-title').textContent,
                headings: [...doc.querySelectorAll('h3, h4')].map((n) => n.textContent),
                items: [...doc.querySelectorAll('ul li')].map((n) => n.textContent),
                header: [...doc.querySelectorAll('table thead th')].map((n) => n.textContent),
                cells: [...doc.querySelectorAll('table tbody tr')].map(
                  (tr) => [...tr.children].map((td) => td.textContent)),
                chunk: document.querySelector('#file-chunks li pre').textContent,
                back: document.querySelector('#file-back').getAttribute('href'),
                pagesEmpty: !document.querySelector('#file-pages-empty').hidden,
              };
            })()"""
        )
        assert view["visible"] and view["title"] == "report.md"
        assert view["headings"] == ["Results", "Regions"]
        assert view["items"] == ["North", "South"]
        assert view["header"] == ["Region", "Q1"]
        assert view["cells"] == [["North", "10"], ["South", "7"]]
        assert view["chunk"].startswith("Results")
        assert view["back"] == f"#/jobs/{job['id']}"
        assert view["pagesEmpty"]  # Markdown has no pages
        downloaded = await page.evaluate(
            f"""fetch('/api/v1/files/{file["id"]}/content',
                    {{headers: {{Authorization: 'Bearer ' + sessionStorage.getItem('ingestd.key')}}}})
                 .then((r) => r.text())"""
        )
        assert downloaded == REPORT
        clicked = await page.evaluate(
            """new Promise((resolve) => {
                 const seen = [];
                 const original = HTMLAnchorElement.prototype.click;
                 HTMLAnchorElement.prototype.click = function () {
                   seen.push(this.download);
                   original.call(this);
                   resolve(seen);
                 };
                 document.querySelector('#file-download').click();
               })"""
        )
        assert clicked == ["report.md"]
