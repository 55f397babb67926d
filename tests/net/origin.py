"""A small HTTP origin for download tests, served for real on loopback (tests/loopback.py):
fixed files, redirects, large, slow and flaky bodies. It counts what it sent, so a test can
tell that a refused body was not read to its end."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

BLOCK = 64 * 1024

Send = Any
Scope = dict[str, Any]


class Origin:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.hits: Counter[str] = Counter()
        self.big_sent = 0  # body bytes /big handed to the server
        self.release = asyncio.Event()  # ends /slow responses early (at teardown)

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        self.hits[path] += 1
        kind, _, rest = path.lstrip("/").partition("/")
        if kind == "f" and rest in self.files:
            await _reply(send, 200, self.files[rest])
        elif kind == "named":
            headers = [(b"content-disposition", b'attachment; filename="Quarterly report.md"')]
            await _reply(send, 200, b"# Quarterly\n\nRevenue went up.\n", headers)
        elif kind == "redirect":
            await _reply(send, 302, b"", [(b"location", query["to"].encode())])
        elif kind == "flaky":
            status = 503 if self.hits[path] == 1 else 200
            await _reply(send, status, b"flaky origin recovered\n" if status == 200 else b"busy")
        elif kind == "big":
            await self._big(receive, send, int(query["n"]), declare=query.get("declare") == "1")
        elif kind == "slow":
            await self._slow(send)
        else:
            await _reply(send, 404, b"not here")

    async def _big(self, receive: Any, send: Send, total: int, *, declare: bool) -> None:
        headers = [(b"content-type", b"text/plain")]
        if declare:
            headers.append((b"content-length", str(total).encode()))
        # uvicorn drops writes after the client hangs up without saying so: watch for it.
        gone = asyncio.Event()
        watcher = asyncio.create_task(_until_disconnect(receive, gone))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        try:
            while self.big_sent < total and not gone.is_set():
                block = b"x" * min(BLOCK, total - self.big_sent)
                self.big_sent += len(block)
                await send({"type": "http.response.body", "body": block, "more_body": True})
                await asyncio.sleep(0)
            await send({"type": "http.response.body", "body": b""})
        finally:
            watcher.cancel()

    async def _slow(self, send: Send) -> None:
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"100")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"x", "more_body": True})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.release.wait(), 30)
        try:
            await send({"type": "http.response.body", "body": b"y" * 99})
        except OSError:
            return


async def _until_disconnect(receive: Any, gone: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


async def _reply(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    head = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})
