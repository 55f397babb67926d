"""How long ``ingestd --help`` takes, next to two baselines measured in the same run.

- ``python``: the interpreter alone (``python -c pass``), the floor no command line goes under;
- ``eager``: importing every command's module, what ``ingestd --help`` did before the command
  table (``ingestd/cli/_app.py``) made commands load only when they run;
- ``--help``, ``jobs --help`` and ``watch --help`` as a user runs them.

Each is run ``--runs`` times, interleaved (so a change of load hits all alike); the median and
the fastest are printed, in seconds. The machine is shared: record the load average too.

    .venv/bin/python bench/cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

EAGER = (
    "import ingestd.cli.serve, ingestd.cli.blob_gc, ingestd.cli.keys, ingestd.cli.jobs, "
    "ingestd.cli.submit, ingestd.cli.watch, ingestd.cli.search, ingestd.client"
)
CASES = {
    "python": [sys.executable, "-c", "pass"],
    "eager": [sys.executable, "-c", EAGER],
    "ingestd --help": [sys.executable, "-m", "ingestd", "--help"],
    "ingestd jobs --help": [sys.executable, "-m", "ingestd", "jobs", "--help"],
    "ingestd watch --help": [sys.executable, "-m", "ingestd", "watch", "--help"],
}


def once(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    for command in CASES.values():  # warm the disk cache and .pyc files first
        once(command)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name, command in CASES.items():
            times[name].append(once(command))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; runs: {args.runs}")
    print(f"{'case':24} {'median s':>9} {'fastest s':>10}")
    for name, seconds in times.items():
        print(f"{name:24} {statistics.median(seconds):9.3f} {min(seconds):10.3f}")


if __name__ == "__main__":
    main()
