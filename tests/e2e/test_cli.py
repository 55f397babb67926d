"""The command line against a real server: submit a folder, watch it, read the summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ADMIN, Server

pytestmark = pytest.mark.slow


def ingestd(
    *args: str, server: Server, cwd: Path, key: str = ADMIN
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INGESTD_URL": server.url, "INGESTD_KEY": key, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "ingestd", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def make_folder(folder: Path) -> None:
    (folder / "sub").mkdir(parents=True)
    for i in range(12):
        (folder / f"paper{i}.md").write_text(f"# Paper {i}\n\nFindings about topic {i}. " * 30)
    (folder / "sub" / "data.csv").write_text("city,people\nOslo,700000\nLima,10000000\n")
    (folder / "sub" / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")


def test_submit_watch_reports_failures_and_exits_non_zero(server: Server) -> None:
    folder = server.root / "papers"
    make_folder(folder)
    server.start()
    result = ingestd("submit", "papers", "--watch", server=server, cwd=server.root)
    assert result.returncode == 1, result.stderr
    assert "13 completed, 1 failed" in result.stderr
    assert "sub/broken.pdf" in result.stderr and "parse_error" in result.stderr
    assert "ingestd jobs retry" not in result.stderr  # a broken PDF stays broken


def test_submit_uploads_when_the_server_cannot_read_the_path(
    server: Server, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"  # not under the server's source root
    make_folder(outside)
    (outside / "sub" / "broken.pdf").unlink()
    server.start()
    result = ingestd("submit", str(outside), "--watch", server=server, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "uploading instead" in result.stderr and "13 completed, 0 failed" in result.stderr
    with server.client() as client:
        job = client.get("/api/v1/jobs").json()["items"][0]
        assert job["sources"][0]["type"] == "upload" and job["sealed"]
        paths = {
            f["metadata"].get("relative_path")
            for f in client.get(f"/api/v1/jobs/{job['id']}/files", params={"limit": 100}).json()[
                "items"
            ]
        }
        assert "sub/data.csv" in paths


def test_keys_create_prints_a_working_key(server: Server) -> None:
    server.start()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ingestd",
            "keys",
            "create",
            "--name",
            "robot",
            "--role",
            "viewer",
            "--data-dir",
            str(server.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=server.root,
    )
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert key.startswith("ik_")
    assert f"written to {server.data_dir.resolve() / 'ingestd.db'}" in result.stderr
    response = httpx.get(f"{server.url}/api/v1/jobs", headers={"X-API-Key": key})
    assert response.status_code == 200
    denied = httpx.post(
        f"{server.url}/api/v1/jobs",
        headers={"X-API-Key": key},
        json={"sources": [{"type": "upload"}]},
    )
    assert denied.status_code == 403


def test_jobs_commands(server: Server) -> None:
    (server.root / "docs").mkdir()
    (server.root / "docs" / "a.txt").write_text("hello there")
    server.start()
    submitted = ingestd("submit", "docs", server=server, cwd=server.root)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    assert job_id.startswith("job_")
    watched = ingestd("watch", job_id, server=server, cwd=server.root)
    assert watched.returncode == 0 and "completed" in watched.stderr
    listed = ingestd("jobs", "list", server=server, cwd=server.root)
    assert job_id in listed.stdout
    files = ingestd("files", job_id, server=server, cwd=server.root)
    assert "a.txt" in files.stdout
    paused = ingestd("jobs", "pause", job_id, server=server, cwd=server.root)
    assert paused.returncode == 1 and "cannot pause" in paused.stderr
    missing = ingestd("jobs", "show", "job_nope", server=server, cwd=server.root)
    assert missing.returncode == 1 and "not_found" in missing.stderr


def test_keys_refuses_a_database_that_does_not_exist(server: Server, tmp_path: Path) -> None:
    server.start()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTD_")}
    result = subprocess.run(
        [sys.executable, "-m", "ingestd", "keys", "create", "--name", "x", "--role", "admin"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=elsewhere,
        env={**env, "COLUMNS": "200"},
    )
    assert result.returncode == 1 and result.stdout == ""
    message = " ".join(result.stderr.split())
    assert f"no database at {elsewhere / '.ingestd' / 'ingestd.db'}" in message
    assert "--data-dir" in message and "--database-url" in message
    assert not (elsewhere / ".ingestd").exists()
