"""Every missing extra is one line naming its ``pip install``, at start-up — never a traceback
from an import deep inside. The modules are installed here, so their absence is simulated:
``sys.modules[name] = None`` makes ``import name`` fail as on a server without the extra."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ingestd.cli import app
from ingestd.config import Settings
from ingestd.preflight import ConfigError
from ingestd.runtime import Runtime
from tests.conftest import App

POSTGRES_URL = "postgresql://ingestd@127.0.0.1:1/ingestd"  # never reached: refused before


def run(tmp_path: Path, *args: str, **env: str) -> Any:
    return CliRunner().invoke(
        app, [*args, "--data-dir", str(tmp_path / "data")], env={"COLUMNS": "300", **env}
    )


def one_line(output: str) -> str:
    """The error box's text, joined (rich wraps it at the terminal width)."""
    return " ".join(output.split())


@pytest.mark.parametrize("command", ["serve", "worker", "migrate"])
def test_postgres_without_asyncpg_names_the_extra(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    result = run(tmp_path, command, "--database-url", POSTGRES_URL)
    assert result.exit_code == 2, result.output
    text = one_line(result.output)
    assert "Invalid value for --database-url" in text
    assert "pip install 'ingestd[postgres]'" in text
    assert "Traceback" not in result.output and "ModuleNotFoundError" not in result.output
    assert not (tmp_path / "data").exists()  # refused before anything started


def test_the_variable_is_named_when_the_url_came_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    result = run(tmp_path, "worker", INGESTD_DATABASE_URL=POSTGRES_URL)
    assert result.exit_code == 2
    assert "Invalid value for INGESTD_DATABASE_URL" in one_line(result.output)


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_redis_without_the_package_names_the_extra(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    result = run(tmp_path, command, INGESTD_REDIS_URL="redis://127.0.0.1:6379/0")
    assert result.exit_code == 2, result.output
    text = one_line(result.output)
    assert "INGESTD_REDIS_URL" in text and "pip install 'ingestd[redis]'" in text
    assert "Traceback" not in result.output


async def test_a_runtime_built_in_code_refuses_the_same_way(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    runtime = Runtime(make_settings(database_url=POSTGRES_URL))
    with pytest.raises(
        ConfigError, match=r"INGESTD_DATABASE_URL: .*pip install 'ingestd\[postgres\]'"
    ):
        await runtime.start()


async def test_a_job_asking_for_minilm_without_the_extra_is_refused(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    response = await sqlite_app.client.post(
        "/api/v1/jobs", json={"sources": [{"type": "upload"}], "options": {"embedder": "minilm"}}
    )
    assert response.status_code == 422, response.text
    assert "pip install 'ingestd[embeddings]'" in response.json()["detail"]
    assert response.json()["detail"].startswith("options.embedder: ")
