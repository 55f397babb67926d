"""A scale-out deployment on one machine, for real: PostgreSQL databases, ``ingestd serve
--workers 0`` API processes and ``ingestd worker`` processes, started with the commands of
``docs/deployment.md``.

Each test gets its own database on the shared server (created here, dropped after), or a private
PostgreSQL cluster it may stop and start without disturbing anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.e2e.conftest import ADMIN, free_port
from tests.eventually import eventually_sync
from tests.needs import missing

PG_DSN = os.environ.get("INGESTD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_bin() -> Path:
    """The server binaries for a private cluster: ``INGESTD_TEST_PG_BIN``, else the newest
    Debian/Ubuntu install, else wherever ``pg_ctl`` is on the PATH."""
    if os.environ.get("INGESTD_TEST_PG_BIN"):
        return Path(os.environ["INGESTD_TEST_PG_BIN"])
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: float(p.parts[-3])
    )
    if installed:
        return installed[-1].parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()

# Short leases and heartbeats so a killed worker's files come back within seconds.
FAST_QUEUE = {
    "INGESTD_LEASE_SECONDS": "3",
    "INGESTD_HEARTBEAT_SECONDS": "0.5",
    "INGESTD_POLL_SECONDS": "0.2",
    "INGESTD_STORAGE_CHECK_SECONDS": "0.5",  # /ready reads the storage monitor
    "INGESTD_RATE_LIMITS": "false",
    "INGESTD_DATABASE_POOL_SIZE": "3",  # 6 processes share a server with other test runs
}


def sql(dsn: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """Run one query with a connection of its own (the test reads the database directly)."""

    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def require_postgres() -> None:
    try:
        sql(PG_DSN, "SELECT 1")
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        missing(f"PostgreSQL is not reachable at {PG_DSN} ({exc})")


@contextlib.contextmanager
def fresh_database(server_dsn: str = PG_DSN) -> Iterator[str]:
    """A new, empty database on ``server_dsn``, dropped afterwards. Yields its DSN."""
    name = f"ingestd_e2e_{secrets.token_hex(6)}"
    sql(server_dsn, f"CREATE DATABASE {name}")
    try:
        yield f"{server_dsn.rsplit('/', 1)[0]}/{name}"
    finally:
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            sql(server_dsn, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Process:
    """One ``ingestd …`` command in a process group of its own (its parser processes too)."""

    def __init__(self, name: str, args: list[str], *, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "ingestd", *self.args],
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.log.parent,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill_hard(self) -> None:
        """``kill -9`` the whole process group: the machine lost power."""
        assert self.popen is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM to the main process, as systemd's ``KillMode=mixed`` sends it (the process
        stops its own parser processes), and wait for the exit code."""
        assert self.popen is not None
        with contextlib.suppress(ProcessLookupError):
            self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout)

    def cleanup(self) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.terminate(20)
        with contextlib.suppress(ProcessLookupError):  # anything left in the group
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)


class Deployment:
    """API and worker processes sharing one PostgreSQL database, one blob directory and one
    source root (mounts shared by N machines); each process has a data directory of its own, like
    a machine's local disk."""

    def __init__(self, base: Path, dsn: str) -> None:
        self.base = base
        self.dsn = dsn
        self.blobs = base / "shared-blobs"  # an NFS mount across machines (or s3://)
        self.root = base / "docs"
        self.root.mkdir(parents=True, exist_ok=True)
        self.env = {"INGESTD_ADMIN_KEY": ADMIN, **FAST_QUEUE}
        self.processes: list[Process] = []

    def common(self, name: str) -> list[str]:
        """The flags every process of the deployment gets (docs/deployment.md)."""
        return [
            "--database-url",
            self.dsn,
            "--blob-url",
            self.blobs.as_uri(),
            "--source-root",
            str(self.root),
            "--data-dir",
            str(self.base / "machines" / name),  # local to each machine
        ]

    def migrate(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "ingestd", "migrate", "--database-url", self.dsn],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.base,
        )
        assert result.returncode == 0, result.stderr

    def api(self, name: str = "api", port: int | None = None, *, wait: bool = True) -> Api:
        """An API process (``wait=False``: started, not yet answering, so several start at once)."""
        port = port or free_port()
        args = ["serve", "--workers", "0", "--host", "127.0.0.1", "--port", str(port)]
        process = Api(name, [*args, *self.common(name)], env=self.env, log_dir=self.base, port=port)
        self.processes.append(process)
        process.start()
        if wait:
            process.wait_healthy()
        return process

    def worker(self, name: str, concurrency: int = 1) -> Process:
        args = ["worker", *self.common(name), "--concurrency", str(concurrency)]
        process = Process(name, args, env=self.env, log_dir=self.base)
        self.processes.append(process)
        process.start()
        return process

    def wait_workers(self, count: int, timeout: float = 90) -> dict[int, str]:
        """Wait until ``count`` worker processes have registered; their pid → worker id."""
        found: dict[int, str] = {}

        def registered() -> bool:
            found.update(self.live_workers())
            return len(found) >= count

        wait_for(registered, timeout, lambda: f"workers did not register: {self.logs()}")
        return found

    def live_workers(self) -> dict[int, str]:
        rows = sql(self.dsn, "SELECT id, pid FROM workers WHERE stopped_at IS NULL")
        return {int(r["pid"]): str(r["id"]) for r in rows}

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output()[-2500:]}" for p in self.processes)

    def close(self) -> None:
        for process in self.processes:  # SIGTERM all first: their grace periods overlap
            if process.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        for process in self.processes:
            process.cleanup()


