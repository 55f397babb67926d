"""The FastAPI application: routers, middleware and error handling; its lifespan starts and
stops the process's runtime (``ingestd/runtime.py``), which owns every background service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from starlette.datastructures import State
from starlette.types import Receive, Scope, Send

from ingestd import __version__
from ingestd.api.audit import AuditMiddleware
from ingestd.api.docs import install_docs
from ingestd.api.observe import ObserveMiddleware
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
    storage_health,
    uploads,
    webhooks,
)
from ingestd.api.security import SecurityHeadersMiddleware
from ingestd.config import Settings
from ingestd.events import redact
from ingestd.lifecycle import Hooks
from ingestd.runtime import Runtime
from ingestd.web import router as dashboard

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
`application/problem+json` with a stable `code`, and `detail` says what to change.

Which status means what:

- **400** `validation_error`: the request cannot be read as sent — a body that is not multipart
  where files are expected, a malformed header (tus), text that cannot be stored (a NUL).
- **422** `validation_error`: a value is refused — an unknown field, a wrong type, out of range,
  not one of the allowed values (listed), a source path outside the roots, a URL the server may
  not reach. `detail` names each field and why (`options.chunk_szie: unknown field`); `errors`
  lists them with `loc`, `msg` and `type`.
- **401** `authentication_error` no key or not a valid one; **403** `permission_denied` the key's
  role does not allow it; **404** `not_found` no such resource (or another tenant's).
- **409** `conflict`: the resource's state does not allow it (`current_status` says which).
- **413** `payload_too_large`: a file over the job's `max_file_size` or the server's limit,
  refused before it is stored; **415** `unsupported_media_type`: a type the job does not allow.
- **429** `rate_limit_exceeded` and **503** `unavailable`: try again after `Retry-After`.
"""


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
    """Build the app. Its lifespan starts and stops ``runtime`` (every background service of the
    process, the workers too when ``settings.workers > 0``; see ``ingestd/runtime.py``)."""
    settings = settings or Settings()
    runtime = runtime or Runtime(settings)
    rate_limits = RateLimits(settings)
    runtime.lifecycle.add(Hooks("rate-limits", stop=rate_limits.close))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        _publish(app.state, runtime)
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            await runtime.stop()

    app = IngestdApp(
        title="ingestd",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from the package instead of a CDN: api/docs.py
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.blobs = runtime.blobs  # a directory or S3 (docs/storage.md)
    # Services wake and stop the workers by themselves (db.signals); these stay for callers
    # outside the services.
    app.state.notify_work = runtime.notify_work
    app.state.cancel_job = runtime.cancel_job
    app.state.rate_limits = rate_limits
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
    app.add_middleware(ObserveMiddleware)  # metrics, access log, log context, spans (#18)
    app.add_middleware(RequestIdMiddleware)
    for module in (service, jobs, files, insight, search, keys, events, audit, webhooks):
        app.include_router(module.router)
    app.include_router(storage_health.router)  # issue 18: GET /api/v1/metrics/storage
    app.include_router(uploads.router)  # tus (the runtime sweeps expired uploads)
    app.include_router(dashboard)  # HTTP only: the event-socket fast path above is unchanged
    install_docs(app)  # /docs and /redoc, offline

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/dashboard")  # a person opening the server's address

    return app


def _publish(state: State, runtime: Runtime) -> None:
    """What the routes read, once the runtime has started its services."""
    state.db = runtime.db
    state.auth = runtime.auth
    state.events = runtime.events
    state.webhooks = runtime.webhooks
    state.tus = runtime.tus
    state.audit_writer = runtime.audit
    state.storage_monitor = runtime.storage_monitor  # StorageMonitor.snapshot(): storage health
