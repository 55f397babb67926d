"""Live events over WebSocket and Server-Sent Events, per job or for all the caller's jobs.

WebSocket close codes: 1000 after a per-job stream's final job event; 1013 after a ``lagged``
message (too far behind: resume with ``after``); 4000 + an HTTP status for refusals (4400 a bad
cursor or option, 4401 no or a bad key, 4404 no such job for this key, 4429 over the key's
rate limit).

``detail=summary`` narrows a stream to job events and file failures (job progress coalesced);
``batch=1`` or the WebSocket subprotocol ``ingestd.batch.v1`` sends JSON arrays of envelopes,
one frame for whatever is ready (docs/events.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from starlette.responses import Response
from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from ingestd.api.deps import DbDep, authenticate
from ingestd.api.schemas import ERRORS
from ingestd.domain.auth import Principal
from ingestd.domain.errors import BadRequest, IngestdError
from ingestd.domain.events import SUMMARY_EVENTS
from ingestd.domain.states import JobStatus
from ingestd.events.envelope import LiveEvent, batch_text
from ingestd.events.hub import FULL, SUMMARY
from ingestd.events.service import LiveEvents
from ingestd.events.stream import EventStream, FrameWriter, Lagged
from ingestd.events.uvicorn_ws import frame_writer
from ingestd.observe.metrics import LIVE_CONNECTIONS
from ingestd.services import jobs as job_service
from ingestd.store import events as event_store
from ingestd.store.db import Database

log = logging.getLogger("ingestd.api.events")

router = APIRouter(prefix="/api/v1", tags=["events"], responses=ERRORS)

LAGGED_CODE = 1013
SSE = "text/event-stream"
PAGE = 500

After = Annotated[
    str | None,
    Query(
        description="resume after this event: its `seq` or its `id` (`evt_…`). Per-job streams "
        "without it replay the job from the start; `/events` without it starts from now."
    ),
]
DETAILS = (FULL, SUMMARY)
BATCH_PROTOCOL = "ingestd.batch.v1"
Detail = Annotated[
    str,
    Query(
        description="`full` (default): every event. `summary`: job events (`job.*`, with job "
        "progress coalesced to a few `job.updated` a second per job) and `file.failed`; not "
        "each file's steps.",
        pattern="^(full|summary)$",
    ),
]
BatchFlag = Annotated[
    bool,
    Query(
        description="WebSocket: send several events per message, as a JSON array of envelopes "
        "(also negotiated by the subprotocol `ingestd.batch.v1`). SSE always writes what is "
        "ready in one write."
    ),
]
Token = Annotated[
    str | None,
    Query(description="the API key, for clients that cannot send headers (browsers); never logged"),
]

_STREAM_DOC = """
**Server-Sent Events** with `Accept: text/event-stream`: `id:` is the event's `seq`, `event:` its
type, `data:` the envelope; reconnect with `Last-Event-ID` (or `?after=`). A comment line is
sent every 15 s to keep proxies from closing an idle stream. Without that header: a JSON page of
past events (`items`, `next` = the last `seq`).

