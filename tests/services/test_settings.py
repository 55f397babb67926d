"""Settings composed of parts: every variable keeps its name, each part mirrors its fields, and
the command line derives its options from the fields (one declaration of names, defaults and
validation)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingestd.cli import app
from ingestd.config import Settings

PARTS = (
    "server",
    "database",
    "queue",
    "events",
    "rate_limiting",
    "uploads",
    "outbound",
    "webhooks",
    "storage",
    "sources",
    "templates",
)


def test_parts_read_the_environment_through_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("INGESTD_WEBHOOK_MAX_ATTEMPTS", "7")
    monkeypatch.setenv("INGESTD_OUTBOUND_ALLOW", "10.0.0.0/8, files.corp")
    monkeypatch.setenv("INGESTD_TUS_EXPIRY_SECONDS", "60")
    monkeypatch.setenv("INGESTD_LEASE_SECONDS", "12")
    settings = Settings(data_dir=tmp_path, blob_gc_seconds=0)
    assert settings.webhooks.max_attempts == 7
    assert settings.webhooks.outbound_allow == ("10.0.0.0/8", "files.corp")
    assert settings.outbound.allow == ("10.0.0.0/8", "files.corp")
    assert settings.uploads.tus_expiry_seconds == 60
    assert settings.queue.lease_seconds == 12
    assert settings.storage.blob_gc_seconds == 0
    assert settings.storage.blob_dir == tmp_path / "blobs"
    assert settings.database.url.startswith("sqlite+aiosqlite:///")


def test_every_field_reaches_a_part(tmp_path: Path) -> None:
    """A setting that no part carries would be read only through the whole Settings again."""
    settings = Settings(data_dir=tmp_path)
    carried = {
        field.name for part in PARTS for field in dataclasses.fields(getattr(settings, part))
    }
    renamed = {  # field -> its name in a part
        "database_url": "url",
        "database_pool_size": "pool_size",
        "source_roots": "roots",
        "extract_processes": "process_count",
        "rate_limits": "enabled",
        "rate_limit_reads": "reads",
        "rate_limit_writes": "writes",
        "rate_limit_upload_mb": "upload_mb",
        "outbound_allow": "allow",
        "storage_check_seconds": "check_seconds",
        "storage_slow_ms": "slow_ms",
    }
    prefixes = ("event_", "webhook_", "templates_")
    for name in Settings.model_fields:
        candidates = {name, renamed.get(name, name)}
        candidates |= {name.removeprefix(p) for p in prefixes}
        assert candidates & carried, f"no part carries {name}"


def test_parts_are_frozen(tmp_path: Path) -> None:
    part = Settings(data_dir=tmp_path).webhooks
    with pytest.raises(dataclasses.FrozenInstanceError):
        part.max_attempts = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["serve", "--prefetch", "65"], {}, "--prefetch"),
        (["worker"], {"INGESTD_PREFETCH": "65"}, "INGESTD_PREFETCH"),
        (["worker", "--concurrency", "-1"], {}, "--concurrency"),
        (["serve", "--workers", "-1"], {}, "--workers"),
        (["gc", "--grace", "-1"], {}, "--grace"),
        (["serve", "--clamd", "clamd.local"], {}, "--clamd"),
    ],
)
def test_settings_validate_and_the_error_names_the_flag_or_variable(
    args: list[str], env: dict[str, str], named: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app, [*args, "--data-dir", str(tmp_path)], env={"COLUMNS": "300", **env}
    )
    assert result.exit_code == 2, result.output
    assert f"Invalid value for {named}" in result.output
    assert not (tmp_path / "ingestd.db").exists()


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_help_shows_the_variable_and_default_from_the_field(command: str) -> None:
    text = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "300"}).output
    assert "[env: INGESTD_PREFETCH] [default: 8]" in " ".join(text.split())
    assert "[env: INGESTD_DATA_DIR] [default: .ingestd]" in " ".join(text.split())
