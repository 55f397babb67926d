"""Real ``ingestd serve`` processes on loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.eventually import eventually_sync

ADMIN = "ik_e2e_admin_key_0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(
        self, data_dir: Path, root: Path, log: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.data_dir = data_dir
        self.root = root
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "INGESTD_ADMIN_KEY": ADMIN,
            "INGESTD_LEASE_SECONDS": "3",
            "INGESTD_HEARTBEAT_SECONDS": "0.5",
            "INGESTD_POLL_SECONDS": "0.1",
            **self.extra_env,
        }
        command = [
            sys.executable,
            "-m",
            "ingestd",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--source-root",
            str(self.root),
            "--workers",
            "2",
        ]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            eventually_sync(self._healthy, interval=0.1, what="the server answering /health")
        except AssertionError:
            raise AssertionError(f"server did not start: {self.log.read_text()[-3000:]}") from None

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:  # not an AssertionError: fails at once
            raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def kill_hard(self, *, whole_group: bool = True) -> None:
        """kill -9 the server; with ``whole_group`` its worker and parser processes too (a machine
        that lost power), else the serve process alone."""
        assert self.process is not None
        if whole_group:
            os.killpg(self.process.pid, signal.SIGKILL)
        else:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
        )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "root"
    root.mkdir()
    srv = Server(tmp_path / "data", root, tmp_path / "server.log")
    yield srv
    srv.stop()
    if srv.process is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(srv.process.pid, signal.SIGKILL)
