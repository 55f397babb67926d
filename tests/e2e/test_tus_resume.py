"""tus against real ``ingestd serve`` processes with the real ``tuspy`` client: a cut connection
(client killed, or server killed) resumes from the server's offset; a 1 GB upload keeps the
server's memory flat."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed

from tests.e2e.conftest import ADMIN, Server

pytestmark = pytest.mark.slow

CLIENT = """
import sys
from tusclient import client
endpoint, path, job_id, url = sys.argv[1:5]
tus = client.TusClient(endpoint, headers={"Authorization": "Bearer %s" % sys.argv[5]})
uploader = tus.uploader(
    path, chunk_size=1024 * 1024, metadata={"job_id": job_id, "filename": "big.bin"},
    url=url or None, upload_checksum=True,
)
while uploader.offset < uploader.get_file_size():
    uploader.upload_chunk()
    print(uploader.url, uploader.offset, flush=True)
"""


def source_file(folder: Path, size: int) -> Path:
    path = folder / "big.bin"
    block = hashlib.sha256(b"seed").digest() * (1024 * 1024 // 32)
    with path.open("wb") as out:
        for i in range(size // len(block)):
            out.write(i.to_bytes(8, "big") + block[8:])
    return path


def upload_job(server: Server) -> str:
    with server.client() as http:
        response = http.post(
            "/api/v1/jobs",
            json={
                "sources": [{"type": "upload"}],
                "pipeline": "store",
                "options": {"max_file_size": 2 * 1024**3},
            },
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


def stored_sha256(server: Server, job_id: str) -> str:
    with server.client() as http:
        files = http.get(f"/api/v1/jobs/{job_id}/files").json()["items"]
    assert len(files) == 1, files
    sha = files[0]["sha256"]
    blob = server.data_dir / "blobs" / sha[:2] / sha[2:4] / sha
    digest = hashlib.sha256()
    with blob.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_client(server: Server, path: Path, job_id: str, url: str = "") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            CLIENT,
            f"{server.url}/api/v1/uploads",
            str(path),
            job_id,
            url,
            ADMIN,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_killed_client_resumes_from_the_server_offset(server: Server, tmp_path: Path) -> None:
    server.start()
    path = source_file(tmp_path, 48 * 1024 * 1024)
    job_id = upload_job(server)
    first = run_client(server, path, job_id)
    assert first.stdout is not None
    url, offset = "", 0
    for line in first.stdout:
        url, raw = line.split()
        offset = int(raw)
        if offset >= 10 * 1024 * 1024:
            first.kill()  # the connection is cut mid-upload
            break
    first.wait(10)
    first.stdout.close()
    assert url and 0 < offset < path.stat().st_size

    with server.client() as http:
        head = http.head(url, headers={"Tus-Resumable": "1.0.0"})
    assert int(head.headers["upload-offset"]) >= offset

    second = run_client(server, path, job_id, url)
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out
    assert out.splitlines()[-1].split()[1] == str(path.stat().st_size)
    assert stored_sha256(server, job_id) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_killed_server_resumes_after_restart(server: Server, tmp_path: Path) -> None:
    server.start()
    path = source_file(tmp_path, 48 * 1024 * 1024)
    job_id = upload_job(server)
    client = tus_client.TusClient(
        f"{server.url}/api/v1/uploads", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    metadata = {"job_id": job_id, "filename": "big.bin"}
    with path.open("rb") as stream:
        uploader = client.uploader(file_stream=stream, chunk_size=1024 * 1024, metadata=metadata)
        with pytest.raises((TusCommunicationError, TusUploadFailed, OSError)):
            while uploader.offset < path.stat().st_size:
                uploader.upload_chunk()
                if uploader.offset >= 12 * 1024 * 1024:
                    server.kill_hard()  # mid-upload: the next chunk finds no server
        url = uploader.url
        assert url
        server.start()
        resumed = client.uploader(file_stream=stream, chunk_size=4 * 1024 * 1024, url=url)
        assert 12 * 1024 * 1024 <= resumed.offset < path.stat().st_size
        resumed.upload()
    assert stored_sha256(server, job_id) == hashlib.sha256(path.read_bytes()).hexdigest()


def _rss_sampler(pid: int, stop: threading.Event, peak: list[int]) -> None:
    process = psutil.Process(pid)
    while not stop.is_set():
        peak[0] = max(peak[0], process.memory_info().rss)
        time.sleep(0.02)


def _generated(total: int, block: int = 1024 * 1024) -> Iterator[bytes]:
    chunk = os.urandom(block)
    sent = 0
    while sent < total:
        piece = chunk[: min(block, total - sent)]
        sent += len(piece)
        yield piece


def test_one_gigabyte_upload_keeps_server_memory_flat(server: Server) -> None:
    size = 1_000_000_000
    server.start()
    job_id = upload_job(server)
    assert server.process is not None
    baseline = psutil.Process(server.process.pid).memory_info().rss
    peak = [baseline]
    stop = threading.Event()
    sampler = threading.Thread(target=_rss_sampler, args=(server.process.pid, stop, peak))
    sampler.start()
    started = time.monotonic()
    try:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=120
        ) as http:
            created = http.post(
                "/api/v1/uploads",
                headers={
                    "Tus-Resumable": "1.0.0",
                    "Upload-Length": str(size),
                    "Upload-Metadata": "job_id " + _b64(job_id) + ",filename " + _b64("big.bin"),
                },
            )
            assert created.status_code == 201, created.text
            response = http.patch(
                created.headers["location"],
                content=_generated(size),
                headers={
                    "Tus-Resumable": "1.0.0",
                    "Upload-Offset": "0",
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            assert response.status_code == 204, response.text
            assert response.headers["upload-offset"] == str(size)
    finally:
        stop.set()
        sampler.join()
    elapsed = time.monotonic() - started
    growth = peak[0] - baseline
    assert growth < 150 * 1024 * 1024, f"server RSS grew {growth / 2**20:.0f} MB"
    assert elapsed < 30, f"1 GB took {elapsed:.1f}s"


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def test_the_sdk_uploads_by_tus_with_metadata(server: Server, tmp_path: Path) -> None:
    from ingestd.client import Client, UploadProgress

    server.start()
    path = source_file(tmp_path, 3 * 1024 * 1024)
    (tmp_path / "sub").mkdir()
    path = path.rename(tmp_path / "sub" / "big.bin")
    job_id = upload_job(server)
    seen: list[UploadProgress] = []
    with Client(
        server.url, api_key=ADMIN, upload_store=False, tus_threshold=1, tus_chunk_size=2**20
    ) as client:
        report = client.jobs.upload(job_id, [tmp_path / "sub"], on_upload=seen.append)
    assert report.files_sent == 1 and seen[-1].bytes_sent == path.stat().st_size
    with server.client() as http:
        item = http.get(f"/api/v1/jobs/{job_id}/files").json()["items"][0]
    assert item["metadata"]["relative_path"] == "big.bin" and "upload_id" in item["metadata"]
    assert stored_sha256(server, job_id) == hashlib.sha256(path.read_bytes()).hexdigest()
