"""The client side of tus for ``ingestd submit``: large files go up in resumable chunks.

It uses ``tuspy`` (the tus project's Python client) rather than a home-made one. A failed chunk
is retried from the server's offset, so a flaky link costs one chunk, not the whole file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

TUS_THRESHOLD = 64 * 1024 * 1024  # files from this size on go by tus
TUS_CHUNK = 32 * 1024 * 1024


def tus_upload(
    base_url: str,
    authorization: str | None,
    path: Path,
    *,
    job_id: str,
    metadata: dict[str, str],
    on_progress: Callable[[int], None] = lambda _n: None,
    chunk_size: int = TUS_CHUNK,
    retries: int = 5,
) -> str:
    """Upload ``path`` to the job; return the upload's URL. ``on_progress`` gets byte deltas."""
    from tusclient import client as tus_client

    headers = {"Authorization": authorization} if authorization else {}
    tus = tus_client.TusClient(f"{base_url.rstrip('/')}/api/v1/uploads", headers=headers)
    size = path.stat().st_size
    with path.open("rb") as stream:
        uploader = tus.uploader(
            file_stream=stream,
            chunk_size=chunk_size,
            metadata={"job_id": job_id, "filename": path.name, **metadata},
            retries=retries,
            retry_delay=1,
        )
        done = 0
        while uploader.offset < size:
            uploader.upload_chunk()  # type: ignore[no-untyped-call]
            on_progress(uploader.offset - done)
            done = uploader.offset
        return str(uploader.url)
