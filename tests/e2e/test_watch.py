"""Live events from a real ``ingestd serve`` (its workers run in a child process, so every event
reaches the API process through the event log), and Ctrl-C while watching, in a real terminal."""

from __future__ import annotations

import os
import sys

import httpx
import pytest

from ingestd.client import Client, EventType, sources
from tests.cli.terminal import run_in_terminal
from tests.e2e.conftest import ADMIN, Server
from tests.e2e.test_cli import ingestd, make_folder

pytestmark = pytest.mark.slow


def test_sdk_watch_follows_a_job_run_by_the_worker_process(server: Server) -> None:
    server.start()
    make_folder(server.root / "papers")
    with Client(server.url, api_key=ADMIN, upload_store=False) as client:
        job = client.jobs.create(sources.directory(str(server.root / "papers")))
        events = list(client.watch(job.id))
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs))
    types = [e.type for e in events]
    assert types[0] is EventType.JOB_CREATED
    assert types[-1] is EventType.JOB_FAILED  # one broken pdf
    assert types.count(EventType.FILE_COMPLETED) + types.count(EventType.FILE_SKIPPED) >= 12


def test_cli_watch_uses_the_stream(server: Server) -> None:
    server.start()
    make_folder(server.root / "papers")
    submitted = ingestd("submit", "papers", server=server, cwd=server.root)
    job_id = submitted.stdout.strip()
    watched = ingestd("watch", job_id, server=server, cwd=server.root)
    assert watched.returncode == 1, watched.stderr  # one file failed
    assert "failed" in watched.stderr and "polling instead" not in watched.stderr


def never_ending_job(server: Server, *, paused: bool) -> str:
    """An upload job: it cannot end until sealed (nor while paused)."""
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
    ) as http:
        job_id = str(http.post("/api/v1/jobs", json={"sources": [{"type": "upload"}]}).json()["id"])
        if paused:
            http.post(f"/api/v1/jobs/{job_id}/actions/pause").raise_for_status()
    return job_id


def terminal_env(server: Server) -> dict[str, str]:
    return {**os.environ, "INGESTD_URL": server.url, "INGESTD_KEY": ADMIN, "COLUMNS": "80"}


def assert_one_line(output: str, job_id: str) -> None:
    message = f"stopped watching; `ingestd watch {job_id}` picks it up again"
    assert output.count(message) == 1, output
    assert "Traceback" not in output and "aclose" not in output and "Aborted" not in output


def test_ctrl_c_while_watching_prints_one_line_and_exits_130(server: Server) -> None:
    server.start()
    job_id = never_ending_job(server, paused=False)
    session = run_in_terminal(
        [sys.executable, "-m", "ingestd", "watch", job_id],
        env=terminal_env(server),
        interrupt_when=lambda shown: "[queued]" in shown,
    )
    assert session.code == 130, session.output
    assert_one_line(session.output, job_id)


def test_ctrl_c_in_submit_watch_prints_one_line_and_exits_130(server: Server) -> None:
    server.start()
    make_folder(server.root / "papers")
    job_id = never_ending_job(server, paused=True)
    session = run_in_terminal(
        [sys.executable, "-m", "ingestd", "submit", "papers", "--job", job_id, "--watch"],
        env=terminal_env(server),
        cwd=str(server.root),
        interrupt_when=lambda shown: "[paused]" in shown,
    )
    assert session.code == 130, session.output
    assert "uploaded 14 file(s)" in session.output
    assert_one_line(session.output, job_id)
