"""The app served by a real uvicorn on loopback: WebSockets and streaming SSE need a socket
(httpx's ASGI transport buffers whole responses and speaks no WebSocket)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from ingestd.events.uvicorn_ws import WS_MAX_MESSAGE, LeanWebSocketProtocol
from tests.conftest import ADMIN_KEY, App
from tests.loopback import serve_on_loopback


@dataclass
class Served:
    app: App
    http: str
    ws: str

    def connect(
        self, path: str, *, key: str = ADMIN_KEY, **kwargs: Any
    ) -> websockets.asyncio.client.connect:
        return websockets.asyncio.client.connect(
            self.ws + path, additional_headers={"Authorization": f"Bearer {key}"}, **kwargs
        )


async def serve(app: App) -> AsyncIterator[Served]:
    # The WebSocket options `ingestd serve` uses (ingestd/cli/serve.py).
    async with serve_on_loopback(
        app.asgi, ws=LeanWebSocketProtocol, ws_per_message_deflate=False, ws_max_size=WS_MAX_MESSAGE
    ) as port:
        yield Served(app, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}")


@pytest.fixture
async def served(app: App) -> AsyncIterator[Served]:
    async for running in serve(app):
        yield running


@pytest.fixture
def start_served(start_app: Callable[..., Any], database_url: str) -> Callable[..., Any]:
    """``async with start_served(**settings) as served:`` — own settings, both databases."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Served]:
        async with start_app(database_url=database_url, **overrides) as app:
            async for running in serve(app):
                yield running

    return start


async def receive(ws: ClientConnection, seconds: float = 30.0) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.recv(), seconds)
    body: dict[str, Any] = orjson.loads(message)
    return body


async def collect(ws: ClientConnection, seconds: float = 60.0) -> list[dict[str, Any]]:
    """Every message until the server closes the socket."""
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(seconds):
        async for message in ws:
            out.append(orjson.loads(message))
    return out


def make_docs(folder: Path, n: int) -> None:
    for i in range(n):
        (folder / f"doc{i:03d}.txt").write_text(f"document {i}\n" + "words and more words\n" * 50)
