"""Liveness, readiness and Prometheus metrics (no key needed)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ingestd import __version__
from ingestd.api.deps import DbDep
from ingestd.api.schemas import Health, Ready
from ingestd.observe import metrics as observed
from ingestd.services.metric_gauges import database_gauges
from ingestd.services.storage_health import StorageMonitor

router = APIRouter(tags=["service"])
log = logging.getLogger("ingestd.api")


@router.get("/health", response_model=Health, summary="Liveness")
async def health() -> Any:
    return {"status": "ok", "version": __version__}


@router.get(
    "/ready",
    response_model=Ready,
    summary="Readiness: database and blob storage",
    description="Read from the storage monitor, which probes both stores every "
    "`INGESTD_STORAGE_CHECK_SECONDS` (5 s): no probe runs per call. `503` when the last probe "
    "of either store failed. Details: `GET /api/v1/metrics/storage`.",
    responses={503: {"model": Ready}},
)
async def ready(request: Request) -> Any:
    monitor: StorageMonitor = request.app.state.storage_monitor
    checks = {name: _check(name, view) for name, view in monitor.snapshot().items()}
    ok = all(c["ok"] for c in checks.values())
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    return body if ok else JSONResponse(body, status_code=503)


def _check(name: str, view: dict[str, Any]) -> dict[str, Any]:
    """Ready = the store's last probe worked (a slow store still serves). No details for
    anonymous callers: those are in ``GET /api/v1/metrics/storage``."""
    if view["probe_ok"]:
        return {"ok": True, "latency_ms": view["latency_ms"] or 0.0}
    return {"ok": False, "latency_ms": view["latency_ms"] or 0.0, "error": UNAVAILABLE[name]}


UNAVAILABLE = {"database": "database unavailable", "blobs": "blob store unavailable"}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    description="Counters and histograms kept as work happens, across the server's processes, "
    "and gauges read from small tables (no scan of the files table). docs/operations.md "
    "lists every series.",
)
async def metrics(db: DbDep) -> Response:
    body = observed.render(await database_gauges(db))
    return Response(body, media_type=observed.CONTENT_TYPE)
