"""Following events over WebSocket: reconnects with backoff and jitter, resuming by seq.

Separate from ``_async.py`` so the HTTP client stays small; ``AsyncClient.watch`` uses it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ingestd.client._errors import APIError, ConnectError

_CODES = {
    4400: "validation_error",
    4401: "authentication_error",
    4403: "permission_denied",
    4404: "not_found",
}


def ws_url(base_url: str, job_id: str | None, after: int | str | None) -> str:
    base = "ws" + base_url.removeprefix("http") if base_url.startswith("http") else base_url
    path = f"/api/v1/jobs/{job_id}/events" if job_id else "/api/v1/events"
    return base + path + (f"?after={after}" if after is not None else "")


async def follow(
    base_url: str,
    headers: dict[str, str],
    *,
    job_id: str | None,
    after: int | str | None,
    max_failures: int,
    backoff: float = 0.5,
    backoff_max: float = 15.0,
) -> AsyncIterator[dict[str, Any]]:
    """Yield event envelopes until a per-job stream ends (close 1000). Reconnects after drops
    and ``lagged`` notices, from the last seq seen, so nothing is missed or repeated."""
    cursor = after
    failures = 0
    while True:
        try:
            async with connect(
                ws_url(base_url, job_id, cursor), additional_headers=headers, open_timeout=30
            ) as ws:
                async for raw in ws:
                    message = orjson.loads(raw)
                    kind = message.get("type")
                    if kind == "connected":
                        failures = 0
                        continue
                    if kind in ("pong", "lagged"):
                        continue  # lagged: the server closes; we resume from our cursor
                    cursor = message["seq"]
                    yield message
            closed = ws.close_code
        except ConnectionClosed as exc:
            closed = exc.rcvd.code if exc.rcvd is not None else None
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            failures += 1
            if failures > max_failures:
                raise ConnectError(f"cannot reach ingestd at {base_url}: {exc}") from exc
            closed = None
        if closed is not None and 4000 <= closed < 5000:
            status = closed - 4000
            raise APIError(
                status, _CODES.get(closed, "http_error"), "the server refused the stream"
            )
        if closed == 1000 and job_id is not None:
            return  # the job ended
        if closed != 1013:  # not lagged: back off before trying again
            delay = min(backoff_max, backoff * 2 ** max(failures - 1, 0))
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # jitter: reconnects spread out
