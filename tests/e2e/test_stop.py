"""Stopping ``ingestd serve`` as a service manager does: SIGTERM to the process group (systemd's
default), or to the serve process alone. It stops cleanly and says nothing alarming.

Before, every SIGTERM ended with the resource tracker's "There appear to be 5 leaked semaphore
objects to clean up at shutdown": the child's readiness flag was a multiprocessing Event, whose
named semaphores are only released by an exit handler, and uvicorn re-raises SIGTERM after its
shutdown, so none ran."""

from __future__ import annotations

import os
import signal

import pytest

from tests.e2e.conftest import Server


@pytest.mark.parametrize("whole_group", [True, False])
def test_sigterm_stops_serve_cleanly(server: Server, whole_group: bool) -> None:
    server.start()
    assert server.process is not None
    with server.client() as client:  # the worker process is up and answering nudges
        job = client.post("/api/v1/jobs", json={"sources": [{"type": "upload"}]}).json()
        client.post(f"/api/v1/jobs/{job['id']}/actions/cancel").raise_for_status()
    if whole_group:
        os.killpg(server.process.pid, signal.SIGTERM)
    else:
        server.process.send_signal(signal.SIGTERM)
    server.process.wait(60)
    log = server.log.read_text()
    assert "Finished server process" in log
    assert "leaked semaphore" not in log, log[-2000:]
    assert "Traceback" not in log, log[-2000:]
