"""Issue #16's "done when", against a real ``ingestd serve``: the example script of docs/sdk.md
uploads a folder of 200 files, one of them large; it is killed (SIGKILL) halfway through the
large one; run again, it continues the same job, resumes the large file from the stored offset,
shows progress, waits, lists the failures with their reasons and retries them. Sync and async.
And the old one-liners still work."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingestd.client import Client
from tests.e2e.conftest import ADMIN, Server

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).parents[2] / "docs" / "examples" / "upload_folder.py"
MB = 1024 * 1024
BIG = 30 * MB
STALL_AFTER = 10  # chunks of 1 MB: the first run is killed with 10 MB of big.bin sent

# Loaded before the script by the first run only: after STALL_AFTER chunks of a resumable upload
# the uploader stops and says so, and the test kills the process there (no race with a timer).
STALL = """
import asyncio, os
from ingestd.client import _tus

_real = _tus.TusUpload._patch
_sent = 0

async def _patch(self, *args, **kwargs):
    global _sent
    _sent += 1
    if _sent > int(os.environ["STALL_AFTER_CHUNKS"]):
        print("STALLED", flush=True)
        await asyncio.sleep(3600)
    return await _real(self, *args, **kwargs)

_tus.TusUpload._patch = _patch
"""


def folder_of_200(root: Path) -> Path:
    folder = root / "reports"
    (folder / "2024").mkdir(parents=True)
    for i in range(197):
        sub = folder / "2024" if i % 2 else folder
        (sub / f"note-{i:03d}.md").write_text(f"# Note {i}\n\nWhat happened on day {i}. " * 20)
    for name in ("bad-1.pdf", "bad-2.pdf"):
        (folder / name).write_bytes(b"%PDF-1.4 this is not really a PDF")
    block = hashlib.sha256(b"seed").digest() * (MB // 32)
    with (folder / "big.bin").open("wb") as out:
        for i in range(BIG // MB):
            out.write(i.to_bytes(8, "big") + block[8:])
    return folder


def run_script(
    folder: Path, env: dict[str, str], variant: list[str], *, stall: bool
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(folder), "--chunk-mb", "1", *variant],
        env=env if not stall else {**env, "PYTHONPATH": env["STALL_DIR"]},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def until_stalled(process: subprocess.Popen[str], seconds: float = 300) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    for line in process.stdout:
        lines.append(line)
        if line.startswith("STALLED") or time.monotonic() > deadline:
            break
    return lines


@pytest.mark.parametrize("variant", [[], ["--async"]], ids=["sync", "async"])
def test_the_example_script_resumes_reports_and_retries(
    server: Server, tmp_path: Path, variant: list[str]
) -> None:
    folder = folder_of_200(tmp_path)
    stall_dir = tmp_path / "stall"
    stall_dir.mkdir()
    (stall_dir / "sitecustomize.py").write_text(STALL)
    store = tmp_path / "uploads.json"
    env = {
        **os.environ,
        "INGESTD_URL": server.url,
        "INGESTD_KEY": ADMIN,
        "INGESTD_UPLOAD_STORE": str(store),
        "STALL_AFTER_CHUNKS": str(STALL_AFTER),
        "STALL_DIR": str(stall_dir),
    }
    server.start()

    first = run_script(folder, env, variant, stall=True)
    shown = until_stalled(first)
    first.kill()  # SIGKILL, halfway through big.bin
    first.wait(30)
    assert first.stdout is not None
    first.stdout.close()
    assert shown and shown[-1].startswith("STALLED"), "".join(shown)
    assert any(line.startswith("upload: 199/200 files") for line in shown), "".join(shown)
    assert store.read_text().count("/api/v1/uploads/") == 1

    second = run_script(folder, env, variant, stall=False)
    output, _ = second.communicate(timeout=600)
    assert second.returncode == 0, output
    assert f"resumed big.bin from byte {STALL_AFTER * MB:,}" in output, output
    assert "upload: 0/1 files" in output  # the 199 others were not sent again
    assert "ETA" in output and "(100.0%)" in output
    assert "failed: big.bin: unsupported_type:" in output
    assert "failed: bad-1.pdf: parse_error:" in output and "failed: bad-2.pdf" in output
    assert "197 processed" in output and "after retry: failed, 3 still failed" in output
    assert store.read_text().count("/api/v1/uploads/") == 0

    with Client(server.url, api_key=ADMIN, upload_store=False) as client:
        [job] = list(client.jobs.list())
        files = list(client.jobs.files(job.id))
    assert len(files) == 200  # one job, no file twice
    big = next(f for f in files if f.relative_path == "big.bin")
    assert big.size == BIG
    expected = hashlib.sha256((folder / "big.bin").read_bytes()).hexdigest()
    assert big.sha256 == expected


ONE_LINERS = """
import sys
from ingestd.client import Client, SimpleClient

folder, url, key = sys.argv[1:4]
summary = SimpleClient(url, key, upload_store=False).upload_files([folder], wait_for_completion=True)
print("simple", summary.job_id, summary.processed, [f.code for f in summary.failed])
with Client(url, api_key=key, upload_store=False) as client:
    done = client.upload_and_wait(folder, progress_callback=lambda p: None, chunk_size=500)
print("upload_and_wait", done.status, done.processed, done.job.options["chunk_size"])
"""


def test_the_old_one_liners_still_work(server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "few"
    folder.mkdir()
    for i in range(3):
        (folder / f"n{i}.md").write_text(f"# {i}\n\nbody {i}")
    (folder / "x.pdf").write_bytes(b"%PDF-1.4 nope")
    server.start()
    result = subprocess.run(
        [sys.executable, "-c", ONE_LINERS, str(folder), server.url, ADMIN],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("simple job_") and lines[0].endswith("3 ['parse_error']")
    # (the notes were ingested by the first job: skipped, or processed again for their new
    # chunk size once duplicates are keyed by what shapes the output)
    assert lines[1].startswith("upload_and_wait failed ") and lines[1].endswith(" 500")
