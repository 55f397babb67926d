"""Server-Sent Events: same stream, `id:` = seq, `Last-Event-ID` resumes; the OpenAPI document."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import orjson

from ingestd.events.redact import RedactTokens
from tests.conftest import ADMIN_KEY
from tests.events.conftest import Served, make_docs


async def _read_sse(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], stop_after: int | None
) -> tuple[list[dict[str, Any]], httpx.Headers]:
    events: list[dict[str, Any]] = []
    async with client.stream("GET", path, headers=headers, timeout=60) as response:
        assert response.status_code == 200
        fields: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line == "":
                if "data" in fields:
                    body = orjson.loads(fields["data"])
                    assert fields["id"] == str(body["seq"]) and fields["event"] == body["type"]
                    events.append(body)
                    if stop_after is not None and len(events) >= stop_after:
                        break
                fields = {}
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        return events, response.headers


async def test_sse_resume_with_last_event_id_gets_every_event_once(
    served: Served, docs: Path
) -> None:
    make_docs(docs, 30)
    created = await served.app.client.post(
        "/api/v1/jobs", json={"sources": [{"type": "directory", "path": str(docs)}]}
    )
    job_id = created.json()["id"]
    path = f"/api/v1/jobs/{job_id}/events"
    headers = {"Authorization": f"Bearer {ADMIN_KEY}", "Accept": "text/event-stream"}
    async with httpx.AsyncClient(base_url=served.http) as client:
        first, response_headers = await _read_sse(client, path, headers, stop_after=3)
        assert response_headers["cache-control"] == "no-cache"
        assert response_headers["x-accel-buffering"] == "no"
        rest, _ = await _read_sse(
            client, path, {**headers, "Last-Event-ID": str(first[-1]["seq"])}, None
        )
        page = (await client.get(path, headers={"Authorization": headers["Authorization"]})).json()
    got = first + rest
    seqs = [e["seq"] for e in got]
    assert seqs == sorted(set(seqs))
    assert got[-1]["type"] == "job.completed"
    assert seqs[: len(page["items"])] == [e["seq"] for e in page["items"]]


async def test_openapi_describes_the_event_endpoints(served: Served) -> None:
    spec = (await served.app.client.get("/openapi.json")).json()
    for path in ("/api/v1/jobs/{job_id}/events", "/api/v1/events"):
        get = spec["paths"][path]["get"]
        assert "text/event-stream" in get["responses"]["200"]["content"]
        assert "WebSocket" in get["description"]


def test_tokens_never_reach_the_log() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/api/v1/events?after=3&token=ik_secret_value"),
        None,
    )
    RedactTokens().filter(record)
    assert "ik_secret_value" not in record.getMessage()
    assert "after=3&token=***" in record.getMessage()
