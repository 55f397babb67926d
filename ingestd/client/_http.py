"""One place where the SDK speaks HTTP: the httpx client, retries, and the translation of httpx
errors and problem+json answers into the SDK's exceptions."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from ingestd import __version__
from ingestd.client._errors import ConnectError, RequestTimeout, api_error
from ingestd.client._retry import IDEMPOTENT_METHODS, RETRY_STATUSES, RetryPolicy, parse_retry_after

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 60.0  # seconds for each read, write or connect
IDEMPOTENCY_HEADER = "Idempotency-Key"


class Http:
    """An ``httpx.AsyncClient`` with the key, the retries, and errors as SDK exceptions."""

    def __init__(
        self,
        base_url: str | None,
        *,
        api_key: str | None,
        timeout: float | httpx.Timeout | None,
        retry: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None,
        headers: dict[str, str] | None,
    ) -> None:
        self.base_url = (base_url or os.environ.get("INGESTD_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key or os.environ.get("INGESTD_KEY") or None
        self.retry = retry
        # The event stream uses a WebSocket over the network, unless requests go through a
        # transport of the caller's (an app in process, a mock): then it polls over that.
        self.networked = transport is None or isinstance(transport, httpx.AsyncHTTPTransport)
        sent = {"User-Agent": f"ingestd-python/{__version__}", **(headers or {})}
        if self.api_key:
            sent["Authorization"] = f"Bearer {self.api_key}"
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=sent,
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            transport=transport,
        )
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self, method: str, url: str, *, retry: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send, retrying what is safe to retry; raise ``APIError`` for a 4xx/5xx answer.

        ``retry`` forces the choice; by default idempotent methods, and requests that carry an
        ``Idempotency-Key``, are retried on timeouts, dropped connections, 429 and 503.
        """
        headers = kwargs.get("headers") or {}
        safe = (
            retry
            if retry is not None
            else method in IDEMPOTENT_METHODS or IDEMPOTENCY_HEADER in headers
        )
        attempt = 0
        while True:
            try:
                response = await self._client.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                # Nothing was sent when the connection could not even be made: safe for all.
                unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if retry is not False and (safe or unsent) and attempt < self.retry.retries:
                    await self.sleep(self.retry.delay(attempt))
                    attempt += 1
                    continue
                raise self._transport_error(exc) from exc
            if response.status_code in RETRY_STATUSES and safe and attempt < self.retry.retries:
                wait = parse_retry_after(response.headers.get("retry-after"))
                await response.aclose()
                await self.sleep(self.retry.delay(attempt, wait))
                attempt += 1
                continue
            if response.status_code >= 400:
                await response.aread()
                raise _problem(response)
            return response

    @asynccontextmanager
    async def stream(self, method: str, url: str, **kwargs: Any) -> AsyncIterator[httpx.Response]:
        """A response whose body is read as it arrives (an export, a file's bytes); a 4xx/5xx
        answer raises ``APIError`` as ``request`` does. Not retried once it has started."""
        request = self._client.build_request(method, url, **kwargs)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from exc
        try:
            if response.status_code >= 400:
                await response.aread()
                raise _problem(response)
            yield response
        finally:
            await response.aclose()

    async def json(self, method: str, url: str, **kwargs: Any) -> Any:
        """The answer's JSON body (``None`` for an empty one)."""
        response = await self.request(method, url, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _transport_error(self, exc: httpx.TransportError) -> Exception:
        if isinstance(exc, httpx.TimeoutException):
            return RequestTimeout(f"ingestd at {self.base_url} did not answer in time ({exc!r})")
        return ConnectError(f"cannot reach ingestd at {self.base_url}: {exc}")


def _problem(response: httpx.Response) -> Exception:
    try:
        body = response.json()
    except ValueError:
        body = {}
    return api_error(
        response.status_code, body if isinstance(body, dict) else {}, response.reason_phrase
    )
