"""Serving an ASGI app on a real loopback socket inside a test (WebSockets, streaming, webhook
receivers need one; httpx's ASGI transport buffers whole responses and speaks no WebSocket)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn


@asynccontextmanager
async def serve_on_loopback(asgi: Any, **config: Any) -> AsyncIterator[int]:
    """Run ``asgi`` under uvicorn on 127.0.0.1 and a free port; yields the port."""
    server = uvicorn.Server(
        uvicorn.Config(
            asgi, host="127.0.0.1", port=0, lifespan="off", log_level="warning", **config
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # it failed to start: raise why
        await asyncio.sleep(0.01)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        await task
