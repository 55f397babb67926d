"""Jobs over HTTP, end to end in process: create, process, read, control."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import App
from tests.eventually import eventually


def write_docs(folder: Path, count: int = 5) -> None:
    for i in range(count):
        (folder / f"note{i}.md").write_text(f"# Note {i}\n\nThe quick brown fox {i} jumps. " * 20)
    sub = folder / "nested"
    sub.mkdir(exist_ok=True)
    (sub / "table.csv").write_text("name,age\nada,36\ngrace,45\n")


async def test_directory_job_runs_to_completion(app: App, docs: Path) -> None:
    write_docs(docs)
    response = await app.client.post(
        "/api/v1/jobs", json={"name": "notes", "sources": [{"type": "directory", "path": "docs"}]}
    )
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["id"].startswith("job_") and job["status"] in ("queued", "running")
    assert response.headers["x-request-id"]

    done = await app.wait_job(job["id"])
    assert done["status"] == "completed", done
    progress = done["progress"]
    assert progress["files"]["total"] == 6 and progress["files"]["completed"] == 6
    assert progress["percent"] == 100.0 and progress["bytes"]["total"] > 0
    assert progress["eta_seconds"] == 0
    assert done["sources"][0]["progress"]["files"]["completed"] == 6
    assert done["started_at"] and done["completed_at"]

    files = await app.files(job["id"])
    by_path = {f["path"]: f for f in files}
    assert set(by_path) == {f"note{i}.md" for i in range(5)} | {"nested/table.csv"}
    csv_file = by_path["nested/table.csv"]
    assert (
        csv_file["mime_type"] == "text/csv"
        and csv_file["chunks"] >= 1
        and len(csv_file["sha256"]) == 64
    )
    chunks = (await app.client.get(f"/api/v1/files/{csv_file['id']}/chunks")).json()["items"]
    assert "ada" in chunks[0]["text"] and chunks[0]["embedder"]


async def test_upload_job_takes_files_until_sealed(app: App) -> None:
    job = (
        await app.client.post(
            "/api/v1/jobs", json={"sources": [{"type": "upload"}], "pipeline": "extract"}
        )
    ).json()
    files = [
        ("file", ("a.txt", b"alpha text here", "text/plain")),
        ("file", ("b.md", b"# B\n\nbeta", "text/markdown")),
    ]
    response = await app.client.post(
        f"/api/v1/jobs/{job['id']}/files", files=files, data={"metadata": '{"team": "x"}'}
    )
    assert response.status_code == 201, response.text
    items = response.json()["items"]
    assert [i["name"] for i in items] == ["a.txt", "b.md"] and items[0]["metadata"]["team"] == "x"
    # same name again is kept under a new name, not dropped
    again = await app.client.post(
        f"/api/v1/jobs/{job['id']}/files",
        files=[("file", ("a.txt", b"other", "text/plain"))],
        data={"seal": "true"},
    )
    assert again.json()["items"][0]["path"] == "a (2).txt"
    done = await app.wait_job(job["id"])
    assert (
        done["status"] == "completed"
        and done["sealed"]
        and done["progress"]["files"]["completed"] == 3
    )
    late = await app.client.post(
        f"/api/v1/jobs/{job['id']}/files", files=[("file", ("c.txt", b"c", "text/plain"))]
    )
    assert late.status_code == 409 and late.json()["code"] == "conflict"


async def _job(app: App, job_id: str) -> dict[str, Any]:
    return (await app.client.get(f"/api/v1/jobs/{job_id}")).json()  # type: ignore[no-any-return]


async def test_unsealed_upload_job_stays_running(app: App) -> None:
    job = (await app.client.post("/api/v1/jobs", json={"sources": [{"type": "upload"}]})).json()
    await app.client.post(
        f"/api/v1/jobs/{job['id']}/files", files=[("file", ("a.txt", b"alpha", "text/plain"))]
    )
    await app.wait_job(job["id"], statuses=("running",))
    # Its one file finishes, yet the job stays open for more.
    running = await eventually(
        lambda: _job(app, job["id"]), until=lambda j: j["progress"]["files"]["completed"] == 1
    )
    assert running["status"] == "running" and running["progress"]["files"]["queued"] == 0
    sealed = await app.client.post(f"/api/v1/jobs/{job['id']}/actions/seal")
    assert sealed.json()["status"] == "completed"
    assert (await app.client.post(f"/api/v1/jobs/{job['id']}/actions/seal")).status_code == 409


async def test_pending_job_starts_on_request_and_transitions_are_checked(
    app: App, docs: Path
) -> None:
    write_docs(docs, 2)
    job = (
        await app.client.post(
            "/api/v1/jobs",
            json={"sources": [{"type": "directory", "path": "docs"}], "start": False},
        )
    ).json()
    assert job["status"] == "pending"
    bad = await app.client.post(f"/api/v1/jobs/{job['id']}/actions/resume")
    assert bad.status_code == 409
    problem = bad.json()
    assert (
        problem["code"] == "conflict"
        and problem["current_status"] == "pending"
        and "pending" in problem["detail"]
    )
    assert bad.headers["content-type"] == "application/problem+json"
    started = await app.client.post(f"/api/v1/jobs/{job['id']}/actions/start")
    assert started.json()["status"] in ("queued", "running", "completed")
    assert (await app.wait_job(job["id"]))["status"] == "completed"
    assert (await app.client.post(f"/api/v1/jobs/{job['id']}/actions/pause")).status_code == 409


async def test_pause_resume_cancel(app: App, docs: Path) -> None:
    write_docs(docs, 30)
    job = (
        await app.client.post(
            "/api/v1/jobs",
            json={"sources": [{"type": "directory", "path": "docs"}], "start": False},
        )
    ).json()
    # pausing a queued job keeps its files from being claimed
    await app.client.post(f"/api/v1/jobs/{job['id']}/actions/start")
    paused = (await app.client.post(f"/api/v1/jobs/{job['id']}/actions/pause")).json()
    assert paused["status"] == "paused"
    resumed = (await app.client.post(f"/api/v1/jobs/{job['id']}/actions/resume")).json()
    assert resumed["status"] in ("queued", "running", "completed")
    cancelled = await app.client.post(f"/api/v1/jobs/{job['id']}/actions/cancel")
    if cancelled.status_code == 409:  # it already finished: fine, but then it must be completed
        assert (await app.wait_job(job["id"]))["status"] == "completed"
        return
    assert cancelled.json()["status"] == "cancelled"
    final = await app.wait_job(job["id"])
    assert final["status"] == "cancelled"
    # files in flight end as cancelled (or completed, if they were already done), never stay running
    files = await eventually(
        lambda: app.files(job["id"]),
        until=lambda fs: not any(f["status"] in ("running", "queued") for f in fs),
    )
    assert all(f["status"] in ("completed", "cancelled") for f in files), [
        (f["path"], f["status"], f["step"])
        for f in files
        if f["status"] not in ("completed", "cancelled")
    ]


async def test_list_filters_and_pagination(app: App, docs: Path) -> None:
    write_docs(docs, 1)
    ids = []
    for i in range(3):
        body = {
            "name": f"j{i}",
            "sources": [{"type": "upload"}],
            "labels": {"team": "a" if i < 2 else "b"},
        }
        ids.append((await app.client.post("/api/v1/jobs", json=body)).json()["id"])
    page = (await app.client.get("/api/v1/jobs", params={"limit": 2})).json()
    assert [j["id"] for j in page["items"]] == [ids[2], ids[1]] and page["next"]
    rest = (await app.client.get("/api/v1/jobs", params={"limit": 2, "after": page["next"]})).json()
    assert [j["id"] for j in rest["items"]] == [ids[0]] and rest["next"] is None
    team_a = (await app.client.get("/api/v1/jobs", params={"label": "team:a"})).json()
    assert {j["id"] for j in team_a["items"]} == set(ids[:2])
    running = (await app.client.get("/api/v1/jobs", params={"status": "running,queued"})).json()
    assert {j["id"] for j in running["items"]} >= set(ids)


async def test_bulk_actions_report_per_job(app: App) -> None:
    a = (
        await app.client.post(
            "/api/v1/jobs", json={"sources": [{"type": "upload"}], "start": False}
        )
    ).json()
    b = (await app.client.post("/api/v1/jobs", json={"sources": [{"type": "upload"}]})).json()
    response = await app.client.post(
        "/api/v1/jobs/actions/start", json={"job_ids": [a["id"], b["id"], "job_missing"]}
    )
    results = {r["job_id"]: r for r in response.json()["items"]}
    assert results[a["id"]]["ok"] and results[a["id"]]["status"] == "queued"
    assert not results[b["id"]]["ok"] and results[b["id"]]["error"]["status"] == 409
    assert results["job_missing"]["error"]["code"] == "not_found"


async def test_delete_removes_job_files_and_chunks(app: App, docs: Path) -> None:
    write_docs(docs, 2)
    job = (
        await app.client.post(
            "/api/v1/jobs", json={"sources": [{"type": "directory", "path": "docs"}]}
        )
    ).json()
    await app.wait_job(job["id"])
    file_id = (await app.files(job["id"]))[0]["id"]
    assert (await app.client.delete(f"/api/v1/jobs/{job['id']}")).status_code == 204
    assert (await app.client.get(f"/api/v1/jobs/{job['id']}")).status_code == 404
    assert (await app.client.get(f"/api/v1/files/{file_id}")).status_code == 404
    assert (await app.client.get(f"/api/v1/files/{file_id}/chunks")).status_code == 404


async def test_stats_and_queue(app: App, docs: Path) -> None:
    write_docs(docs, 3)
    job = (
        await app.client.post(
            "/api/v1/jobs", json={"sources": [{"type": "directory", "path": "docs"}]}
        )
    ).json()
    await app.wait_job(job["id"])
    stats = (await app.client.get("/api/v1/stats")).json()
    assert (
        stats["jobs"]["by_status"]["completed"] >= 1
        and stats["jobs"]["by_source_type"]["directory"] >= 1
    )
    assert (
        stats["files"]["processed"] >= 4
        and stats["bytes_processed"] > 0
        and stats["success_rate"] == 1.0
    )
    assert stats["processing_ms"]["p95"] is not None
    queue = (await app.client.get("/api/v1/queue")).json()
    assert queue["queued"] == 0 and len(queue["workers"]) >= 1 and queue["files_per_s"] > 0


@pytest.mark.parametrize("pipeline", ["store", "extract"])
async def test_pipelines(app: App, docs: Path, pipeline: str) -> None:
    write_docs(docs, 2)
    job = (
        await app.client.post(
            "/api/v1/jobs",
            json={"sources": [{"type": "directory", "path": "docs"}], "pipeline": pipeline},
        )
    ).json()
    assert (await app.wait_job(job["id"]))["status"] == "completed"
    files: list[dict[str, Any]] = await app.files(job["id"])
    if pipeline == "store":
        assert all(f["chunks"] == 0 for f in files)
        assert all(
            (app.settings.blob_dir / f["sha256"][:2] / f["sha256"][2:4] / f["sha256"]).is_file()
            for f in files
        )
    else:
        chunks = (await app.client.get(f"/api/v1/files/{files[0]['id']}/chunks")).json()["items"]
        assert chunks and chunks[0]["embedder"] is None


async def test_skip_existing_content(app: App, docs: Path) -> None:
    (docs / "a.txt").write_text("same content, twice")
    first = (
        await app.client.post(
            "/api/v1/jobs", json={"sources": [{"type": "directory", "path": "docs"}]}
        )
    ).json()
    await app.wait_job(first["id"])
    second = (
        await app.client.post(
            "/api/v1/jobs", json={"sources": [{"type": "directory", "path": "docs"}]}
        )
    ).json()
    done = await app.wait_job(second["id"])
    assert done["status"] == "completed" and done["progress"]["files"]["skipped"] == 1


async def test_openapi_and_service_endpoints(app: App) -> None:
    spec = (await app.client.get("/openapi.json")).json()
    assert "/api/v1/jobs/{job_id}/actions/{action}" in spec["paths"]
    assert (await app.client.get("/health")).json()["status"] == "ok"
    ready = await app.client.get("/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["database"]["ok"]
    metrics = await app.client.get("/metrics")
    assert "ingestd_build_info" in metrics.text
