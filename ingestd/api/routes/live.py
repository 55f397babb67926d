"""The live metrics feed, over WebSocket and Server-Sent Events (services/live_metrics.py).

WebSocket close codes: 4401 no or a bad key, 4429 over the key's rate limit; 1001 when the
server stops. Authentication is the API's one way in (``api/deps.authenticate``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from starlette.responses import Response
from starlette.routing import WebSocketRoute

from ingestd.api.deps import authenticate
from ingestd.api.schemas import ERRORS
from ingestd.domain.errors import IngestdError, Unavailable
from ingestd.services.live_metrics import LiveMetrics, Subscription

router = APIRouter(prefix="/api/v1/metrics", tags=["operations"], responses=ERRORS)

SSE = "text/event-stream"
KEEPALIVE_SECONDS = 15.0

_DOC = """A full snapshot first, then an update every second, computed once for all subscribers.

**WebSocket** (`ws://…/api/v1/metrics/live`; not listed by OpenAPI): authenticate with the usual
header or `?token=<key>`. The first message is `{"type": "metrics", …}`, then
`{"type": "metrics.update", …}` every second; `{"type": "ping"}` gets `{"type": "pong"}`.
A bad key closes with 4401.

**Server-Sent Events** here with `Accept: text/event-stream`: `event: metrics` then
`event: metrics.update`, `data:` the same JSON. Without that header: the current snapshot, once.

Each message: `at`; `throughput` over `10s` and `1m`, each with `files_per_s` and `bytes_per_s`;
`queue` (`queued`, `running`); `workers` (`active`, `files_in_flight`); `storage` per store
(`database`, `blobs`): `status` (`healthy`, `degraded` or `unknown`), `healthy`, `latency_ms`,
`average_latency_ms`, `last_check`, `check_count` (and `history_ms`, the last 60 samples, in the
first message). Admin keys see every tenant's throughput and queue; other keys their tenant's.
"""

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "an event stream (SSE), or the current snapshot as JSON",
        "content": {
            SSE: {
                "schema": {"type": "string"},
                "example": 'event: metrics.update\ndata: {"type": "metrics.update", "throughput": {}}\n\n',
            },
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


def _feed(conn: Request | WebSocket) -> LiveMetrics:
    feed: LiveMetrics | None = getattr(conn.app.state, "live_metrics", None)
    if feed is None:
        raise Unavailable("the live metrics feed does not run in this process")
    return feed


# -- WebSocket ---------------------------------------------------------------------------------
async def _socket(websocket: WebSocket) -> None:
    """A plain Starlette endpoint (as the event sockets are): an open connection holds no
    dependency-injection state."""
    await websocket.accept()
    try:
        principal = await authenticate(websocket, websocket.query_params.get("token"))
        subscription = _feed(websocket).subscribe(principal.scope)
    except IngestdError as exc:
        await websocket.close(code=4000 + exc.status, reason=exc.detail[:120])
        return
    reading = asyncio.create_task(_read(websocket))
    sending = asyncio.create_task(_pump(websocket, subscription))
    try:
        await asyncio.wait({reading, sending}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        subscription.close()
        for task in (reading, sending):
            task.cancel()
        await asyncio.gather(reading, sending, return_exceptions=True)
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await websocket.close(code=1001)


async def _pump(websocket: WebSocket, subscription: Subscription) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await websocket.send_text(await subscription.snapshot())
        while True:
            await websocket.send_text(await subscription.next())


async def _read(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, KeyError):
        while True:
            message = await websocket.receive_text()
            with contextlib.suppress(orjson.JSONDecodeError):
                body = orjson.loads(message)
                if isinstance(body, dict) and body.get("type") == "ping":
                    await websocket.send_text('{"type":"pong"}')


router.routes.append(WebSocketRoute(router.prefix + "/live", _socket))


# -- SSE and JSON --------------------------------------------------------------------------------
@router.get(
    "/live",
    summary="Live metrics: throughput, queue, workers, storage health (SSE, JSON or WebSocket)",
    description=_DOC,
    responses=_RESPONSES,
)
async def live(
    request: Request,
    token: Annotated[str | None, Query(description="the API key, for browsers")] = None,
) -> Response:
    principal = await authenticate(request, token)
    subscription = _feed(request).subscribe(principal.scope)
    if SSE not in request.headers.get("accept", ""):
        try:
            return Response(await subscription.snapshot(), media_type="application/json")
        finally:
            subscription.close()
    return StreamingResponse(
        _sse(subscription),
        media_type=SSE,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _sse(subscription: Subscription) -> AsyncIterator[str]:
    try:
        yield "retry: 2000\n\n"
        yield f"event: metrics\ndata: {await subscription.snapshot()}\n\n"
        while True:
            try:
                async with asyncio.timeout(KEEPALIVE_SECONDS):
                    text = await subscription.next()
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield f"event: metrics.update\ndata: {text}\n\n"
    finally:
        subscription.close()
