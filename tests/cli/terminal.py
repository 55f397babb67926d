"""Running the command line in a real pseudo-terminal, the way a person at a keyboard does,
and pressing Ctrl-C (SIGINT) at a chosen moment."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class Session:
    output: str
    code: int


def _default_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_in_terminal(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    interrupt_when: Callable[[str], bool] | Sequence[Callable[[str], bool]] = (),
    cwd: str | None = None,
    seconds: float = 120.0,
) -> Session:
    """Run ``argv`` with a pty as its terminal; send SIGINT once ``interrupt_when(output)`` is
    true (for a list of conditions, once for each in turn). Returns everything it printed and
    its exit code."""
    pending = [interrupt_when] if callable(interrupt_when) else list(interrupt_when)
    leader, follower = os.openpty()
    process = subprocess.Popen(
        list(argv),
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**env, "TERM": "xterm-256color"},
        cwd=cwd,
        close_fds=True,
        # As in a user's terminal: Ctrl-C has its default action even when the test run was
        # started in the background (a shell then ignores SIGINT, and children inherit that).
        preexec_fn=_default_ctrl_c,
    )
    os.close(follower)
    output = bytearray()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                output.extend(chunk)
            elif process.poll() is not None:
                break
            text = output.decode(errors="replace")
            if pending and pending[0](text):
                process.send_signal(signal.SIGINT)
                pending.pop(0)
        if process.poll() is None:  # out of time: its output tells where it hung
            process.kill()
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
    return Session(output.decode(errors="replace"), code)


PYTHON = sys.executable
