"""The SDK against the real app: in process (ASGI transport) for the async client, and on a
loopback socket for the sync one (it runs its own event loop in a thread)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ingestd.client import AsyncClient, UploadStore
from ingestd.events.uvicorn_ws import LeanWebSocketProtocol
from tests.conftest import ADMIN_KEY, App
from tests.loopback import serve_on_loopback


@pytest.fixture
def store(tmp_path: Path) -> UploadStore:
    return UploadStore(tmp_path / "uploads.json")


@pytest.fixture
async def client(app: App, store: UploadStore) -> AsyncIterator[AsyncClient]:
    transport = httpx.ASGITransport(app=app.asgi)
    async with AsyncClient(
        "http://test", api_key=ADMIN_KEY, transport=transport, upload_store=store
    ) as sdk:
        yield sdk


@pytest.fixture
async def sqlite_client(sqlite_app: App, store: UploadStore) -> AsyncIterator[AsyncClient]:
    transport = httpx.ASGITransport(app=sqlite_app.asgi)
    async with AsyncClient(
        "http://test", api_key=ADMIN_KEY, transport=transport, upload_store=store
    ) as sdk:
        yield sdk


@pytest.fixture
async def loopback_url(sqlite_app: App) -> AsyncIterator[str]:
    """The app on a real socket: the sync client and WebSocket streams need one."""
    async with serve_on_loopback(  # the WebSocket options `ingestd serve` uses
        sqlite_app.asgi, ws=LeanWebSocketProtocol, ws_per_message_deflate=False
    ) as port:
        yield f"http://127.0.0.1:{port}"
