"""``--prefetch`` on ``ingestd serve`` and ``ingestd worker``: offered, bounded, and it sets how
many files a real worker process keeps in flight, at least."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingestd.cli import app
from tests.cli.test_clamd_option import _worker_says


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_the_option_is_offered_and_bounded(command: str) -> None:
    runner = CliRunner()
    help_text = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
    assert "--prefetch" in help_text
    result = runner.invoke(app, [command, "--prefetch", "65"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "--prefetch" in result.output


def test_a_worker_keeps_that_many_files_in_flight(tmp_path: Path) -> None:
    """At least that many; up to 64 per parser while files are tiny (queue/window.py)."""
    line = _worker_says(tmp_path, "--prefetch", "40", expect="files in flight")
    assert "40 to 64 files in flight" in line and "1 parser processes" in line
