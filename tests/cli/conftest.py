"""The command line in process: ``CliRunner`` in a thread, against the app on a loopback socket
(or a mock transport), in an 80-column terminal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner, Result

from ingestd.cli import app as cli_app
from ingestd.events.uvicorn_ws import LeanWebSocketProtocol
from tests.conftest import ADMIN_KEY, App
from tests.loopback import serve_on_loopback


@dataclass
class Served:
    app: App
    url: str

    def env(self, **more: str) -> dict[str, str]:
        return {"INGESTD_URL": self.url, "INGESTD_KEY": ADMIN_KEY, "COLUMNS": "80", **more}


@pytest.fixture
async def served(sqlite_app: App) -> AsyncIterator[Served]:
    async with serve_on_loopback(
        sqlite_app.asgi, ws=LeanWebSocketProtocol, ws_per_message_deflate=False
    ) as port:
        yield Served(sqlite_app, f"http://127.0.0.1:{port}")


Run = Callable[..., Awaitable[Result]]


@pytest.fixture
def cli(served: Served) -> Run:
    """``await cli("jobs", "list", env=…)``: the command line in a thread, the app serving."""

    async def run(*args: str, env: dict[str, str] | None = None) -> Result:
        runner = CliRunner()
        return await asyncio.to_thread(
            runner.invoke, cli_app, list(args), env=env if env is not None else served.env()
        )

    return run
