"""Blob-store throughput: the local directory (the baseline) against the S3 adapter.

    .venv/bin/python bench/blob_store.py [--mib 64] [--rounds 3]

Measures, in one run and for a file of ``--mib`` MiB:
- ``write_chunks`` (stream in while hashing, then commit): local rename vs S3 multipart upload;
- ``adopt`` of an already hashed staging file (what multipart and tus uploads do);
- ``fetch`` into a local file (what a worker does for a remote blob; local workers skip it and
  open the blob in place, so the local row is only a reference);
- a plain ``shutil.copyfile`` of the same file: the disk's own speed on this machine.

S3 runs against moto's ThreadedMotoServer in this process (an emulator, in memory, in Python):
its numbers are a floor for the adapter's overhead, not a prediction of real S3 or MinIO.
Prints a table and writes bench/results/blob_store.json (the best of ``--rounds``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingestd.blobs.base import BlobStore  # noqa: E402
from ingestd.blobs.local import LocalBlobStore  # noqa: E402
from ingestd.blobs.s3 import S3BlobStore, S3Config  # noqa: E402

CHUNK = 1024 * 1024


def chunks(total: int, seed: int) -> Iterator[bytes]:
    block = hashlib.sha256(str(seed).encode()).digest() * (CHUNK // 32)
    for n in range(0, total, CHUNK):
        yield (n.to_bytes(8, "big") + block[8:])[: min(CHUNK, total - n)]


def best(rounds: int, run: Callable[[int], None]) -> float:
    """The shortest of ``rounds`` timed runs, seconds (each round gets distinct bytes)."""
    times = []
    for i in range(rounds):
        started = time.perf_counter()
        run(i)
        times.append(time.perf_counter() - started)
    return min(times)


def measure(store: BlobStore, size: int, rounds: int, seed: int) -> dict[str, float]:
    mib = size / CHUNK
    write = best(rounds, lambda i: store.write_chunks(chunks(size, seed + i)))

    def adopt(i: int) -> None:
        tmp = store.tmp_dir() / "bench.part"
        digest = hashlib.sha256()
        with open(tmp, "wb") as out:
            for chunk in chunks(size, seed + 100 + i):
                digest.update(chunk)
                out.write(chunk)
        started = time.perf_counter()
        store.adopt(tmp, digest.hexdigest(), size)
        adopt_times.append(time.perf_counter() - started)

    adopt_times: list[float] = []
    best(rounds, adopt)
    key = store.write_chunks(chunks(size, seed + 1000)).key
    target = store.tmp_dir() / "bench.fetch"

    def fetch(_i: int) -> None:
        with open(target, "wb") as out:
            store.fetch(key, out)

    fetched = best(rounds, fetch)
    target.unlink()
    return {
        "write_chunks_mib_s": round(mib / write, 1),
        "adopt_mib_s": round(mib / min(adopt_times), 1),
        "fetch_mib_s": round(mib / fetched, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = args.mib * CHUNK
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
            Bucket="bench"
        )
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            source = work / "source.bin"
            with open(source, "wb") as out:
                for chunk in chunks(size, 7):
                    out.write(chunk)
            copied = best(args.rounds, lambda i: shutil.copyfile(source, work / f"copy{i}"))
            results: dict[str, Any] = {
                "baseline_copyfile_mib_s": round(args.mib / copied, 1),
                "local": measure(LocalBlobStore(work / "local"), size, args.rounds, 0),
                "s3_moto": measure(
                    S3BlobStore("bench", "b/", S3Config(endpoint_url=endpoint), work / "stage"),
                    size,
                    args.rounds,
                    10_000,
                ),
            }
    finally:
        server.stop()
    results["file_mib"] = args.mib
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    print(f"{'store':10} {'write_chunks':>14} {'adopt':>12} {'fetch':>12}   (MiB/s)")
    for name in ("local", "s3_moto"):
        row = results[name]
        print(
            f"{name:10} {row['write_chunks_mib_s']:>14} {row['adopt_mib_s']:>12} "
            f"{row['fetch_mib_s']:>12}"
        )
    print(f"baseline: shutil.copyfile {results['baseline_copyfile_mib_s']} MiB/s")
    out = ROOT / "bench" / "results" / "blob_store.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
