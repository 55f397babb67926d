"""Upload a folder as one job, show progress, wait, list the failures and retry them.

    .venv/bin/python docs/examples/upload_folder.py FOLDER             # the sync client
    .venv/bin/python docs/examples/upload_folder.py FOLDER --async     # the async one

The server and key come from INGESTD_URL and INGESTD_KEY. Interrupted (Ctrl-C, a crash, a
kill -9)? Run the same command again: the idempotency key gives back the same job, files it
already has are not sent again, and a large file continues from where its upload stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
from pathlib import Path

from ingestd.client import (
    AsyncClient,
    Client,
    Job,
    Progress,
    UploadProgress,
    UploadSummary,
)

MB = 1024 * 1024


def show_upload(progress: UploadProgress) -> None:
    if progress.resumed_from:
        print(f"resumed {progress.file} from byte {progress.resumed_from:,}", flush=True)
    print(
        f"upload: {progress.files_sent}/{progress.files_total} files, "
        f"{progress.bytes_sent / MB:.1f}/{progress.bytes_total / MB:.1f} MB "
        f"at {progress.bytes_per_s / MB:.1f} MB/s ({progress.file or ''})",
        flush=True,
    )


def show_progress(progress: Progress) -> None:
    eta = "…" if progress.eta_seconds is None else f"{progress.eta_seconds:.0f} s"
    print(
        f"{progress.status}: {progress.files.done}/{progress.files.total} files "
        f"({progress.files_percent:.1f}%), ETA {eta}",
        flush=True,
    )


def report(summary: UploadSummary) -> None:
    print(
        f"job {summary.job_id} {summary.status}: {summary.processed} processed, "
        f"{summary.skipped} skipped, {len(summary.failed)} failed",
        flush=True,
    )
    for failure in summary.failed:
        print(f"failed: {failure.path}: {failure.code}: {failure.message}", flush=True)
    for rejected in summary.rejected:
        print(f"not sent: {rejected.path}: {rejected.message}", flush=True)


def after_retry(job: Job) -> None:
    files = job.progress.files
    print(f"after retry: {job.status}, {files.failed} still failed", flush=True)


def run(folder: str, key: str, chunk_mb: int, max_mb: int) -> None:
    with Client(tus_threshold=chunk_mb * MB, tus_chunk_size=chunk_mb * MB) as client:
        summary = client.upload_and_wait(
            folder,
            idempotency_key=key,
            pipeline="extract",
            max_file_size=max_mb * MB,
            on_upload=show_upload,
            on_progress=show_progress,
        )
        report(summary)
        if summary.failed:
            client.jobs.retry(summary.job_id)
            after_retry(client.jobs.wait(summary.job_id, on_progress=show_progress))


async def run_async(folder: str, key: str, chunk_mb: int, max_mb: int) -> None:
    async with AsyncClient(tus_threshold=chunk_mb * MB, tus_chunk_size=chunk_mb * MB) as client:
        summary = await client.upload_and_wait(
            folder,
            idempotency_key=key,
            pipeline="extract",
            max_file_size=max_mb * MB,
            on_upload=show_upload,
            on_progress=show_progress,
        )
        report(summary)
        if summary.failed:
            await client.jobs.retry(summary.job_id)
            after_retry(await client.jobs.wait(summary.job_id, on_progress=show_progress))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--key", default=None, help="idempotency key [default: from the folder]")
    parser.add_argument("--chunk-mb", type=int, default=32, help="resumable upload chunk size")
    parser.add_argument("--max-mb", type=int, default=1024, help="larger files are not sent")
    parser.add_argument("--async", dest="use_async", action="store_true")
    args = parser.parse_args()
    # The same folder gives the same key, so a second run continues the first one's job.
    key = (
        args.key
        or "upload-" + hashlib.sha256(str(Path(args.folder).resolve()).encode()).hexdigest()[:24]
    )
    if args.use_async:
        asyncio.run(run_async(args.folder, key, args.chunk_mb, args.max_mb))
    else:
        run(args.folder, key, args.chunk_mb, args.max_mb)


if __name__ == "__main__":
    main()
