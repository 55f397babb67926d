"""``GET /api/v1/metrics/storage``: the storage monitor's view of the database and blob store."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ingestd.api.deps import Caller
from ingestd.api.schemas import StorageHealthView
from ingestd.services.storage_health import StorageMonitor

router = APIRouter(prefix="/api/v1", tags=["operations"])


@router.get(
    "/metrics/storage",
    response_model=StorageHealthView,
    summary="Storage health: latency, running average, history",
    description="Per store (`database`, `blobs`): `healthy`, `latency_ms` of the last probe, "
    "`average_latency_ms` of the last 3, `history_ms` (last 60), `last_check`, `check_count`. "
    "The monitor writes, reads back and deletes a probe every `INGESTD_STORAGE_CHECK_SECONDS` "
    "(a HEAD of the bucket for S3); a store whose probe fails or whose average passes "
    "`INGESTD_STORAGE_SLOW_MS` is unhealthy, announced by a `storage.degraded` event "
    "(`storage.recovered` when it is back).",
)
async def storage_health(request: Request, _caller: Caller) -> Any:
    monitor: StorageMonitor = request.app.state.storage_monitor
    return monitor.snapshot()
