"""The wider body window on a real uvicorn server: a slow app gets ~1 MB body messages instead of
uvicorn's 64-256 KB ones, and never more than the window plus one socket read."""

from __future__ import annotations

import asyncio
import platform
from typing import Any

import httpx

from ingestd.uploads import http as window
from ingestd.uploads.http import BODY_WINDOW, WideWindowHttpToolsProtocol, keep_heap_for_bodies
from tests.loopback import serve_on_loopback

BODY = 16 * 1024 * 1024


async def body_messages(protocol: Any) -> list[int]:
    sizes: list[int] = []
    received = bytearray()
    sent = bytes(range(256)) * (BODY // 256)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        more = True
        while more:
            message = await receive()
            body = message.get("body", b"")
            assert type(body) is bytes  # what ASGI promises, whatever we gather it in
            sizes.append(len(body))
            received.extend(body)
            more = message.get("more_body", False)
            await asyncio.sleep(0.005)  # a busy app: the server buffers meanwhile
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async with serve_on_loopback(app, http=protocol) as port, httpx.AsyncClient() as client:
        response = await client.put(f"http://127.0.0.1:{port}/", content=sent)
    assert response.status_code == 204
    assert sum(sizes) == BODY
    assert received == sent  # in order, nothing lost or repeated
    return sizes


async def test_a_busy_app_gets_big_messages_within_the_window() -> None:
    sizes = await body_messages(WideWindowHttpToolsProtocol)
    assert max(sizes) > 256 * 1024  # more than uvicorn's own limit lets through
    assert max(sizes) <= BODY_WINDOW + 1024 * 1024  # the window plus at most one read
    default = await body_messages("httptools")
    assert len(sizes) < len(default)


async def test_serving_tunes_the_heap_for_body_messages() -> None:
    """On glibc (every supported Linux image) body messages come from a heap that is not
    trimmed after each one; elsewhere the tuning is a no-op."""
    await body_messages(WideWindowHttpToolsProtocol)  # the first connection tunes it
    assert window._heap_tuned == (platform.libc_ver()[0] == "glibc")
    assert keep_heap_for_bodies() == window._heap_tuned  # and again is harmless
    assert window.MMAP_THRESHOLD > BODY_WINDOW + 1024 * 1024  # a whole message fits under it
