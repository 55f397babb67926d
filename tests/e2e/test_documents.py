"""Documents end to end: a real ``ingestd serve`` (its workers in a child process) on SQLite and
on PostgreSQL, driven by the command line as a user would: ``ingestd convert report.pdf
--format markdown``, ``ingestd submit``, ``ingestd export``; and the document, the original
bytes and the export read back over HTTP."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table

from tests.e2e.cluster import fresh_database, require_postgres
from tests.e2e.conftest import ADMIN, Server

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def running(request: pytest.FixtureRequest, server: Server) -> Iterator[Server]:
    if request.param == "sqlite":
        server.start()
        yield server
        return
    require_postgres()
    with fresh_database() as dsn:
        server.extra_env["INGESTD_DATABASE_URL"] = dsn.replace(
            "postgresql://", "postgresql+asyncpg://", 1
        )
        server.start()
        yield server
        server.stop()


def ingestd(*args: str, server: Server, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INGESTD_URL": server.url, "INGESTD_KEY": ADMIN, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "ingestd", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def write_report(path: Path) -> None:
    """A PDF with a title, a heading, paragraphs and a real table."""
    styles = getSampleStyleSheet()
    story = [
        Paragraph("Quarterly report", styles["Title"]),
        Paragraph("Results", styles["Heading1"]),
        Paragraph("Sales grew in every region this quarter, led by the north.", styles["Normal"]),
        Table([["Region", "Q1", "Q2"], ["North", "10", "12"], ["South", "7", "9"]]),
        Paragraph("Outlook", styles["Heading1"]),
        Paragraph("We expect the second half to be steadier.", styles["Normal"]),
    ]
    SimpleDocTemplate(str(path), pagesize=A4).build(story)


def test_convert_a_pdf_to_markdown_and_export_a_job(running: Server, tmp_path: Path) -> None:
    report = tmp_path / "report.pdf"
    write_report(report)
    result = ingestd("convert", "report.pdf", "--format", "markdown", server=running, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    markdown = result.stdout
    assert "Quarterly report" in markdown and "Sales grew in every region" in markdown
    assert "North" in markdown and "Outlook" in markdown
    assert "#" in markdown  # the headings are headings

    out = tmp_path / "converted"
    result = ingestd(
        "convert", "report.pdf", "--format", "json", "--out", str(out), server=running, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    document = json.loads((out / "report.pdf.json").read_text())
    assert document["schema"] == "ingestd.document/1" and document["pages"][0]["number"] == 1
    assert document["pages"][0]["text_source"] == "text_layer"

    folder = running.root / "papers"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_text("# Alpha\n\nThe first paper.\n\n- one\n- two\n")
    (folder / "sub" / "b.md").write_text("# Beta\n\nThe second paper.\n")
    result = ingestd("submit", "papers", "--watch", server=running, cwd=running.root)
    assert result.returncode == 0, result.stderr
    with running.client() as http:
        [job] = [j for j in http.get("/api/v1/jobs").json()["items"] if j["name"] == "papers"]
        files = {f["path"]: f for f in http.get(f"/api/v1/jobs/{job['id']}/files").json()["items"]}
        document = http.get(f"/api/v1/files/{files['sub/b.md']['id']}/document").json()
        assert [e["text"] for e in document["elements"]] == ["Beta", "The second paper."]

    jsonl = tmp_path / "job.jsonl"
    result = ingestd("export", job["id"], "--out", str(jsonl), server=running, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert {line["path"] for line in lines} == {"a.md", "sub/b.md"}
    assert all(line["element_ids"] and line["sha256"] for line in lines)

    zipped = tmp_path / "job.zip"
    result = ingestd(
        "export", job["id"], "--format", "markdown", "--out", str(zipped),
        server=running, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    archive = zipfile.ZipFile(io.BytesIO(zipped.read_bytes()))
    assert sorted(archive.namelist()) == ["a.md.md", "sub/b.md.md"]
    assert archive.read("a.md.md").decode() == "# Alpha\n\nThe first paper.\n\n- one\n- two\n"


def test_convert_reports_a_broken_file_and_the_original_comes_back(
    running: Server, tmp_path: Path
) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "notes.txt").write_text("Plain notes.\n")
    result = ingestd("convert", "broken.pdf", "notes.txt", server=running, cwd=tmp_path)
    assert result.returncode == 1
    assert "broken.pdf" in result.stderr and "parse_error" in result.stderr
    assert "Plain notes." in result.stdout
    with running.client() as http:
        [job] = http.get("/api/v1/jobs", params={"label": "ingestd:convert"}).json()["items"]
        files = {f["name"]: f for f in http.get(f"/api/v1/jobs/{job['id']}/files").json()["items"]}
        original = http.get(f"/api/v1/files/{files['notes.txt']['id']}/content")
        assert original.content == b"Plain notes.\n"
        assert original.headers["etag"] == f'"{files["notes.txt"]["sha256"]}"'
