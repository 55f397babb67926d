"""``detail=summary`` and batched frames on a real job, over WebSocket, SSE and the JSON page;
and the one authentication path: an event stream over the key's rate limit is refused as REST."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosed

from ingestd.domain.events import SUMMARY_EVENTS
from tests.conftest import ADMIN_KEY
from tests.events.conftest import Served, make_docs, receive

AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
STATE_CHANGES = {"job.created", "job.completed", "file.completed", "file.failed", "file.skipped"}


async def _job(served: Served, docs: Path, n: int) -> str:
    make_docs(docs, n)
    response = await served.app.client.post(
        "/api/v1/jobs",
        json={
            "sources": [{"type": "directory", "path": str(docs)}],
            "options": {"skip_existing": False},
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _log(served: Served, job_id: str, detail: str = "full") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=served.http, headers=AUTH) as client:
        after = 0
        while True:
            page = (
                await client.get(
                    f"/api/v1/jobs/{job_id}/events", params={"after": after, "detail": detail}
                )
            ).json()
            if not page["items"]:
                return items
            items += page["items"]
            after = page["next"]


async def _frames(ws: Any) -> list[Any]:
    """Every message (parsed) until the server closes the socket."""
    return [orjson.loads(message) async for message in ws]


async def test_batched_frames_by_subprotocol_carry_every_event_in_order(
    served: Served, docs: Path
) -> None:
    job_id = await _job(served, docs, 30)
    path = f"/api/v1/jobs/{job_id}/events"
    async with served.connect(path, subprotocols=["ingestd.batch.v1"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "ingestd.batch.v1"
        hello = await receive(ws)
        assert hello["type"] == "connected" and hello["batch"] is True
        frames = await _frames(ws)
        assert ws.close_code == 1000
    assert all(isinstance(frame, list) and frame for frame in frames)
    got = [event for frame in frames for event in frame]
    assert len(frames) < len(got), "several events per frame"
    assert [e["seq"] for e in got] == [e["seq"] for e in await _log(served, job_id)]
    assert got[-1]["type"] == "job.completed"


async def test_batch_query_flag_and_a_server_that_is_not_asked_sends_single_envelopes(
    served: Served, docs: Path
) -> None:
    job_id = await _job(served, docs, 5)
    await served.app.wait_job(job_id)
    path = f"/api/v1/jobs/{job_id}/events"
    async with served.connect(path + "?batch=1") as ws:
        assert (await receive(ws))["batch"] is True
        batched = await _frames(ws)
    async with served.connect(path) as ws:
        assert (await receive(ws))["batch"] is False
        single = await _frames(ws)
    assert all(isinstance(frame, list) for frame in batched)
    assert all(isinstance(frame, dict) for frame in single)
    assert [e["seq"] for frame in batched for e in frame] == [e["seq"] for e in single]


async def test_summary_stream_has_job_events_and_failures_only(served: Served, docs: Path) -> None:
    make_docs(docs, 20)
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    response = await served.app.client.post(
        "/api/v1/jobs",
        json={
            "sources": [{"type": "directory", "path": str(docs)}],
            "options": {"max_retries": 0, "skip_existing": False},
        },
    )
    job_id = response.json()["id"]
    async with served.connect(f"/api/v1/jobs/{job_id}/events?detail=summary") as ws:
        assert (await receive(ws))["detail"] == "summary"
        got = await _frames(ws)
        assert ws.close_code == 1000
    types = [e["type"] for e in got]
    assert set(types) <= SUMMARY_EVENTS
    assert "file.failed" in types and types[-1] == "job.failed"
    full = await _log(served, job_id)
    expected = [e["seq"] for e in full if e["type"] in SUMMARY_EVENTS]
    # Live job progress may be coalesced (at most a few a second per job); nothing else is.
    kept = [e["seq"] for e in got]
    assert kept == sorted(kept)
    changes = [e["seq"] for e in full if e["type"] in SUMMARY_EVENTS and e["type"] != "job.updated"]
    assert set(changes) <= set(kept) <= set(expected)
    # The JSON page and a replay give the same filter, from the log.
    assert [e["seq"] for e in await _log(served, job_id, "summary")] == expected


async def test_summary_over_sse_with_the_tenant_stream(served: Served, docs: Path) -> None:
    job_id = await _job(served, docs, 10)
    await served.app.wait_job(job_id)
    events: list[dict[str, Any]] = []
    headers = {**AUTH, "Accept": "text/event-stream"}
    async with (
        httpx.AsyncClient(base_url=served.http, timeout=30) as client,
        client.stream(
            "GET", "/api/v1/events", params={"after": 0, "detail": "summary"}, headers=headers
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["ratelimit-limit"]  # counted like any read
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(orjson.loads(line[6:]))
                if events[-1]["type"] == "job.completed":
                    break
    assert {e["type"] for e in events} <= SUMMARY_EVENTS
    assert events[0]["type"] == "job.created"


async def test_an_unknown_detail_is_refused(served: Served) -> None:
    async with served.connect("/api/v1/events?detail=everything") as ws:
        with pytest.raises(ConnectionClosed):
            await receive(ws)
        assert ws.close_code == 4400
    async with httpx.AsyncClient(base_url=served.http, headers=AUTH) as client:
        response = await client.get("/api/v1/events", params={"detail": "everything"})
    assert response.status_code == 422
    assert "summary" in response.json()["detail"]


async def test_event_streams_over_the_rate_limit_are_refused_like_rest(
    start_served: Any,
) -> None:
    async with start_served(rate_limit_reads="2/minute") as served:
        async with httpx.AsyncClient(base_url=served.http, headers=AUTH) as client:
            assert (await client.get("/api/v1/jobs")).status_code == 200
            page = await client.get("/api/v1/events")
            assert page.status_code == 200 and page.headers["ratelimit-remaining"] == "0"
            refused = await client.get("/api/v1/events", headers={"Accept": "text/event-stream"})
            assert refused.status_code == 429
            assert refused.json()["code"] == "rate_limit_exceeded"
            assert refused.headers["retry-after"]
            assert (await client.get("/api/v1/jobs")).status_code == 429
        async with served.connect("/api/v1/events") as ws:
            with pytest.raises(ConnectionClosed):
                await receive(ws)
            assert ws.close_code == 4429
        # ?token= is the same key, counted the same way.
        async with served.connect(f"/api/v1/events?token={ADMIN_KEY}", key="") as ws:
            with pytest.raises(ConnectionClosed):
                await receive(ws)
            assert ws.close_code == 4429
