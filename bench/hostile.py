"""Peak memory and time of a parser on each file of the hostile corpus (tests/integration).

    .venv/bin/python bench/hostile.py [--memory-mb 1024] [--time-limit 60]

Each file runs alone in a fresh process under the same limits as a pool parser (address-space
cap, niceness): inspect (detect + streamed sha256), then parse + chunk. The process reports its
own peak RSS, so one file's bytes never count against another. A clean 1 MB Markdown file is
the baseline, measured in the same run. Prints a table and writes bench/results/hostile.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing


def measure_one(path: str, memory_mb: int) -> dict[str, Any]:
    """In the child: what a worker does with this file, timed, under the parser's limits."""
    from ingestd.domain.errors import FileError
    from ingestd.pipeline import stages
    from ingestd.pipeline.pool import _prepare_process

    _prepare_process(memory_mb)
    result: dict[str, Any] = {"outcome": "completed"}
    started = time.perf_counter()
    try:
        inspection = stages.inspect_file(
            path, Path(path).name, max_file_size=None, allowed_types=[], needs_extractor=True
        )
        result["inspect_s"] = round(time.perf_counter() - started, 3)
        parsed = stages.parse_and_chunk(path, inspection.mime_type, 1000, 200)
        result["chunks"] = len(parsed.chunks)
    except FileError as error:
        result["outcome"] = error.code
    except MemoryError:
        result["outcome"] = "memory_limit"
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def peak_rss_mb() -> float:
    """This process's peak resident memory. Not ru_maxrss: Linux carries that over from the
    parent across fork+exec, so every child would report the bench's own peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_isolated(path: Path, memory_mb: int, time_limit: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "--one", str(path), "--memory-mb", str(memory_mb)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=time_limit)
    except subprocess.TimeoutExpired:
        return {"outcome": "timeout", "seconds": round(time.perf_counter() - started, 3)}
    if done.returncode != 0:
        return {"outcome": f"crashed ({done.returncode})", "stderr": done.stderr[-500:]}
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one")
    parser.add_argument("--memory-mb", type=int, default=1024)  # as in the hostile corpus test
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, args.memory_mb)))
        return

    from tests.integration.hostile_corpus import corpus, streamed

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        baseline = folder / "baseline.md"
        baseline.write_text(("# Title\n\n" + "A clean paragraph of prose. " * 40 + "\n\n") * 900)
        files: list[Path] = [baseline]
        for name, data, _ in corpus():
            (folder / name).write_bytes(data)
            files.append(folder / name)
        for name, write, _ in streamed():
            write(folder / name)
            files.append(folder / name)
        for path in files:
            result = run_isolated(path, args.memory_mb, args.time_limit)
            result["size_mb"] = round(path.stat().st_size / 1e6, 1)
            path.unlink()  # don't keep 500 MB on disk longer than needed
            results[path.name] = result
            print(
                f"{path.name:20} {result['size_mb']:8.1f} MB  {result.get('seconds', 0):7.2f} s  "
                f"peak {result.get('peak_rss_mb', 0):7.1f} MB  {result['outcome']}",
                flush=True,
            )
    hostile = {k: v for k, v in results.items() if k != "baseline.md"}
    worst_time = max(hostile, key=lambda k: hostile[k].get("seconds", 0))
    worst_memory = max(hostile, key=lambda k: hostile[k].get("peak_rss_mb", 0))
    summary = {
        "worst_seconds": {"file": worst_time, **hostile[worst_time]},
        "worst_peak_rss_mb": {"file": worst_memory, **hostile[worst_memory]},
    }
    print(f"worst time:   {worst_time} {hostile[worst_time].get('seconds')} s")
    print(f"worst memory: {worst_memory} {hostile[worst_memory].get('peak_rss_mb')} MB")
    out = ROOT / "bench" / "results" / "hostile.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "python": platform.python_version(),
                "memory_mb": args.memory_mb,
                "time_limit_s": args.time_limit,
                "baseline": results["baseline.md"],
                "files": hostile,
                "summary": summary,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
