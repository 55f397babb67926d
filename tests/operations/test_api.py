"""Usage, error analysis, the bulk retry and a job's timings over HTTP, with real workers, on
SQLite and PostgreSQL (issue #18, items 4, 5 and 6)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from tests.conftest import App
from tests.eventually import eventually

MARKDOWN = "# Note {i}\n\nThe quick brown fox {i} jumps over the lazy dog. " * 30


def write_mixed(folder: Path) -> dict[str, int]:
    """Three notes that complete, an empty file and a binary one that fail; returns sizes."""
    sizes = {}
    for i in range(3):
        path = folder / f"note{i}.md"
        path.write_text(MARKDOWN.format(i=i))
        sizes[path.name] = path.stat().st_size
    (folder / "empty.md").write_bytes(b"")
    (folder / "blob.bin").write_bytes(os.urandom(4096))
    return sizes


async def run_job(app: App, path: str = "docs", headers: dict[str, str] | None = None) -> str:
    response = await app.client.post(
        "/api/v1/jobs",
        json={"sources": [{"type": "directory", "path": path}]},
        headers=headers or {},
    )
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    await app.wait_job(job_id)
    return job_id


async def test_usage_counts_what_the_work_did(app: App, docs: Path) -> None:
    sizes = write_mixed(docs)
    job_id = await run_job(app)
    files = await app.files(job_id, "completed")
    chunks = sum(f["chunks"] for f in files)

    body = (await app.client.get("/api/v1/usage")).json()
    assert body["group_by"] == ["day"] and body["from"] <= body["to"]
    [today] = body["items"]
    assert today["day"] == body["to"]
    assert today["jobs"] == 1 and today["files"] == 3
    assert today["bytes"] == sum(sizes.values())
    assert today["chunks"] == chunks > 0
    assert today["embeddings"] == chunks  # pipeline full: every chunk has its vector
    assert today["cpu_seconds"] > 0  # measured in the parser process
    assert today["pages"] == 0 and today["ocr_pages"] == 0  # notes have no pages

    grouped = (await app.client.get("/api/v1/usage", params={"group_by": "tenant,pipeline"})).json()
    assert [(i["tenant"], i["pipeline"], i["files"]) for i in grouped["items"]] == [
        ("default", "full", 3)
    ]
    assert "day" not in grouped["items"][0] or grouped["items"][0]["day"] is None

    response = await app.client.get("/api/v1/usage", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0]["day"] == today["day"] and rows[0]["files"] == "3"
    accept = await app.client.get("/api/v1/usage", headers={"Accept": "text/csv"})
    assert accept.text == response.text

    before = await app.client.get(
        "/api/v1/usage", params={"from": "2001-01-01", "to": "2001-01-31"}
    )
    assert before.json()["items"] == []


async def test_usage_is_per_tenant_for_non_admins(app: App, docs: Path) -> None:
    write_mixed(docs)
    await run_job(app)
    other = await app.key("member", tenant="acme")
    mine = await app.client.get(
        "/api/v1/usage", params={"group_by": "tenant"}, headers={"Authorization": f"Bearer {other}"}
    )
    assert mine.status_code == 200 and mine.json()["items"] == []
    every = (await app.client.get("/api/v1/usage", params={"group_by": "tenant"})).json()
    assert [i["tenant"] for i in every["items"]] == ["default"]


async def test_usage_refuses_bad_values_with_the_reason(app: App) -> None:
    cases = [
        ({"group_by": "week"}, "group_by"),
        ({"group_by": "day,day"}, "twice"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "after"),
        ({"format": "xml"}, "format"),
    ]
    for params, reason in cases:
        response = await app.client.get("/api/v1/usage", params=params)
        assert response.status_code == 422, (params, response.text)
        problem = response.json()
        assert problem["code"] == "validation_error" and reason in problem["detail"], problem


async def test_errors_are_grouped_with_an_example_each(app: App, docs: Path) -> None:
    write_mixed(docs)
    job_id = await run_job(app)
    failed = {f["path"]: f for f in await app.files(job_id, "failed")}
    assert set(failed) == {"empty.md", "blob.bin"}

    body = (await app.client.get("/api/v1/errors", params={"since": "1h", "bucket": "5m"})).json()
    assert body["total"] == 2 and body["bucket_seconds"] == 300
    by_code = {item["code"]: item for item in body["items"]}
    assert set(by_code) == {"empty_file", "unsupported_type"}
    empty = by_code["empty_file"]
    assert empty["count"] == 1 and empty["source_type"] == "directory"
    assert empty["example"]["file_id"] == failed["empty.md"]["id"]
    assert "empty" in empty["example"]["message"]
    assert empty["jobs"] == [{"job_id": job_id, "count": 1}]
    assert sum(b["count"] for b in empty["buckets"]) == 1
    unsupported = by_code["unsupported_type"]
    assert unsupported["mime_type"] == failed["blob.bin"]["mime_type"]
    assert unsupported["extractor"] is None  # no extractor reads it: that is the error

    later = await app.client.get("/api/v1/errors", params={"since": "2999-01-01T00:00:00Z"})
    assert later.json()["items"] == []
    for params in ({"bucket": "soon"}, {"since": "yesterday"}, {"bucket": "1s", "since": "30d"}):
        refused = await app.client.get("/api/v1/errors", params=params)
        assert refused.status_code == 422, (params, refused.text)


async def test_retry_by_filter_counts_first_then_retries(app: App, docs: Path) -> None:
    write_mixed(docs)
    job_id = await run_job(app)
    url = "/api/v1/files/actions/retry"
    dry = await app.client.post(url, json={"filter": {"error_code": "empty_file"}, "dry_run": True})
    assert dry.status_code == 200, dry.text
    assert dry.json() == {"matched": 1, "retried": 0, "dry_run": True}
    everything = await app.client.post(url, json={"dry_run": True})
    assert everything.json()["matched"] == 2

    # The empty file gets content, so its retry can succeed.
    (Path(app.settings.source_roots[0]) / "docs" / "empty.md").write_text("# filled in\n\nNow.")
    done = await app.client.post(
        url, json={"filter": {"error_code": "empty_file", "job_id": job_id}}
    )
    assert done.json() == {"matched": 1, "retried": 1, "dry_run": False}

    async def status_of(path: str) -> str:
        files = {f["path"]: f for f in await app.files(job_id)}
        return str(files[path]["status"])

    await eventually(lambda: status_of("empty.md"), until=lambda s: s == "completed")
    job = await app.wait_job(job_id)
    assert job["progress"]["files"]["completed"] == 4
    again = await app.client.post(url, json={"filter": {"error_code": "empty_file"}})
    assert again.json()["retried"] == 0


async def test_retry_by_filter_keeps_to_the_callers_files(app: App, docs: Path) -> None:
    write_mixed(docs)
    await run_job(app)
    url = "/api/v1/files/actions/retry"
    other = {"Authorization": f"Bearer {await app.key('member', tenant='acme')}"}
    assert (await app.client.post(url, json={}, headers=other)).json()["retried"] == 0
    viewer = {"Authorization": f"Bearer {await app.key('viewer')}"}
    counted = await app.client.post(url, json={"dry_run": True})
    assert counted.json()["matched"] == 2
    for body in ({}, {"dry_run": True}):  # an action, refused to viewers before it is read
        refused = await app.client.post(url, json=body, headers=viewer)
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    for body in (
        {"filter": {"status": "completed"}},
        {"filter": {"code": "timeout"}},
        {"dry_run": "maybe"},
    ):
        response = await app.client.post(url, json=body)
        assert response.status_code == 422, (body, response.text)
    # Nothing moved.
    assert (await app.client.post(url, json={"dry_run": True})).json()["matched"] == 2


async def test_timings_say_where_a_jobs_time_went(app: App, docs: Path) -> None:
    write_mixed(docs)
    job_id = await run_job(app)
    response = await app.client.get(f"/api/v1/jobs/{job_id}/timings", params={"slowest": 2})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    steps = body["steps"]
    assert {"detecting", "parsing", "chunking"} <= set(steps)
    assert list(steps).index("detecting") < list(steps).index("parsing")  # in the files' order
    assert steps["parsing"]["files"] == 3
    assert steps["parsing"]["cpu_ms"] >= 0 and steps["parsing"]["wall_ms"] >= 0
    assert abs(sum(s["share"] for s in steps.values()) - 1) < 0.01
    assert body["queue_wait"]["files"] == 5 and body["queue_wait_ms"] is not None
    slowest = body["slowest"]
    assert len(slowest) == 2 and slowest[0]["duration_ms"] >= slowest[1]["duration_ms"]
    assert slowest[0]["path"].startswith("note") and "parsing" in slowest[0]["steps"]

    other = {"Authorization": f"Bearer {await app.key('member', tenant='acme')}"}
    hidden = await app.client.get(f"/api/v1/jobs/{job_id}/timings", headers=other)
    assert hidden.status_code == 404


async def test_hostile_values_are_client_errors(app: App) -> None:
    """A NUL byte (PostgreSQL refuses it in text), absurd ranges and sizes: never a 500."""
    requests = [
        ("GET", "/api/v1/jobs/job_%00x/timings", None),
        ("GET", "/api/v1/usage?from=2026-13-45", None),
        ("GET", "/api/v1/usage?from=%00", None),
        ("GET", "/api/v1/usage?from=0001-01-01&to=9999-12-31", None),
        ("GET", "/api/v1/errors?since=%00", None),
        ("GET", "/api/v1/errors?bucket=99999999999999999999999d", None),
        ("GET", "/api/v1/errors?since=0001-01-01T00:00:00Z&bucket=1s", None),
        ("POST", "/api/v1/files/actions/retry", {"filter": {"error_code": "a\u0000b"}}),
        ("POST", "/api/v1/files/actions/retry", {"filter": {"job_id": "\u0000"}, "dry_run": True}),
    ]
    for method, url, body in requests:
        response = await app.client.request(method, url, json=body)
        assert response.status_code < 500, (url, body, response.status_code, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json", url
