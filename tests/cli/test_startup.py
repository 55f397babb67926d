"""The command line starts fast (nothing heavy is imported for ``--help``), and Ctrl-C at any
moment, imports included, prints one line and exits 130 (issue #12: 8, 15)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from ingestd.cli._app import COMMANDS, load
from tests.cli.terminal import PYTHON, run_in_terminal

HEAVY = ("httpx", "sqlalchemy", "pydantic", "fastapi", "websockets", "anyio", "orjson")
CHECK = """
import sys
sys.argv = ["ingestd", *sys.argv[1:]]
from ingestd.cli import main
try:
    main()
except SystemExit:
    pass
heavy = sorted(
    m for m in sys.modules
    if m.split(".")[0] in {heavy!r}
    or m.startswith(("ingestd.client", "ingestd.api", "ingestd.store", "ingestd.config"))
)
print("HEAVY", heavy, file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], [], ["jobs", "--help"], ["watch", "--help"]])
def test_help_imports_nothing_heavy(args: list[str]) -> None:
    # A command's own options are read by typer, which uses pydantic for some of them.
    heavy = HEAVY if len(args) < 2 else tuple(m for m in HEAVY if m != "pydantic")
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(heavy=heavy), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert "Usage: ingestd" in result.stdout, result.stderr
    assert "HEAVY []" in result.stderr, result.stderr


def test_the_command_table_says_what_each_command_does() -> None:
    for name, (_module, _attr, line) in COMMANDS.items():
        command = load(name)
        described = re.sub(r"\s+", " ", command.help or "").strip()
        assert described.startswith(line.rstrip(".")), (name, described)


# Ctrl-C arrives while ``TARGET`` is being imported: as early as the command line's own modules,
# or as late as the SDK a command needs.
INTERRUPT_DURING_IMPORT = """
import os, signal, sys
target = sys.argv[1]

class PressCtrlC:
    def find_spec(self, name, path=None, module=None):
        if name == target:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, PressCtrlC())
sys.argv = ["ingestd", *sys.argv[2:]]
from ingestd.cli import main
main()
"""


@pytest.mark.parametrize("module", ["typer", "ingestd.cli.watch", "rich.live", "httpx"])
def test_ctrl_c_while_starting_to_watch_is_one_line(module: str) -> None:
    session = run_in_terminal(
        [
            PYTHON,
            "-c",
            INTERRUPT_DURING_IMPORT,
            module,
            "watch",
            "job_x",
            "--url",
            "http://127.0.0.1:9",
        ],
        env={**os.environ, "COLUMNS": "80"},
        seconds=60,
    )
    assert session.code == 130, session.output
    lines = [line for line in session.output.splitlines() if line.strip()]
    assert lines == ["stopped watching; `ingestd watch job_x` picks it up again"], session.output


def test_ctrl_c_before_a_job_exists_says_so(tmp_path: object) -> None:
    session = run_in_terminal(
        [PYTHON, "-c", INTERRUPT_DURING_IMPORT, "httpx", "submit", str(tmp_path), "--watch"],
        env={**os.environ, "COLUMNS": "80", "INGESTD_URL": "http://127.0.0.1:9"},
        seconds=60,
    )
    assert session.code == 130, session.output
    assert [line for line in session.output.splitlines() if line.strip()] == [
        "stopped before a job was created"
    ]
