"""The first screen of ``ingestd serve``: every command it prints runs as pasted, also when
``ingestd`` is not on ``PATH`` (a virtualenv that is not activated) and from another directory."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from ingestd.cli import serve
from ingestd.cli.serve import launch_command
from ingestd.store.migrate import upgrade_sync

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
BARE_PATH = "/usr/bin:/bin"  # no virtualenv on it


@pytest.mark.parametrize(
    ("argv0", "python", "on_path", "cwd", "expected"),
    [
        ("/srv/app/.venv/bin/ingestd", "/srv/app/.venv/bin/python", None, "/srv/app",
         ".venv/bin/ingestd"),
        ("/srv/app/.venv/bin/ingestd", "/srv/app/.venv/bin/python", None, "/home/me",
         "/srv/app/.venv/bin/ingestd"),
        ("/srv/app/.venv/bin/ingestd", "/srv/app/.venv/bin/python", "/usr/local/bin/ingestd",
         "/srv/app", ".venv/bin/ingestd"),  # another install on PATH: not this one
        ("/srv/app/ingestd/__main__.py", "/srv/app/.venv/bin/python", None, "/srv/app",
         ".venv/bin/python -m ingestd"),
        ("/srv/my app/.venv/bin/ingestd", "/srv/my app/.venv/bin/python", None, "/tmp",
         "'/srv/my app/.venv/bin/ingestd'"),
    ],
)  # fmt: skip
def test_the_command_is_the_one_that_was_run(
    argv0: str, python: str, on_path: str | None, cwd: str, expected: str
) -> None:
    assert launch_command(argv0, python, on_path, Path(cwd)) == expected


def test_ingestd_on_path_when_it_is_this_install() -> None:
    script = str(VENV_BIN / "ingestd")
    assert launch_command(script, sys.executable, script, Path("/")) == "ingestd"


def _first_screen(monkeypatch: pytest.MonkeyPatch, make_settings: Any, **settings: Any) -> str:
    out = io.StringIO()
    # an 80-column terminal: a command longer than that stays one line, to paste whole
    monkeypatch.setattr(serve, "console", Console(file=out, width=80))
    serve._banner(
        make_settings(admin_key=None, **settings),
        SimpleNamespace(run_workers=False, bootstrap_key=None),
    )
    return out.getvalue()


def _command(screen: str, label: str) -> str:
    for line in screen.splitlines():
        text = line.strip(" │╭╮╰╯─")
        if label in text:
            return text.split(label, 1)[1].strip()
    raise AssertionError(f"no {label!r} line in:\n{screen}")


@pytest.mark.parametrize("where", ["the project", "another directory"])
def test_every_printed_command_runs_as_pasted_without_ingestd_on_path(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_settings: Any
) -> None:
    cwd = ROOT if where == "the project" else tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("PATH", BARE_PATH)
    monkeypatch.setattr(sys, "argv", [str(VENV_BIN / "ingestd"), "serve"])
    data_dir = tmp_path / "data"
    screen = _first_screen(monkeypatch, make_settings, data_dir=data_dir)
    keys = _command(screen, "Need a key?")
    assert not keys.startswith("ingestd ")  # not on PATH here
    data_dir.mkdir()
    upgrade_sync(f"sqlite+aiosqlite:///{data_dir / 'ingestd.db'}")  # serve made it
    env = {"PATH": BARE_PATH, "HOME": str(tmp_path), "COLUMNS": "200"}
    made = subprocess.run(
        keys, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, (keys, made.stdout, made.stderr)
    assert "ik_" in made.stdout + made.stderr
    assert not (cwd / ".ingestd").exists()  # it wrote to the server's database, not a new one
    submit_line = next(line.strip() for line in screen.splitlines() if "submit ./docs" in line)
    assert submit_line.startswith("INGESTD_URL=")  # whole, not cut by the width or a border
    shown = subprocess.run(
        submit_line.replace("submit ./docs --watch", "submit --help"),
        shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shown.returncode == 0, (submit_line, shown.stderr)
    assert " ingestd submit" not in submit_line  # the path that works, not the bare name
