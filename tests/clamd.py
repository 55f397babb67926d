"""A real ClamAV daemon for tests, loaded with one signature made here: the EICAR test file.

The public signature feed cannot be reached from here, and a tiny database loads in well under a
second, so each test module starts its own ``clamd`` (Debian package ``clamav-daemon``;
``scripts/test`` installs it). Without it the tests skip, except in CI (``CI`` set), where they
must run and fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from tests.needs import missing

# The EICAR anti-virus test file, put together at run time so that this source file is not
# itself flagged by a scanner on a developer's machine.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!" + b"$H+H*"
SIGNATURE = "Ingestd.Test.EICAR"
STREAM_MAX_BYTES = 1024 * 1024  # StreamMaxLength: small, so the size-limit path is testable
START_SECONDS = 30.0


@dataclass(frozen=True)
class Clamd:
    tcp_url: str
    unix_url: str
    log: Path


def unavailable(reason: str) -> NoReturn:
    """Skip outside CI; in CI a missing scanner is a failure, never a silent skip."""
    missing(f"clamd is not available: {reason}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_clamd(workdir: Path) -> Iterator[Clamd]:
    """Start ``clamd`` on a free TCP port and a unix socket, with the EICAR signature only."""
    binary = shutil.which("clamd") or next(
        (p for p in ("/usr/sbin/clamd", "/usr/local/sbin/clamd") if os.access(p, os.X_OK)), None
    )
    if binary is None:
        unavailable("clamd is not installed (apt-get install clamav-daemon)")
    database = workdir / "db"
    database.mkdir(parents=True)
    # A body signature (.ndb: name, any file type, any offset, hex bytes) for the EICAR string.
    (database / "eicar.ndb").write_text(f"{SIGNATURE}:0:*:{EICAR.hex()}\n")
    # unix socket paths are limited to ~100 bytes: keep it short, outside pytest's deep tmp dirs.
    sockdir = Path(tempfile.mkdtemp(prefix="clamd-"))
    log = workdir / "clamd.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        # The free port may be taken by someone else before clamd binds it: then try another.
        for _attempt in range(3):
            port = free_port()
            config = _write_config(workdir, port, sockdir / "clamd.sock", database, log)
            process = subprocess.Popen(
                [binary, "--config-file", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            if _answers_ping(port, process):
                break
        else:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            unavailable(f"clamd exited with code {process and process.returncode}: {tail}")
        yield Clamd(
            tcp_url=f"tcp://127.0.0.1:{port}",
            unix_url=f"unix://{sockdir / 'clamd.sock'}",
            log=log,
        )
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(sockdir, ignore_errors=True)


def _write_config(workdir: Path, port: int, sock: Path, database: Path, log: Path) -> Path:
    config = workdir / "clamd.conf"
    lines = [
        "Foreground yes",
        f"TCPSocket {port}",
        "TCPAddr 127.0.0.1",
        f"LocalSocket {sock}",
        f"DatabaseDirectory {database}",
        f"LogFile {log}",
        f"StreamMaxLength {STREAM_MAX_BYTES}",
        "MaxThreads 4",
        "SelfCheck 0",
    ]
    config.write_text("\n".join(lines) + "\n")
    return config


def _answers_ping(port: int, process: subprocess.Popen[bytes]) -> bool:
    """True once clamd answers PONG; False if it exited (e.g. its port was taken)."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"zPING\0")
                if sock.recv(16).startswith(b"PONG"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    unavailable(f"clamd did not answer PING within {START_SECONDS:g} s")
