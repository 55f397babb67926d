"""Following events: over a WebSocket when the client talks to a server over the network, else
(an app in process, a mock transport) by polling the JSON event pages over the same transport.

Either way a dropped connection is resumed after the last ``seq`` seen, with backoff and jitter,
so no event is missed or repeated. A frame may hold one envelope or, from servers that batch
(``ingestd.batch.v1``), a JSON array of them.
"""

from __future__ import annotations

import random
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from ingestd.client._errors import APIError, ConnectError
from ingestd.client._http import Http
from ingestd.client._models import Event, Job

Detail = Literal["full", "summary"]
NOW = "now"  # internal cursor: skip what happened before the stream opened
POLL_SECONDS = 0.25  # between empty polls, in poll mode
_WS_CODES = {4400: "validation_error", 4401: "authentication_error", 4403: "permission_denied"}
_WS_CODES[4404] = "not_found"
LAGGED = 1013
BATCH_PROTOCOL = "ingestd.batch.v1"  # the WebSocket subprotocol for batched frames


def ws_url(base_url: str, job_id: str | None, after: int | str | None, detail: Detail) -> str:
    base = "ws" + base_url.removeprefix("http") if base_url.startswith("http") else base_url
    path = f"/api/v1/jobs/{job_id}/events" if job_id else "/api/v1/events"
    query = [f"after={after}"] if after is not None else []
    if detail != "full":
        query.append(f"detail={detail}")
    return base + path + ("?" + "&".join(query) if query else "")


def messages(raw: str | bytes) -> list[dict[str, Any]]:
    """The JSON objects in one frame: one envelope, or an array of them."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return []
    items = body if isinstance(body, list) else [body]
    return [item for item in items if isinstance(item, dict)]


NOTICES = frozenset({"connected", "pong", "lagged"})


def as_event(message: dict[str, Any]) -> Event | None:
    """The event in a message; ``None`` for the stream's notices (connected, pong, lagged)."""
    if message.get("type") in NOTICES or "id" not in message or "seq" not in message:
        return None
    try:
        return Event.model_validate(message)
    except ValidationError:
        return None  # not an envelope this SDK can read: skip it, never stop the stream


async def follow(
    http: Http,
    *,
    job_id: str | None,
    after: int | str | None,
    detail: Detail = "full",
    max_failures: int = 10,
) -> AsyncGenerator[Event, None]:
    """Events until a job's stream ends (its final event), or forever for all jobs."""
    source = _websocket if http.networked else _poll
    async for event in source(http, job_id, after, detail, max_failures):
        yield event


class _Reopen(Exception):
    """The stream is to be opened again from the cursor (now known)."""


async def _websocket(
    http: Http, job_id: str | None, after: int | str | None, detail: Detail, max_failures: int
) -> AsyncIterator[Event]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
    from websockets.typing import Subprotocol

    cursor: int | str | None = after
    failures = 0
    while True:
        start = None if cursor == NOW else cursor
        closed: int | None
        try:
            url = ws_url(http.base_url, job_id, _seq(start), detail)
            async with connect(
                url,
                additional_headers=http.auth_headers,
                open_timeout=30,
                max_size=2**24,
                # Several events per frame when the server batches; an older one ignores it.
                subprotocols=[Subprotocol(BATCH_PROTOCOL)],
            ) as ws:
                async for raw in ws:
                    for message in messages(raw):
                        if message.get("type") == "connected":
                            failures = 0
                            if cursor == NOW:  # resume from the head: no backlog to send
                                cursor = int(message.get("seq") or 0)
                                raise _Reopen
                        event = as_event(message)
                        if event is not None:
                            cursor = event.seq
                            yield event
            closed = ws.close_code
        except _Reopen:
            continue
        except ConnectionClosed as exc:
            closed = exc.rcvd.code if exc.rcvd is not None else None
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            failures += 1
            if failures > max_failures:
                raise ConnectError(f"cannot reach ingestd at {http.base_url}: {exc}") from exc
            closed = None
        if closed is not None and 4000 <= closed < 5000:
            status = closed - 4000
            raise APIError(status, _WS_CODES.get(closed, "http_error"), "the stream was refused")
        if closed == 1000 and job_id is not None:
            return  # the job ended
        if closed != LAGGED:  # lagged: resume at once; anything else: back off first
            await http.sleep(_backoff(failures))


async def _poll(
    http: Http, job_id: str | None, after: int | str | None, detail: Detail, max_failures: int
) -> AsyncIterator[Event]:
    path = f"/api/v1/jobs/{job_id}/events" if job_id else "/api/v1/events"
    params: dict[str, str] = {"detail": detail} if detail != "full" else {}
    cursor = await _head(http, path, params) if after == NOW else _seq(after)
    ended = False
    while True:
        page = await http.json("GET", path, params={**params, "after": cursor or 0})
        items = [e for e in (as_event(m) for m in page.get("items") or []) if e is not None]
        for event in items:
            cursor = event.seq
            yield event
            if job_id is not None and event.type.ends_job:
                return
        if items:
            continue
        if ended:
            return  # the job ended before the cursor, and nothing came after
        if job_id is not None:
            # Read once more after seeing the job ended: its last events may be just written.
            ended = await _ended(http, job_id)
        if not ended:
            await http.sleep(POLL_SECONDS)


async def _head(http: Http, path: str, params: dict[str, str]) -> int:
    """The last seq so far, by reading the pages to their end (poll mode only)."""
    cursor = 0
    while True:
        page = await http.json("GET", path, params={**params, "after": cursor})
        if not page.get("items"):
            return cursor
        cursor = int(page.get("next") or cursor)  # the last seq of the page


async def _ended(http: Http, job_id: str) -> bool:
    job = Job.model_validate(await http.json("GET", f"/api/v1/jobs/{job_id}"))
    return job.status.is_terminal


def _seq(value: int | str | None) -> int | str | None:
    """A cursor for the API: a seq or an ``evt_…`` id; ``None`` for the start (or now)."""
    return None if value == NOW else value


def _backoff(failures: int, *, base: float = 0.5, cap: float = 15.0) -> float:
    delay: float = min(cap, base * 2 ** max(failures - 1, 0))
    return delay * random.uniform(0.5, 1.0)  # jitter: reconnecting clients spread out
