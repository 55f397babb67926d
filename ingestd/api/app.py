"""The FastAPI application: routers, error handling, and the embedded workers' lifecycle."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from starlette.types import Receive, Scope, Send

from ingestd import __version__
from ingestd.api.audit import AuditMiddleware
from ingestd.api.problems import RequestIdMiddleware, install_error_handlers
from ingestd.api.ratelimit import RateLimits
from ingestd.api.routes import (
    audit,
    events,
    files,
    insight,
    jobs,
    keys,
    search,
    service,
    uploads,
    webhooks,
)
from ingestd.api.security import SecurityHeadersMiddleware
from ingestd.blobs.url import open_blob_store
from ingestd.config import Settings
from ingestd.events import redact
from ingestd.events.service import LiveEvents
from ingestd.runtime import Runtime
from ingestd.web import router as dashboard
from ingestd.webhooks.dispatcher import WebhookDispatcher

log = logging.getLogger("ingestd.api")

# Response headers a browser client may read (tus clients need theirs).
CORS_EXPOSED = [
    "X-Request-ID",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Location",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Extension",
    "Tus-Max-Size",
    "Tus-Checksum-Algorithm",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Metadata",
    "Upload-Expires",
    "Upload-Defer-Length",
]

DESCRIPTION = """Submit ingestion jobs (uploads, folders, zip archives), watch them, control them.

Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>`. Errors are RFC 9457
`application/problem+json` with a stable `code`."""


class IngestdApp(FastAPI):
    """FastAPI, with the live-event WebSockets dispatched ahead of the middleware stack.

    An open event socket would otherwise stay suspended inside every middleware and the router
    for its whole life (a coroutine frame and closure each, ~7 KB per connection), and none of
    them acts on it: audit and security headers cover HTTP only, CORS does not apply to
    WebSockets, and the request id is never read by event sockets. The endpoint does its own
    authentication and tenant checks and closes with the same codes either way.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            found = events.websocket_endpoint(path[len(root) :] if path.startswith(root) else path)
            if found is not None:
                endpoint, params = found
                scope["app"] = self  # what Starlette sets: the endpoint reads app.state
                scope["path_params"] = params
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    on_ready: Callable[[], None] | None = None,
) -> FastAPI:
    """Build the app. With ``settings.workers > 0`` the lifespan also runs the workers."""
    settings = settings or Settings()
    runtime = runtime or Runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        assert runtime.db is not None
        app.state.db = runtime.db
        app.state.auth = runtime.auth
        live = LiveEvents(settings, runtime.db)  # tails the event log for WebSocket/SSE clients
        await live.start()
        app.state.events = live
        dispatcher = WebhookDispatcher(settings.webhooks, runtime.db)  # the durable outbox
        await dispatcher.start()
        app.state.webhooks = dispatcher
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            await dispatcher.stop()
            await live.stop()
            await app.state.rate_limits.close()
            await runtime.stop()

    app = IngestdApp(
        title="ingestd",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.blobs = open_blob_store(settings)  # a directory or S3 (docs/storage.md)
    app.state.notify_work = runtime.notify_work
    app.state.cancel_job = runtime.cancel_job
    app.state.rate_limits = RateLimits(settings)
    redact.install()
    install_error_handlers(app)
    app.add_middleware(AuditMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.cors_origins:  # closed unless origins are configured
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=CORS_EXPOSED,
            max_age=600,
        )
    app.add_middleware(RequestIdMiddleware)
    for module in (service, jobs, files, insight, search, keys, events, audit, webhooks):
        app.include_router(module.router)
    app.include_router(uploads.router)  # tus; its lifespan sweeps expired uploads
    app.include_router(dashboard)  # HTTP only: the event-socket fast path above is unchanged

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/dashboard")  # a person opening the server's address

    return app
