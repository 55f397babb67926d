"""The import contract (``.importlinter``, explained in docs/architecture.md): imports point
inward, the store owns every statement, and no two sibling modules import each other."""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contract_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    status = lint_imports(config_filenames=(str(ROOT / ".importlinter"),), no_cache=True)
    assert status == EXIT_STATUS_SUCCESS, "run `.venv/bin/lint-imports .importlinter` to see why"


def test_every_package_has_its_place_in_the_layers() -> None:
    """``exhaustive = True`` makes a new top-level module fail until it is placed; this checks
    the listing itself still names only modules that exist (a renamed one would pass silently)."""
    text = (ROOT / ".importlinter").read_text()
    block = text.split("layers =", 1)[1].split("exhaustive_ignores", 1)[0]
    named = {name.strip() for line in block.splitlines() for name in line.split("|")}
    named.discard("")
    package = ROOT / "ingestd"
    for name in named:
        assert (package / f"{name}.py").exists() or (package / name).is_dir(), name