**WebSocket** on the same path (`ws://…`; not listed by OpenAPI): authenticate with the usual
header or `?token=<key>`. The first message is `{"type": "connected", …}`; send
`{"type": "ping"}` to get `{"type": "pong"}`. Every other message is an event envelope
`{"id", "seq", "type", "job_id", "file_id", "at", "data"}`: first those after `after`, then live,
with no gap and no duplicate. A client too far behind gets `{"type": "lagged", "resume_after":
seq}` and is disconnected (code 1013): reconnect with `after=<resume_after>`. Refusals close with
4000 + the HTTP status (4401, 4404, 4400, 4429 over the key's rate limit).

**Options.** `detail=summary`: job events (`job.*`; job progress as `job.updated` with
`progress`, at most a few a second per job) and `file.failed`, not each file's steps.
`batch=1` or the WebSocket subprotocol `ingestd.batch.v1`: each message is a JSON array of
envelopes (what is ready, in seq order); SSE always writes what is ready at once.
While a subscriber is behind (100+ events waiting), a pending `file.progress` is dropped when a
later event of the same file arrives, and a pending progress-only `job.updated` when a newer one
of the same job does; nothing else is ever dropped, and `seq` stays exact.
"""

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "an event stream (SSE) or a JSON page of events",
        "content": {
            SSE: {
                "schema": {"type": "string"},
                "example": 'id: 1042\nevent: file.progress\ndata: {"id": "evt_…", "seq": 1042}\n\n',
            },
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


def _live(request_or_ws: Request | WebSocket) -> LiveEvents:
    return request_or_ws.app.state.events  # type: ignore[no-any-return]


async def _cursor(db: Database, after: str | None) -> int | None:
    if after is None or after == "":
        return None
    if after.isdigit():
        return int(after)
    async with db.read() as conn:
        seq = await event_store.seq_of(conn, after)
    if seq is None:
        raise BadRequest(f"no event {after} (it may be past retention; resume by seq instead)")
    return seq


async def _open(
    db: Database,
    principal: Principal,
    job_id: str | None,
    after: str | None,
) -> tuple[int | None, bool]:
    """Check the job is the caller's; returns the cursor and whether the job has ended."""
    cursor = await _cursor(db, after)
    if job_id is None:
        return cursor, False
    async with db.read() as conn:
        job = await job_service.get_job_row(conn, principal, job_id)
    return (0 if cursor is None else cursor), JobStatus(job["status"]).is_terminal


# -- WebSocket -----------------------------------------------------------------------------
class _EventSocket:
    """The WebSocket endpoints as bare ASGI apps, not FastAPI routes: an open connection then
    holds no dependency-injection state (about 5 KB each, which 10,000 idle clients feel)."""

    def __init__(self, per_job: bool) -> None:
        self.per_job = per_job

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        job_id = scope["path_params"]["job_id"] if self.per_job else None
        params = websocket.query_params
        writer = frame_writer(send)
        await _websocket(websocket, job_id, params, writer)


_PER_JOB = _EventSocket(per_job=True)
_ALL_JOBS = _EventSocket(per_job=False)
# Full paths: the router's prefix is applied by its own add_* methods, not at include time.
router.routes.append(WebSocketRoute(router.prefix + "/jobs/{job_id}/events", _PER_JOB))
router.routes.append(WebSocketRoute(router.prefix + "/events", _ALL_JOBS))

_ALL_PATH = router.prefix + "/events"
_JOBS_PREFIX = router.prefix + "/jobs/"
_JOB_SUFFIX = "/events"


def websocket_endpoint(path: str) -> tuple[ASGIApp, dict[str, str]] | None:
    """The event socket serving ``path`` (as the routes above would match it) and its path
    parameters; None for any other path. Lets the app dispatch event sockets ahead of its
    middleware stack and router (see ingestd/api/app.py)."""
    if path == _ALL_PATH:
        return _ALL_JOBS, {}
    if path.startswith(_JOBS_PREFIX) and path.endswith(_JOB_SUFFIX):
        job_id = path[len(_JOBS_PREFIX) : -len(_JOB_SUFFIX)]
        if job_id and "/" not in job_id:  # what the route's "{job_id}" ([^/]+) matches
            return _PER_JOB, {"job_id": job_id}
    return None


def _detail(value: str | None) -> str:
    if value is None or value == "":
        return FULL
    if value not in DETAILS:
        raise BadRequest(f"detail: {value!r} is not one of {', '.join(DETAILS)}")
    return value


def _batch_flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


async def _websocket(
    websocket: WebSocket,
    job_id: str | None,
    params: Any,
    writer: FrameWriter | None,
) -> None:
    live = _live(websocket)
    offered = websocket.scope.get("subprotocols") or []
    protocol = BATCH_PROTOCOL if BATCH_PROTOCOL in offered else None
    await websocket.accept(subprotocol=protocol)
    batch = protocol is not None or _batch_flag(params.get("batch"))
    try:
        detail = _detail(params.get("detail"))
        principal = await authenticate(websocket, params.get("token"))
        cursor, ended = await _open(live.db, principal, job_id, params.get("after"))
    except IngestdError as exc:
        await websocket.close(code=4000 + exc.status, reason=exc.detail[:120])
        return
    stream = live.stream(
        tenant=principal.scope, job_id=job_id, after=cursor, detail=detail, batch=batch
    )
    stream.finite = ended
    # Live events then go straight to the socket, framed once for all (events/stream.py).
    stream.writer = writer
    connections = LIVE_CONNECTIONS.labels("websocket")
    connections.inc()
    try:
        await _session(websocket, stream, job_id)
    finally:
        connections.dec()
        stream.close()


async def _session(websocket: WebSocket, stream: EventStream, job_id: str | None) -> None:
    """Events are sent from this task; a second one reads (pings, and the client leaving).

    Both send, one frame per ``send`` call: the ASGI servers write each frame whole."""
    hello = {
        "type": "connected",
        "job_id": job_id,
        "after": stream.last,
        "seq": stream.upto,
        "detail": stream.detail,
        "batch": stream.batch,
    }
    await websocket.send_text(orjson.dumps(hello).decode())
    reading = asyncio.create_task(_read(websocket, stream))
    try:
        code, reason = await _pump(websocket, stream)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return  # the client went away mid-send
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
    if code:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.close(code=code, reason=reason)


async def _pump(websocket: WebSocket, stream: EventStream) -> tuple[int, str]:
    """Send events until the stream ends; ``(0, "")`` when the client left first. With a
    frame writer, ``stream.next`` returns only the live events it did not write itself."""
    while True:
        try:
            events = await stream.next_batch() if stream.batch else await _one(stream)
        except Lagged:
            if stream.gone:
                return 0, ""
            lagged = {"type": "lagged", "resume_after": stream.last}
            await websocket.send_text(orjson.dumps(lagged).decode())
            return LAGGED_CODE, "lagged: resume with after"
        if not events:  # a finished job's backlog has been sent
            return 1000, "the job has ended"
        await websocket.send_text(batch_text(events) if stream.batch else events[0].text)
        if stream.ends_with(events[-1]):
            return 1000, "the job has ended"


async def _one(stream: EventStream) -> list[LiveEvent]:
    event = await stream.next()
    return [] if event is None else [event]


async def _read(websocket: WebSocket, stream: EventStream) -> None:
    try:
        while True:
            message = await websocket.receive_text()
            with contextlib.suppress(orjson.JSONDecodeError):
                body = orjson.loads(message)
                if isinstance(body, dict) and body.get("type") == "ping":
                    await websocket.send_text('{"type":"pong"}')
    except (WebSocketDisconnect, RuntimeError, KeyError):
        # The client left (or sent something that is not text): stop the pump quietly.
        stream.hang_up()


# -- SSE and JSON ----------------------------------------------------------------------------
@router.get(
    "/jobs/{job_id}/events",
    summary="A job's events: SSE stream, JSON page, or WebSocket",
    description=_STREAM_DOC,
    responses=_RESPONSES,
)
async def job_events(
    job_id: str,
    request: Request,
    db: DbDep,
    after: After = None,
    token: Token = None,
    detail: Detail = FULL,
    batch: BatchFlag = False,
    last_event_id: Annotated[str | None, Header(description="SSE resume cursor")] = None,
) -> Response:
    return await _http(request, db, job_id, last_event_id or after, token, detail)


@router.get(
    "/events",
    summary="Events of all the caller's jobs: SSE stream, JSON page, or WebSocket",
    description=_STREAM_DOC,
    responses=_RESPONSES,
)
async def all_events(
    request: Request,
    db: DbDep,
    after: After = None,
    token: Token = None,
    detail: Detail = FULL,
    batch: BatchFlag = False,
    last_event_id: Annotated[str | None, Header(description="SSE resume cursor")] = None,
) -> Response:
    return await _http(request, db, None, last_event_id or after, token, detail)


async def _http(
    request: Request,
    db: Database,
    job_id: str | None,
    after: str | None,
    token: str | None,
    detail: str,
) -> Response:
    principal = await authenticate(request, token)
    limits: dict[str, str] = request.state.rate_limit_headers
    cursor, ended = await _open(db, principal, job_id, after)
    if SSE not in request.headers.get("accept", ""):
        page = await _page(db, principal, job_id, cursor, detail)
        page.headers.update(limits)
        return page
    live = _live(request)
    stream = live.stream(tenant=principal.scope, job_id=job_id, after=cursor, detail=detail)
    stream.finite = ended
    return StreamingResponse(
        _sse(stream, live.settings.event_keepalive_seconds),
        media_type=SSE,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **limits},
    )


