"""Without the ``ingestd[s3]`` extra, asking for S3 fails at once with what to install.

boto3 is installed in the test environment, so its absence is simulated: ``sys.modules["boto3"]
= None`` makes ``import boto3`` raise ImportError exactly as on a server without the extra.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingestd.blobs.base import BlobStoreConfigError
from ingestd.blobs.url import open_blob_store
from ingestd.config import Settings
from ingestd.domain.errors import ValidationFailed
from ingestd.services.jobs import resolve_sources


@pytest.fixture
def no_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)


@pytest.mark.usefixtures("no_boto3")
def test_s3_blob_store_needs_the_extra(tmp_path: Path) -> None:
    with pytest.raises(BlobStoreConfigError, match=r"pip install 'ingestd\[s3\]'"):
        open_blob_store(Settings(data_dir=tmp_path, blob_url="s3://bucket/prefix"))
    # the local store never needs it
    assert open_blob_store(Settings(data_dir=tmp_path)).is_local


@pytest.mark.usefixtures("no_boto3")
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_cli_refuses_at_start(command: str, tmp_path: Path) -> None:
    from ingestd.cli import app

    result = CliRunner().invoke(
        app,
        [command, "--data-dir", str(tmp_path), "--blob-url", "s3://bucket/prefix"],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 2, result.output
    assert "--blob-url" in result.output
    assert "pip install 'ingestd[s3]'" in result.output
    assert not (tmp_path / "ingestd.db").exists()  # refused before anything started


@pytest.mark.usefixtures("no_boto3")
def test_s3_source_needs_the_extra(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match=r"sources\[0\]\.type: s3 sources are not available"):
        resolve_sources(Settings(data_dir=tmp_path), [{"type": "s3", "bucket": "docs"}])
