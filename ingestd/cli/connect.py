"""How the client commands reach the server: ``--url`` and ``--key``, one SDK ``Client``, and
every error it can raise said in one line (exit code 1), never a traceback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    import httpx

    from ingestd.client import AsyncClient, Client

T = TypeVar("T")

Url = Annotated[
    str | None,
    typer.Option("--url", envvar="INGESTD_URL", help="the server [default: http://127.0.0.1:8000]"),
]
Key = Annotated[
    str | None,
    typer.Option("--key", envvar="INGESTD_KEY", help="API key", show_default=False),
]

NO_KEY = "no API key: set INGESTD_KEY or pass --key (`ingestd keys create` makes one)"
BAD_KEY = "the server refused the API key ({detail}): check INGESTD_KEY or --key"


def transport() -> httpx.AsyncBaseTransport | None:
    """The transport the commands' clients use: the network (tests put a mock here)."""
    return None


def make_client(url: str | None, key: str | None) -> Client:
    """The SDK's sync client for ``--url`` and ``--key`` (else INGESTD_URL, INGESTD_KEY)."""
    from ingestd.client import Client

    return Client(url, api_key=key, transport=transport())


def make_async_client(url: str | None, key: str | None) -> AsyncClient:
    """The SDK's async client, for the live views."""
    from ingestd.client import AsyncClient

    return AsyncClient(url, api_key=key, transport=transport())


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit 1."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(1)


def explain(exc: Exception, key: str | None) -> str:
    """One line for an SDK error, saying what to do about it."""
    from ingestd.client import APIError, AuthenticationError

    if isinstance(exc, AuthenticationError):
        return NO_KEY if not key else BAD_KEY.format(detail=exc.detail)
    if isinstance(exc, APIError):
        return f"{exc.detail} ({exc.code})"
    return str(exc)


@contextmanager
def connected(url: str | None, key: str | None) -> Iterator[Client]:
    """``with connected(url, key) as client:``; SDK errors become one line and exit code 1."""
    from ingestd.client import IngestdClientError

    key = key or None
    try:
        with make_client(url, key) as client:
            yield client
    except IngestdClientError as exc:
        fail(explain(exc, key or client_key()))


def client_key() -> str | None:
    import os

    return os.environ.get("INGESTD_KEY") or None


def with_client(url: str | None, key: str | None, fn: Callable[[Client], T]) -> T:
    with connected(url, key) as client:
        return fn(client)
