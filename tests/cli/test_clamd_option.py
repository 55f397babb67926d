"""``--clamd`` on ``ingestd serve`` and ``ingestd worker``: checked when given, and a real worker
process says at start whether the scanner (a real clamd) answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingestd.cli import app
from tests.clamd import Clamd, free_port, running_clamd


@pytest.fixture(scope="module")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    with running_clamd(tmp_path_factory.mktemp("clamd")) as daemon:
        yield daemon


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_the_option_is_offered_and_checked(command: str) -> None:
    runner = CliRunner()
    assert "--clamd" in runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
    result = runner.invoke(app, [command, "--clamd", "clamd.local:3310"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "tcp://HOST:PORT or unix:///PATH" in " ".join(result.output.split())


def _worker_says(tmp_path: Path, *args: str, expect: str) -> str:
    """Start ``ingestd worker`` with ``args``, wait for ``expect`` in its log, stop it (SIGINT)."""
    env = {**os.environ, "INGESTD_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    env.pop("INGESTD_CLAMD", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "ingestd", "worker", "--concurrency", "1", *args],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and process.poll() is None:
            line = process.stderr.readline()
            seen.append(line)
            if expect in line:
                return line
        raise AssertionError(f"no {expect!r} in the worker's log:\n{''.join(seen)}")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


@pytest.mark.slow
def test_a_worker_checks_its_scanner_at_start(tmp_path: Path, clamd: Clamd) -> None:
    line = _worker_says(tmp_path, "--clamd", clamd.tcp_url, expect="files are scanned for malware")
    assert clamd.tcp_url in line
    down = f"tcp://127.0.0.1:{free_port()}"
    line = _worker_says(tmp_path, "--clamd", down, expect="scan_unavailable")
    assert down in line and "WARNING" in line