class Api(Process):
    def __init__(
        self, name: str, args: list[str], *, env: dict[str, str], log_dir: Path, port: int
    ) -> None:
        super().__init__(name, args, env=env, log_dir=log_dir)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def wait_healthy(self, timeout: float = 90) -> None:
        def healthy() -> bool:
            if not self.alive():
                raise AssertionError(f"{self.name} exited: {self.output()[-3000:]}")
            try:
                return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, timeout, lambda: f"{self.name} did not start: {self.output()[-3000:]}")

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
        )


def wait_for(
    condition: Callable[[], bool], timeout: float, message: Callable[[], str], every: float = 0.2
) -> None:
    """``eventually_sync``, failing with ``message()`` (the processes' logs, say)."""
    try:
        eventually_sync(condition, seconds=timeout, interval=every)
    except AssertionError:
        raise AssertionError(message()) from None


def write_documents(folder: Path, count: int, paragraphs: int = 12) -> None:
    """``count`` Markdown files, each different (equal content would be skipped as a duplicate)
    and big enough that a worker holds several in flight at any moment."""
    folder.mkdir(parents=True, exist_ok=True)
    paragraph = "Scale-out is a property you prove by killing processes. " * 30
    for i in range(count):
        body = "\n\n".join(f"## Part {p} of document {i}\n\n{paragraph}" for p in range(paragraphs))
        (folder / f"doc{i:03}.md").write_text(f"# Document {i}\n\n{body}\n")


def assert_exactly_once(dsn: str, job_id: str, files: int) -> list[asyncpg.Record]:
    """Every file of the job completed once: its chunks stored once each, their count equal to
    the file's ``chunks``. Returns the file rows (status, attempts, chunks)."""
    rows = sql(dsn, "SELECT id, status, attempts, chunks FROM files WHERE job_id = $1", job_id)
    assert len(rows) == files
    assert {r["status"] for r in rows} == {"completed"}, [
        (r["id"], r["status"]) for r in rows if r["status"] != "completed"
    ]
    duplicates = sql(
        dsn,
        "SELECT file_id, idx FROM chunks WHERE job_id = $1 GROUP BY file_id, idx HAVING count(*) > 1",
        job_id,
    )
    assert duplicates == []
    mismatched = sql(
        dsn,
        "SELECT f.id FROM files f LEFT JOIN (SELECT file_id, count(*) n FROM chunks GROUP BY file_id) c"
        " ON c.file_id = f.id WHERE f.job_id = $1 AND (coalesce(c.n, 0) != f.chunks OR f.chunks = 0)",
        job_id,
    )
    assert mismatched == []
    announced = sql(
        dsn,
        "SELECT f.id, count(e.seq) n FROM files f LEFT JOIN events e"
        " ON e.file_id = f.id AND e.type = 'file.completed' WHERE f.job_id = $1 GROUP BY f.id",
        job_id,
    )
    assert {int(r["n"]) for r in announced} == {1}, "a file.completed event missing or repeated"
    return rows


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own, on a free port, that it may stop and start.

    initdb and pg_ctl refuse to run as root: as root they run as the ``postgres`` user."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ingestd-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")

    @staticmethod
    def available() -> bool:
        return (PG_BIN / "pg_ctl").exists()

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"{args[0]} failed: {result.stdout}{result.stderr}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
            " -c full_page_writes=off -c max_connections=200"
        )
        log = self.dir / "server.log"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def destroy(self) -> None:
        if self.running():
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
