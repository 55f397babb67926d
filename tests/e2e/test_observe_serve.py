"""A real ``ingestd serve`` (API process + worker child + parser grandchildren): /metrics counts
what the worker child did (prometheus_client multiprocess mode), and ``--log-format json``
writes one object a line with the job, file, worker and request ids, and no secret."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import ADMIN, Server
from tests.eventually import eventually_sync
from tests.observe.scrape import value


def test_metrics_add_up_across_processes_and_logs_are_json(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    for i in range(6):
        (root / "docs" / f"n{i}.md").write_text(f"# N {i}\n\nbody text {i}. " * 30)
    (root / "docs" / "empty.txt").write_bytes(b"")  # fails: a line about it, with its ids
    log = tmp_path / "server.log"
    server = Server(tmp_path / "data", root, log, extra_env={"INGESTD_LOG_FORMAT": "json"})
    server.start()
    try:
        with server.client() as http:
            job = http.post(
                "/api/v1/jobs",
                json={"sources": [{"type": "directory", "path": "docs"}], "pipeline": "extract"},
            ).json()
            eventually_sync(
                lambda: http.get(f"/api/v1/jobs/{job['id']}").json()["status"] == "failed",
                what="the job ended (one empty file failed)",
            )
            http.get("/api/v1/jobs", params={"token": "not-to-be-logged"})
            text = http.get("/metrics").text
    finally:
        server.stop()
    # The worker child counted the files; the API process counted the requests.
    assert value(text, "ingestd_files_finished_total", outcome="completed") == 6
    assert value(text, "ingestd_step_seconds_count", step="parse") == 6
    assert value(text, "ingestd_http_requests_total", route="/api/v1/jobs/{job_id}") >= 1
    assert value(text, "ingestd_files_in_flight") == 0
    assert (tmp_path / "data" / "metrics").is_dir()

    lines = []
    for raw in log.read_text().splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    assert lines, log.read_text()[-2000:]
    failed = [e for e in lines if "empty.txt failed" in e["msg"]]
    assert failed, lines[-20:]
    assert failed[0]["job_id"] == job["id"] and failed[0]["file_id"].startswith("file_")
    assert failed[0]["worker_id"].startswith("wrk_") and failed[0]["tenant"] == "default"
    access = [e for e in lines if e["logger"] == "ingestd.access"]
    assert access and all("latency_ms" in e and e.get("request_id") for e in access)
    assert any(e.get("tenant") == "default" for e in access)
    whole = log.read_text()
    assert ADMIN not in whole and "not-to-be-logged" not in whole
