"""kill -9 of ``ingestd serve`` mid-job, then a restart: no file lost, no chunk stored twice."""

from __future__ import annotations

import os
import sqlite3

import pytest

from tests.e2e.conftest import Server
from tests.eventually import eventually_sync

pytestmark = pytest.mark.slow


def test_kill_9_mid_job_then_restart_finishes_exactly_once(server: Server) -> None:
    docs = server.root / "docs"
    docs.mkdir()
    paragraph = "Recovery is a property you prove by killing things. " * 40
    for i in range(400):
        (docs / f"doc{i:03}.md").write_text(f"# Document {i}\n\n" + (paragraph + "\n\n") * 25)
    server.start()
    with server.client() as client:
        job = client.post(
            "/api/v1/jobs", json={"sources": [{"type": "directory", "path": "docs"}]}
        ).json()
        # Files must be in flight at the kill for it to prove anything: a loaded machine can
        # show a moment between one claimed batch and the next with none running.
        progress = eventually_sync(
            lambda: client.get(f"/api/v1/jobs/{job['id']}").json()["progress"]["files"],
            until=lambda p: p["completed"] >= 20 and p["running"] >= 1,
            seconds=120,
            interval=0.05,
        )
        assert 20 <= progress["completed"] < 400, progress
    server.kill_hard()

    server.start()
    with server.client() as client:
        final = eventually_sync(
            lambda: client.get(f"/api/v1/jobs/{job['id']}").json(),
            until=lambda j: j["status"] in ("completed", "failed", "cancelled"),
            seconds=240,
            interval=0.2,
        )
        assert final["status"] == "completed", final
        assert final["progress"]["files"]["completed"] == 400

    db = sqlite3.connect(server.data_dir / "ingestd.db")
    try:
        assert db.execute("SELECT count(*) FROM files WHERE status = 'completed'").fetchone() == (
            400,
        )
        duplicates = db.execute(
            "SELECT file_id, idx FROM chunks GROUP BY file_id, idx HAVING count(*) > 1"
        ).fetchall()
        assert duplicates == []
        mismatched = db.execute(
            "SELECT f.id FROM files f LEFT JOIN (SELECT file_id, count(*) n FROM chunks GROUP BY file_id) c "
            "ON c.file_id = f.id WHERE coalesce(c.n, 0) != f.chunks"
        ).fetchall()
        assert mismatched == []
        retried = db.execute("SELECT count(*) FROM files WHERE attempts > 1").fetchone()[0]
        assert retried >= 1  # the files in flight at the kill were re-run after their lease expired
    finally:
        db.close()


def test_worker_process_stops_when_serve_is_killed(server: Server) -> None:
    server.start()
    with server.client() as client:
        workers: list[dict[str, object]] = eventually_sync(
            lambda: client.get("/api/v1/queue").json()["workers"],
            interval=0.1,
            what="the worker process registered",
        )
    pid = int(str(workers[0]["pid"]))
    server.kill_hard(whole_group=False)
    eventually_sync(lambda: not _alive(pid), interval=0.2, what=f"worker process {pid} gone")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
