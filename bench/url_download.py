"""What the outbound guard costs a download: the same body from a real loopback server, fetched
(a) with plain httpx streamed to a file and hashed — the baseline — and (b) with
``ingestd.sources.url.download`` (DNS check per connection, pinned connect, manual redirects,
size accounting, hashing). Prints MB/s for both; writes bench/results/url_download.json.

    .venv/bin/python bench/url_download.py [--mb 256] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from ingestd.net.outbound import OutboundPolicy
from ingestd.sources.url import DownloadLimits, download

BLOCK = 256 * 1024


def origin(total: int) -> Any:
    block = b"x" * BLOCK

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-length", str(total).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        left = total
        while left > 0:
            part = block[: min(BLOCK, left)]
            left -= len(part)
            await send({"type": "http.response.body", "body": part, "more_body": left > 0})

    return app


async def baseline(url: str, tmp: Path) -> int:
    digest, size = hashlib.sha256(), 0
    async with httpx.AsyncClient(timeout=30) as client, client.stream("GET", url) as response:
        with open(tmp / "baseline.bin", "wb") as out:  # noqa: ASYNC230 - same as the guarded path
            async for chunk in response.aiter_raw():
                size += len(chunk)
                digest.update(chunk)
                out.write(chunk)
    return size


async def guarded(url: str, tmp: Path) -> int:
    policy = OutboundPolicy.parse(["127.0.0.1"])
    got = await download(url, tmp, policy, DownloadLimits(max_bytes=2**40))
    got.path.unlink()
    return got.size


async def main(mb: int, rounds: int) -> dict[str, Any]:
    total = mb * 1024 * 1024
    config = uvicorn.Config(origin(total), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/body"
    results: dict[str, list[float]] = {"baseline_httpx": [], "ingestd_guarded": []}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for _ in range(rounds):
            for label, fetch in (("baseline_httpx", baseline), ("ingestd_guarded", guarded)):
                started = time.perf_counter()
                assert await fetch(url, tmp) == total
                results[label].append(total / (time.perf_counter() - started) / 1e6)
    server.should_exit = True
    await task
    best = {label: round(max(values), 1) for label, values in results.items()}
    return {"body_mb": mb, "rounds": rounds, "best_mb_per_s": best}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    report = asyncio.run(main(args.mb, args.rounds))
    print(json.dumps(report, indent=2))
    out = Path(__file__).parent / "results" / "url_download.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
