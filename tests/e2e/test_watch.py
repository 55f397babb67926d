"""Live events from a real ``ingestd serve``: its workers run in a child process, so every event
reaches the API process through the event log."""

from __future__ import annotations

import pytest

from ingestd.client import Client
from tests.e2e.conftest import ADMIN, Server
from tests.e2e.test_cli import ingestd, make_folder

pytestmark = pytest.mark.slow


def test_sdk_watch_follows_a_job_run_by_the_worker_process(server: Server) -> None:
    server.start()
    make_folder(server.root / "papers")
    with Client(server.url, api_key=ADMIN) as client:
        job = client.create_job([{"type": "directory", "path": str(server.root / "papers")}])
        events = list(client.watch(job["id"]))
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    types = [e["type"] for e in events]
    assert types[0] == "job.created"
    assert types[-1] == "job.failed"  # one broken pdf
    assert types.count("file.completed") + types.count("file.skipped") >= 12


def test_cli_watch_uses_the_stream(server: Server) -> None:
    server.start()
    make_folder(server.root / "papers")
    submitted = ingestd("submit", "papers", server=server, cwd=server.root)
    job_id = submitted.stdout.strip()
    watched = ingestd("watch", job_id, server=server, cwd=server.root)
    assert watched.returncode == 1, watched.stderr  # one file failed
    assert "failed" in watched.stderr and "polling instead" not in watched.stderr