async def _page(
    db: Database, principal: Principal, job_id: str | None, cursor: int | None, detail: str
) -> Response:
    async with db.read() as conn:
        rows = await event_store.events_between(
            conn,
            after_seq=cursor or 0,
            tenant=principal.scope,
            job_id=job_id,
            types=SUMMARY_EVENTS if detail == SUMMARY else None,
            limit=PAGE,
        )
    items = [orjson.Fragment(LiveEvent.from_row(r).text) for r in rows]
    next_seq = int(rows[-1]["seq"]) if rows else cursor
    return Response(orjson.dumps({"items": items, "next": next_seq}), media_type="application/json")


async def _sse(stream: EventStream, keepalive: float) -> AsyncIterator[str]:
    connections = LIVE_CONNECTIONS.labels("sse")
    connections.inc()
    try:
        yield "retry: 2000\n\n"
        while True:
            try:
                # Whatever is ready, as one write (one chunk of the response).
                events = await stream.next_batch(keepalive)
            except Lagged:
                body = orjson.dumps({"type": "lagged", "resume_after": stream.last}).decode()
                yield f"event: lagged\ndata: {body}\n\n"
                return
            if not events:
                if stream.finished:
                    return
                yield ": keep-alive\n\n"
                continue
            yield "".join(
                f"id: {event.seq}\nevent: {event.type}\ndata: {event.text}\n\n" for event in events
            )
            if stream.ends_with(events[-1]):
                return
    finally:
        connections.dec()
        stream.close()
