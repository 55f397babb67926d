"""Documents in the SDK: ``files.document``/``content``/``download``, ``convert`` and
``jobs.export``; the async client against the app in process (SQLite and PostgreSQL), the sync
one against a real server on loopback."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path

import pytest

from ingestd.client import (
    AsyncClient,
    Client,
    ConflictError,
    Conversion,
    Document,
    NotFoundError,
    sources,
)
from tests.api.test_documents import REPORT
from tests.conftest import ADMIN_KEY, App


async def test_async_client_reads_documents_and_exports(
    client: AsyncClient, app: App, docs: Path, tmp_path: Path
) -> None:
    (docs / "report.md").write_text(REPORT)
    job = await client.jobs.create(sources.directory("docs"), pipeline="extract")
    await client.jobs.wait(job.id)
    [file] = [f async for f in client.jobs.files(job.id)]

    document = await client.files.document(file.id)
    assert isinstance(document, Document) and document.schema_ == "ingestd.document/1"
    assert document.elements[0].kind == "heading" and document.elements[0].section == ["Results"]
    table = next(e for e in document.elements if e.kind == "table")
    assert table.table is not None and table.table.rows[1][0].text == "North"
    markdown = await client.files.document(file.id, format="markdown")
    assert markdown.startswith("# Results\n")
    assert "North grew" in await client.files.document(file.id, format="text")

    with pytest.raises(NotFoundError) as no_content:
        await client.files.content(file.id)  # a directory file: read at its source
    assert no_content.value.code == "no_content"

    out = await client.jobs.export(job.id, tmp_path / "out.jsonl")
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines and lines[0]["file_id"] == file.id and lines[0]["element_ids"]
    zipped = await client.jobs.export(job.id, tmp_path / "out.zip", format="markdown")
    assert zipfile.ZipFile(zipped).namelist() == ["report.md.md"]


async def test_async_convert_and_original_bytes(client: AsyncClient, tmp_path: Path) -> None:
    source = tmp_path / "report.md"
    source.write_text(REPORT)
    result = await client.convert(source, format="markdown", chunks=True)
    assert isinstance(result, Conversion) and not result.pending
    [item] = result.items
    assert item.status == "completed" and isinstance(item.document, str)
    assert "| North | 10 |" in item.document and item.chunks and item.chunks[0].metadata
    assert await client.files.content(item.file_id) == REPORT.encode()
    assert await client.files.content(item.file_id, byte_range=(2, 8)) == REPORT.encode()[2:9]
    saved = await client.files.download(item.file_id, tmp_path / "copy.md")
    assert saved.read_bytes() == REPORT.encode()
    folder = tmp_path / "downloads"
    folder.mkdir()
    assert (await client.files.download(item.file_id, folder)).name == "report.md"

    typed = await client.convert(source, format="json")
    [again] = typed.items
    assert isinstance(again.document, Document) and again.status == "skipped"  # same content

    later = await client.convert(
        tmp_path / "report.md", wait_seconds=0, options={"chunk_size": 300}
    )
    assert later.pending and later.job_id and later.files[0].url.endswith("/document")


async def test_a_running_file_has_no_document_yet(client: AsyncClient, tmp_path: Path) -> None:
    source = tmp_path / "notes.md"
    source.write_text("# Notes\n\nSoon.\n")
    job = await client.jobs.create(sources.upload(), pipeline="extract", start=False)
    await client.jobs.upload(job.id, source, seal=True)
    [file] = [f async for f in client.jobs.files(job.id)]
    with pytest.raises(ConflictError) as early:
        await client.files.document(file.id)
    assert "queued" in early.value.detail


async def test_sync_client_has_the_same_methods(loopback_url: str, tmp_path: Path) -> None:
    """The sync client in a thread of its own (the server runs on this test's loop)."""
    await asyncio.to_thread(sync_round_trip, loopback_url, tmp_path)


def sync_round_trip(loopback_url: str, tmp_path: Path) -> None:
    source = tmp_path / "report.md"
    source.write_text(REPORT)
    with Client(loopback_url, api_key=ADMIN_KEY, upload_store=False) as client:
        result = client.convert([source], format="json")
        [item] = result.items
        assert isinstance(item.document, Document)
        assert client.files.document(item.file_id, format="text").startswith("Results")
        assert client.files.content(item.file_id) == REPORT.encode()
        file = client.files.get(item.file_id)
        path = client.jobs.export(file.job_id, tmp_path / "job.zip", format="markdown")
        markdown = zipfile.ZipFile(io.BytesIO(path.read_bytes())).read("report.md.md").decode()
        assert markdown == client.files.document(item.file_id, format="markdown")
