"""Scale-out with real processes on real PostgreSQL: ``ingestd serve --workers 0`` API processes
and ``ingestd worker`` processes sharing one database, started with the commands of
``docs/deployment.md``. Workers, APIs and the database itself are killed mid-job; every job must
still finish with every file completed exactly once.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingestd.client import Client
from tests.e2e.cluster import (
    PG_DSN,
    Api,
    Deployment,
    PrivatePostgres,
    assert_exactly_once,
    fresh_database,
    require_postgres,
    sql,
    wait_for,
    write_documents,
)
from tests.e2e.conftest import ADMIN

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

FINAL = ("completed", "failed", "cancelled")


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    require_postgres()
    with fresh_database(PG_DSN) as dsn:
        cluster = Deployment(tmp_path, dsn)
        try:
            cluster.migrate()
            yield cluster
        finally:
            cluster.close()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if not PrivatePostgres.available():
        pytest.fail("PostgreSQL server binaries are missing (set INGESTD_TEST_PG_BIN)")
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()  # always stopped, even when the test failed mid-outage


def create_job(api: Api, folder: str) -> str:
    with api.client() as http:
        response = http.post(
            "/api/v1/jobs", json={"sources": [{"type": "directory", "path": folder}]}
        )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def job_counts(dsn: str, job_id: str) -> dict[str, int]:
    rows = sql(dsn, "SELECT status, count(*) n FROM files WHERE job_id = $1 GROUP BY 1", job_id)
    return {str(r["status"]): int(r["n"]) for r in rows}


def job_status(dsn: str, job_id: str) -> str:
    return str(sql(dsn, "SELECT status FROM jobs WHERE id = $1", job_id)[0]["status"])


def wait_job_done(cluster: Deployment, job_id: str, timeout: float = 120) -> None:
    """Read the database, not an API: the test must not depend on any one API process."""
    wait_for(
        lambda: job_status(cluster.dsn, job_id) in FINAL,
        timeout,
        lambda: f"job not done: {job_counts(cluster.dsn, job_id)}\n{cluster.logs()}",
        every=0.5,
    )


class SseListener(threading.Thread):
    """Follows ``GET /api/v1/events`` (all the tenant's jobs) on one API process and records
    every envelope, until it sees ``job.completed`` for ``job_id``."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.job_id: str | None = None
        self.events: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self.done = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {ADMIN}", "Accept": "text/event-stream"}
        try:
            with httpx.stream(
                "GET", f"{self.url}/api/v1/events", headers=headers, timeout=httpx.Timeout(120)
            ) as response:
                response.raise_for_status()
                self.connected.set()
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    event = json.loads(line[5:])
                    self.events.append(event)
                    if event["type"] == "job.completed" and event["job_id"] == self.job_id:
                        self.done.set()
                        return
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc
            self.connected.set()

    def types(self, job_id: str) -> list[str]:
        return [e["type"] for e in self.events if e.get("job_id") == job_id]


def test_one_api_three_workers_kill_9_a_worker_mid_file(deployment: Deployment) -> None:
    files = 90
    write_documents(deployment.root / "batch", files)
    api = deployment.api(wait=False)  # every process starts at once, as on N machines
    workers = [deployment.worker(f"worker{i}") for i in range(3)]
    api.wait_healthy()
    ids = deployment.wait_workers(3)
    job_id = create_job(api, "batch")

    victim = workers[0]
    victim_id = ids[victim.pid]

    def victim_mid_file() -> bool:
        held = sql(
            deployment.dsn,
            "SELECT count(*) FILTER (WHERE status = 'running' AND lease_owner = $1) held,"
            " count(*) FILTER (WHERE status = 'completed') done FROM files WHERE job_id = $2",
            victim_id,
            job_id,
        )[0]
        # Several held: the kill lands before the victim can finish them all.
        return int(held["held"]) >= 3 and int(held["done"]) >= 5

    wait_for(victim_mid_file, 90, lambda: f"the victim never held a file:\n{deployment.logs()}")
    victim.kill_hard()
    held = {
        str(r["id"])
        for r in sql(
            deployment.dsn,
            "SELECT id FROM files WHERE status = 'running' AND lease_owner = $1",
            victim_id,
        )
    }
    assert held, "the victim's files finished before the kill landed"

    wait_job_done(deployment, job_id)
    assert job_status(deployment.dsn, job_id) == "completed", deployment.logs()
    rows = assert_exactly_once(deployment.dsn, job_id, files)
    attempts = {str(r["id"]): int(r["attempts"]) for r in rows}
    # The victim's files came back when their leases expired and another worker ran them again.
    assert all(attempts[f] >= 2 for f in held), {f: attempts[f] for f in held}
    assert {w.name for w in workers[1:] if not w.alive()} == set(), deployment.logs()
    with api.client() as http:
        progress = http.get(f"/api/v1/jobs/{job_id}").json()["progress"]["files"]
        queue = http.get("/api/v1/queue").json()
    assert progress["completed"] == files and progress["running"] == progress["queued"] == 0
    seen = {w["id"] for w in queue["workers"]}
    assert {ids[w.pid] for w in workers[1:]} <= seen
    # Workers run in the process systemd started (their pid is the one registered: see ids) and
    # make no keys: the only key is INGESTD_ADMIN_KEY, stored by the API.
    keys = sql(deployment.dsn, "SELECT name FROM api_keys")
    assert [k["name"] for k in keys] == ["INGESTD_ADMIN_KEY"]


def test_kill_9_the_api_workers_go_on_and_other_apis_stream_events(
    deployment: Deployment,
) -> None:
    files = 80
    write_documents(deployment.root / "batch", files)
    api_a = deployment.api("api-a", wait=False)
    api_b = deployment.api("api-b", wait=False)  # a second API process of the same deployment
    workers = [deployment.worker(f"worker{i}") for i in range(3)]
    api_a.wait_healthy()
    api_b.wait_healthy()
    deployment.wait_workers(3)

    listener = SseListener(api_b.url)
    listener.start()
    assert listener.connected.wait(30) and listener.error is None, listener.error
    job_id = create_job(api_a, "batch")
    listener.job_id = job_id

    wait_for(
        lambda: job_counts(deployment.dsn, job_id).get("completed", 0) >= 5,
        90,
        lambda: f"no progress:\n{deployment.logs()}",
    )
    api_a.kill_hard()  # mid-job: the workers never talked to it
    assert job_status(deployment.dsn, job_id) not in FINAL, "the kill landed after the job"

    wait_job_done(deployment, job_id)
    assert job_status(deployment.dsn, job_id) == "completed"
    assert_exactly_once(deployment.dsn, job_id, files)

    # API B saw the job completed by worker processes, through the database it shares with them.
    assert listener.done.wait(30), (listener.error, listener.types(job_id)[-5:])
    types = listener.types(job_id)
    assert types.count("job.completed") == 1
    assert types.count("file.completed") == files
    seqs = [e["seq"] for e in listener.events]
    assert seqs == sorted(set(seqs))

    # A restarted API (same command, same port) shows the same, consistent state.
    restarted = deployment.api("api-a-restarted", port=api_a.port)
    with restarted.client() as http:
        job = http.get(f"/api/v1/jobs/{job_id}").json()
        listed = http.get(f"/api/v1/jobs/{job_id}/files", params={"limit": 500}).json()["items"]
        ready = http.get("/ready")
    assert job["status"] == "completed"
    assert job["progress"]["files"]["total"] == job["progress"]["files"]["completed"] == files
    assert job["progress"]["percent"] == 100.0
    assert len(listed) == files and {f["status"] for f in listed} == {"completed"}
    assert ready.status_code == 200, ready.text
    with Client(restarted.url, api_key=ADMIN) as client:  # WebSocket replay from the log
        replay = [e.type for e in client.watch(job_id, after=0)]
    assert replay[-1] == "job.completed" and replay.count("file.completed") == files

    # Graceful shutdown (SIGTERM, as systemd sends it). An API with a live stream open closes
    # the stream after its grace period and exits; workers exit 0 and say they stopped.
    stream = SseListener(restarted.url)
    stream.start()
    assert stream.connected.wait(30) and stream.error is None, stream.error
    assert restarted.popen is not None
    restarted.popen.send_signal(signal.SIGTERM)
    for worker in workers:
        assert worker.terminate() == 0, worker.output()[-2000:]
    assert deployment.live_workers() == {}
    # uvicorn re-raises the signal once shut down: "killed by SIGTERM" is its clean exit.
    assert restarted.popen.wait(40) in (0, -signal.SIGTERM), restarted.output()[-2000:]
    stream.join(10)
    assert not stream.is_alive()


def test_postgres_restarted_mid_job_workers_reconnect_and_finish(
    tmp_path: Path, private_postgres: PrivatePostgres
) -> None:
    files = 80
    with fresh_database(private_postgres.dsn) as dsn:
        cluster = Deployment(tmp_path, dsn)
        try:
            cluster.migrate()
            write_documents(cluster.root / "batch", files)
            api = cluster.api(wait=False)
            for i in range(2):
                cluster.worker(f"worker{i}")
            api.wait_healthy()
            cluster.wait_workers(2)
            listener = SseListener(api.url)
            listener.start()
            assert listener.connected.wait(30) and listener.error is None, listener.error
            job_id = create_job(api, "batch")
            listener.job_id = job_id
            wait_for(
                lambda: job_counts(dsn, job_id).get("completed", 0) >= 5,
                90,
                lambda: f"no progress:\n{cluster.logs()}",
            )

            private_postgres.stop()  # every connection of every process drops
            time.sleep(3)  # longer than a heartbeat: claims, heartbeats, commits all fail
            with api.client() as http:
                assert http.get("/ready").status_code == 503
            private_postgres.start()

            wait_job_done(cluster, job_id, timeout=150)
            assert job_status(dsn, job_id) == "completed", cluster.logs()
            assert_exactly_once(dsn, job_id, files)
            assert all(p.alive() for p in cluster.processes), cluster.logs()
            with api.client() as http:
                assert http.get("/ready").status_code == 200
                job = http.get(f"/api/v1/jobs/{job_id}").json()
            assert job["status"] == "completed"
            assert job["progress"]["files"]["completed"] == files
            # The live stream of the API survived the outage and missed nothing.
            assert listener.done.wait(30), (listener.error, listener.types(job_id)[-5:])
            assert listener.types(job_id).count("file.completed") == files
        finally:
            cluster.close()
