"""The sync client and SimpleClient against the app on a loopback socket (they run their own
event loop in a thread), and the event stream over a real WebSocket."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.server import ServerConnection, serve

from ingestd.client import (
    AsyncClient,
    Client,
    Event,
    EventType,
    JobStatus,
    Progress,
    SimpleClient,
    UploadSummary,
    sources,
)
from ingestd.client._watch import messages, ws_url
from tests.api.test_jobs import write_docs
from tests.conftest import ADMIN_KEY


async def in_thread(fn: Callable[[], Any]) -> Any:
    """The sync client blocks: run it off the loop that serves the app."""
    return await asyncio.to_thread(fn)


async def test_the_sync_client_runs_a_job_and_watches_it_over_a_websocket(
    loopback_url: str, docs: Path, tmp_path: Path
) -> None:
    write_docs(docs, count=3)

    def scenario() -> tuple[Any, list[Progress], list[Event], list[str]]:
        with Client(loopback_url, api_key=ADMIN_KEY, upload_store=tmp_path / "u.json") as client:
            job = client.jobs.create(sources.directory("docs"), pipeline="extract")
            events = list(client.watch(job.id))
            seen: list[Progress] = []
            final = client.jobs.wait(job.id, on_progress=seen.append)
            paths = sorted(f.path for f in client.jobs.files(job.id))
        return final, seen, events, paths

    final, seen, events, paths = await in_thread(scenario)
    assert final.status is JobStatus.COMPLETED and seen[-1].status is JobStatus.COMPLETED
    assert events[0].type is EventType.JOB_CREATED and events[-1].type.ends_job
    assert paths == ["nested/table.csv", "note0.md", "note1.md", "note2.md"]


async def test_simple_client_uploads_waits_and_sums_up(loopback_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.csv").write_text("x,y\n1,2\n")
    (folder / "b.md").write_text("# B\n\nbody")
    (folder / "bad.pdf").write_bytes(b"%PDF-1.4 no")

    def scenario() -> tuple[UploadSummary, UploadSummary]:
        with SimpleClient(loopback_url, ADMIN_KEY, upload_store=False) as simple:
            waited = simple.upload_files([folder], wait_for_completion=True, pipeline="extract")
            quick = simple.upload_files([folder / "a.csv"], name="later")
        return waited, quick

    waited, quick = await in_thread(scenario)
    assert waited.processed == 2 and waited.status is JobStatus.FAILED
    assert [(f.path, f.code) for f in waited.failed] == [("bad.pdf", "parse_error")]
    assert waited.job_id.startswith("job_") and waited.job.name == "in"
    assert quick.job.name == "later" and quick.upload is not None
    assert quick.upload.files_sent == 1 and quick.upload.sealed


@pytest.fixture
async def flaky_stream() -> AsyncIterator[tuple[str, list[str]]]:
    """A WebSocket server that sends one event, then a batched frame of two, dropping the
    connection in between; it notes the query string of every connection."""
    queries: list[str] = []

    def envelope(seq: int, kind: str) -> dict[str, Any]:
        return {"id": f"evt_{seq}", "seq": seq, "type": kind, "job_id": "job_1", "data": {}}

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        queries.append(ws.request.path)
        await ws.send(orjson.dumps({"type": "connected", "seq": 3}).decode())
        if len(queries) == 1:
            await ws.send(orjson.dumps(envelope(1, "job.created")).decode())
            await ws.close(1011, "gone")  # a dropped connection: resume after 1
            return
        batch = [envelope(2, "file.completed"), envelope(3, "job.completed")]
        await ws.send(orjson.dumps(batch).decode())
        await ws.close(1000, "the job has ended")

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}", queries


async def test_watch_resumes_after_a_drop_and_reads_batched_frames(
    flaky_stream: tuple[str, list[str]],
) -> None:
    url, queries = flaky_stream
    async with AsyncClient(url, api_key="ik_x", upload_store=False) as client:
        client._http.sleep = lambda _s: asyncio.sleep(0)  # no backoff in the test
        events = [e async for e in client.watch("job_1", detail="summary")]
    assert [e.seq for e in events] == [1, 2, 3]
    assert queries == [
        "/api/v1/jobs/job_1/events?detail=summary",
        "/api/v1/jobs/job_1/events?after=1&detail=summary",
    ]


def test_frames_and_urls() -> None:
    one = {"id": "evt_1", "seq": 1, "type": "job.created"}
    assert messages(orjson.dumps(one)) == [one]
    assert messages(orjson.dumps([one, one, 3])) == [one, one]
    assert messages(b"not json") == []
    assert ws_url("https://x.test", None, None, "full") == "wss://x.test/api/v1/events"
    assert (
        ws_url("http://x.test", "job_1", 5, "full")
        == "ws://x.test/api/v1/jobs/job_1/events?after=5"
    )


SYNC_SCRIPT = """
import sys
from ingestd.client import Client

url, key, job = sys.argv[1:4]
with Client(url, api_key=key, upload_store=False) as client:
    try:
        for event in client.watch(job):
            print("event", event.type, flush=True)
    except KeyboardInterrupt:
        print("interrupted watch", flush=True)
    try:
        client.jobs.wait(job, on_progress=lambda p: print("progress", p.status, flush=True))
    except KeyboardInterrupt:
        print("interrupted wait", flush=True)
    print("still usable:", client.jobs.get(job).status, flush=True)
print("closed", flush=True)
"""

ASYNC_SCRIPT = """
import asyncio, sys
from ingestd.client import AsyncClient

url, key, job = sys.argv[1:4]

async def main() -> None:
    async with AsyncClient(url, api_key=key, upload_store=False) as client:
        async for event in client.watch(job):
            print("event", event.type, flush=True)

try:
    asyncio.run(main())
except KeyboardInterrupt:
    print("interrupted watch", flush=True)
print("closed", flush=True)
"""


@pytest.mark.parametrize(
    ("script", "said"),
    [
        (SYNC_SCRIPT, ["interrupted watch", "interrupted wait", "still usable: queued", "closed"]),
        (ASYNC_SCRIPT, ["interrupted watch", "closed"]),
    ],
    ids=["sync", "async"],
)
async def test_ctrl_c_in_a_script_is_clean(loopback_url: str, script: str, said: list[str]) -> None:
    from tests.cli.terminal import PYTHON, run_in_terminal

    async with AsyncClient(loopback_url, api_key=ADMIN_KEY, upload_store=False) as client:
        job = await client.jobs.create(sources.upload())  # unsealed: it never ends
    session = await asyncio.to_thread(
        run_in_terminal,
        [PYTHON, "-c", script, loopback_url, ADMIN_KEY, job.id],
        env=dict(os.environ),
        interrupt_when=[
            lambda shown: "event job.created" in shown,
            lambda shown: "progress queued" in shown,
        ][: len(said) - 2 + 1],
        seconds=90,
    )
    assert session.code == 0, session.output
    for line in said:
        assert line in session.output, session.output
    assert "Traceback" not in session.output and "aclose" not in session.output
