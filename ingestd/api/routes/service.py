"""Liveness, readiness and Prometheus metrics (no key needed)."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from ingestd import __version__
from ingestd.api.deps import BlobsDep, DbDep
from ingestd.api.schemas import Health, Ready
from ingestd.blobs.base import BlobStore, run_blob_io
from ingestd.domain.errors import IngestdError
from ingestd.store import files as file_store
from ingestd.store import insight
from ingestd.store import jobs as job_store
from ingestd.store.db import Database

router = APIRouter(tags=["service"])
log = logging.getLogger("ingestd.api")


@router.get("/health", response_model=Health, summary="Liveness")
async def health() -> Any:
    return {"status": "ok", "version": __version__}


@router.get(
    "/ready",
    response_model=Ready,
    summary="Readiness: database and blob storage",
    responses={503: {"model": Ready}},
)
async def ready(db: DbDep, blobs: BlobsDep) -> Any:
    checks = {"database": await _check_db(db), "blobs": await _check_blobs(blobs)}
    ok = all(c["ok"] for c in checks.values())
    body = {"status": "ok" if ok else "unavailable", "checks": checks}
    if ok:
        return body
    from fastapi.responses import JSONResponse

    return JSONResponse(body, status_code=503)


async def _check_db(db: Database) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await db.ping()
    except Exception as exc:
        return {"ok": False, "latency_ms": _ms(started), "error": type(exc).__name__}
    return {"ok": True, "latency_ms": _ms(started)}


async def _check_blobs(blobs: BlobStore) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await run_blob_io(blobs, blobs.check)  # a probe file, or HEAD on the S3 bucket
    except OSError as exc:
        return {
            "ok": False,
            "latency_ms": _ms(started),
            "error": exc.strerror or type(exc).__name__,
        }
    except IngestdError:  # unreachable or refused; details go to the log, not to anonymous callers
        log.warning("blob store readiness check failed", exc_info=True)
        return {"ok": False, "latency_ms": _ms(started), "error": "blob store unavailable"}
    return {"ok": True, "latency_ms": _ms(started)}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request, db: DbDep) -> Response:
    registry = CollectorRegistry()
    files_gauge = Gauge("ingestd_files", "Files by status", ["status"], registry=registry)
    jobs_gauge = Gauge("ingestd_jobs", "Jobs by status", ["status"], registry=registry)
    workers_gauge = Gauge("ingestd_workers", "Workers seen in the last minute", registry=registry)
    info = Gauge("ingestd_build_info", "Version of this process", ["version"], registry=registry)
    info.labels(__version__).set(1)
    async with db.read() as conn:
        for status, count in (await file_store.count_by_status(conn, None)).items():
            files_gauge.labels(status).set(count)
        for status, count in (await job_store.totals_by(conn, "status", None)).items():
            jobs_gauge.labels(status).set(count)
        workers_gauge.set(len(await insight.live_workers(conn, time.time() - 60)))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
