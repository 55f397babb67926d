"""The scrape-time gauges read the per-source counters on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

from ingestd.observe import metrics
from ingestd.services.metric_gauges import database_gauges
from ingestd.store.db import Database
from tests.conftest import App
from tests.observe.scrape import value


async def test_gauges_render_on_an_empty_database(db: Database) -> None:
    text = metrics.render(await database_gauges(db)).decode()
    assert value(text, "ingestd_workers") == 0
    assert value(text, "ingestd_files", status="queued") == 0
    assert "# TYPE ingestd_queue_depth gauge" in text


async def test_queue_depth_follows_the_counters(app: App) -> None:
    created: Any = await app.client.post(
        "/api/v1/jobs",
        json={"sources": [{"type": "upload"}], "priority": "high", "start": True},
    )
    job_id = created.json()["id"]
    files = [("file", (f"f{i}.txt", b"x" * 10, "text/plain")) for i in range(3)]
    await app.client.post(f"/api/v1/jobs/{job_id}/actions/pause")
    response = await app.client.post(f"/api/v1/jobs/{job_id}/files", files=files)
    assert response.status_code == 201, response.text
    text = (await app.client.get("/metrics")).text
    assert value(text, "ingestd_queue_depth", priority="high", state="queued") == 3
    assert value(text, "ingestd_queue_depth_by_tenant", tenant="default", state="queued") == 3
    assert value(text, "ingestd_files", status="queued") == 3
    assert value(text, "ingestd_jobs", status="paused") == 1
