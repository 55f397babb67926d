"""``ingestd doctor``: a table of checks with a fix per problem, 80 columns wide, exit 1 when
something is broken."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ingestd import preflight
from ingestd.cli import app as cli_app
from ingestd.config import Settings
from ingestd.services.doctor import Status, diagnose
from ingestd.store.migrate import upgrade_sync


def _doctor(tmp_path: Path, *args: str, **env: str) -> Result:
    return CliRunner().invoke(
        cli_app,
        ["doctor", "--data-dir", str(tmp_path / "data"), *args],
        env={"COLUMNS": "80", **env},
    )


def _fits(output: str) -> None:
    assert all(len(line) <= 80 for line in output.splitlines()), output


def test_a_sound_installation_passes(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    upgrade_sync(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'ingestd.db'}")
    root = tmp_path / "docs"
    root.mkdir()
    result = _doctor(tmp_path, "--source-root", str(root))
    assert result.exit_code == 0, result.output
    _fits(result.output)
    for check in ("settings", "database", "blob store", "clamd", "extras", "disk", "source"):
        assert check in result.output
    assert "migration" in result.output and "FAIL" not in result.output
    assert "ready to run" in result.output


def test_each_problem_is_named_with_its_fix_and_the_exit_code_says_broken(
    tmp_path: Path,
) -> None:
    result = _doctor(
        tmp_path,
        "--source-root",
        str(tmp_path / "missing"),
        "--clamd",
        "tcp://127.0.0.1:9",
        "--database-url",
        "postgresql+asyncpg://ingestd:hunter2secret@127.0.0.1:9/ingestd",
    )
    assert result.exit_code == 1, result.output
    _fits(result.output)
    flat = " ".join(result.output.split())
    assert flat.count("FAIL") == 3
    assert "start the database" in flat and "start clamd" in flat
    assert "create it or correct" in flat
    assert "hunter2secret" not in result.output  # the password is never shown
    assert "problem(s) to fix" in flat


def test_a_database_behind_this_version_is_broken(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    upgrade_sync(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'ingestd.db'}", "0008")
    result = _doctor(tmp_path, "--source-root", str(tmp_path))
    assert result.exit_code == 1
    assert "ingestd migrate" in " ".join(result.output.split())


def test_a_missing_extra_is_a_row_with_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preflight, "REDIS", preflight.Extra("redis", "no_such_redis", "Redis"))
    result = _doctor(
        tmp_path, "--source-root", str(tmp_path), INGESTD_REDIS_URL="redis://127.0.0.1:6379/0"
    )
    assert result.exit_code == 1, result.output
    assert "redis" in result.output
    settings = Settings(data_dir=tmp_path / "data", redis_url="redis://127.0.0.1:6379/0")
    findings = asyncio.run(diagnose(settings))
    row = next(f for f in findings if f.check == "settings")
    assert row.status is Status.FAIL and row.detail.startswith("INGESTD_REDIS_URL: Redis")
    assert row.fix == "pip install 'ingestd[redis]'"


def test_a_wide_outbound_allowlist_is_a_warning(tmp_path: Path) -> None:
    result = _doctor(tmp_path, "--source-root", str(tmp_path), INGESTD_OUTBOUND_ALLOW="0.0.0.0/0")
    assert result.exit_code == 0 and "warn" in result.output and "0.0.0.0/0" in result.output
    findings = asyncio.run(diagnose(Settings(data_dir=tmp_path, outbound_allow=["0.0.0.0/0"])))
    row = next(f for f in findings if f.check == "outbound")
    assert row.status is Status.WARN and "INGESTD_OUTBOUND_ALLOW" in row.fix
