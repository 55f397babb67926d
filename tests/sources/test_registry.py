"""Sources are found by type, and an installed package adds one by the ``ingestd.sources`` entry
point: here a real distribution on ``sys.path`` (a ``.dist-info`` with ``entry_points.txt``),
whose connector a worker lists and processes like any built-in source."""

from __future__ import annotations

import logging
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ingestd.config import Settings
from ingestd.domain.errors import BadRequest
from ingestd.domain.refs import BlobRef, PathRef, S3Ref, UrlRef
from ingestd.sources.base import SourceError
from ingestd.sources.port import SourceContext
from ingestd.sources.registry import (
    BUILT_IN,
    SourceRegistry,
    Sources,
    describe_source,
    installed_sources,
)
from ingestd.store.db import Database
from ingestd.worker import Worker
from tests.eventually import eventually
from tests.queue.factory import insert_job, job_row

CONNECTOR = '''
import contextlib
import tempfile
from pathlib import Path

from ingestd.domain.refs import ConnectorRef
from ingestd.domain.work import SourceEntry
from ingestd.sources.port import LocalFile


class NotesSource:
    """A connector that makes ``count`` notes out of thin air (as Drive makes files)."""

    type = "notes"
    ref_kinds = ("notes",)

    def __init__(self, context):
        self.context = context

    def check(self, spec, *, index):
        return spec

    @staticmethod
    def describe(spec):
        return {"count": spec["count"]}

    def entries(self, spec):
        for n in range(spec["count"]):
            yield SourceEntry(f"note{n}.md", f"notes/{n}.md", 0, ConnectorRef("notes", {"n": n}))

    def is_remote(self, ref):
        return True

    @contextlib.asynccontextmanager
    async def materialise(self, ref, limits):
        folder = Path(tempfile.mkdtemp(dir=self.context.blob_store().tmp_dir()))
        path = folder / "note.md"
        path.write_text(f"# Note {ref.data['n']}\\n\\nWritten by a connector.\\n")
        try:
            yield LocalFile(path)
        finally:
            path.unlink()
            folder.rmdir()
'''


def install(site: Path, name: str, entry_points: str, module: str = "") -> None:
    """A minimal installed distribution: metadata, entry points, and its module."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    if module:
        (site / f"{name}.py").write_text(module)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    installed_sources.cache_clear()
    yield folder
    installed_sources.cache_clear()
    for name in [m for m in sys.modules if m.startswith("ingestd_test_")]:
        del sys.modules[name]


def test_built_in_sources_by_type_and_by_reference() -> None:
    registry = SourceRegistry(BUILT_IN)
    assert registry.types == ["directory", "s3", "upload", "url", "zip"]
    kinds = {
        ref.kind: registry.class_for_ref(ref).type
        for ref in (PathRef("/a"), BlobRef("0" * 64), UrlRef("https://x"), S3Ref("b", "k"))
    }
    assert kinds == {"path": "directory", "blob": "upload", "url": "url", "s3": "s3"}
    with pytest.raises(SourceError) as caught:
        registry.source_class("gdrive")
    assert caught.value.code == "unsupported_source" and "directory" in caught.value.message


def test_an_unknown_type_is_refused_when_the_job_is_created(
    make_settings: Callable[..., Settings],
) -> None:
    sources = Sources(SourceContext(make_settings()))
    with pytest.raises(BadRequest) as caught:
        sources.check([{"type": "upload"}, {"type": "gdrive", "folder": "x"}])
    assert caught.value.detail.startswith("sources[1].type: source type 'gdrive'")


def test_a_stored_spec_is_described_without_server_paths() -> None:
    spec = {"type": "directory", "path": "docs", "resolved_path": "/srv/docs", "recursive": True}
    assert describe_source("directory", spec) == {"path": "docs", "recursive": True}
    assert describe_source("gone", {"type": "gone", "x": 1}) == {"x": 1}  # uninstalled since


def test_broken_and_impostor_entry_points_are_left_out(
    site: Path, caplog: pytest.LogCaptureFixture
) -> None:
    install(
        site,
        "ingestd_test_bad",
        """
        [ingestd.sources]
        s3 = ingestd_test_bad:Anything
        broken = ingestd_test_missing_module:Source
        """,
    )
    with caplog.at_level(logging.WARNING, logger="ingestd.sources"):
        registry = SourceRegistry.discover()
    assert registry.types == ["directory", "s3", "upload", "url", "zip"]
    assert registry.source_class("s3").__module__ == "ingestd.sources.s3"
    assert "a built-in type" in caplog.text and "could not be loaded" in caplog.text


@pytest.fixture
def notes(site: Path) -> None:
    """The ``notes`` connector, installed."""
    install(
        site,
        "ingestd_test_notes",
        """
        [ingestd.sources]
        notes = ingestd_test_notes:NotesSource
        """,
        CONNECTOR,
    )


@pytest.mark.usefixtures("notes")
async def test_an_installed_connector_is_listed_and_processed(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    assert "notes" in installed_sources().types
    source = {"type": "notes", "spec": {"count": 3}, "state": "pending"}
    job_id = await insert_job(db, source)
    worker = Worker(make_settings(database_url=db.url), db, concurrency=2)
    await worker.start()
    try:
        done = await eventually(
            lambda: job_row(db, job_id), until=lambda j: j["status"] == "completed", what="job"
        )
    finally:
        await worker.stop(grace_seconds=5)
    assert done["sources"][0]["n_completed"] == 3
    assert describe_source("notes", source["spec"]) == {"count": 3}


@pytest.mark.usefixtures("notes")
async def test_a_connector_source_through_the_api(start_app: Callable[..., Any]) -> None:
    async with start_app() as app:
        body = {"sources": [{"type": "notes", "count": 2}], "pipeline": "extract"}
        created = await app.client.post("/api/v1/jobs", json=body)
        assert created.status_code == 201, created.text
        job = await app.wait_job(created.json()["id"])
        assert job["status"] == "completed" and job["progress"]["files"]["completed"] == 2
        assert job["sources"][0]["count"] == 2 and job["sources"][0]["type"] == "notes"
        unknown = {"sources": [{"type": "gdrive", "folder_id": "x"}]}
        refused = await app.client.post("/api/v1/jobs", json=unknown)
        assert refused.status_code == 422
        assert "unknown source type" in refused.text and "docs/sources.md" in refused.text
