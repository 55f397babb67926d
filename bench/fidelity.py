"""Extraction fidelity on the generated corpus, per kind, for ingestd and (optionally) peers.

    .venv/bin/python bench/fidelity.py [--count 3] [--seeds 2]
    .venv/bin/python bench/fidelity.py --peers /tmp/peers-venv/bin/python

Prints, per kind and tool: body fidelity, boilerplate leakage, table rows on their own line with
the right labels, reading order, and files/s. Peers (markitdown, unstructured, docling) run in
their own virtualenv (never the project's), through ``bench/fidelity/peers.py``; their text is
scored by the same scorer. Targets (issue 14): body >= 0.99, leakage <= 0.05, table rows 1.0,
order 1.0, files/s >= 3x the fastest peer.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fidelity.corpus import KINDS, generate  # noqa: E402
from fidelity.score import score  # noqa: E402
from fidelity.truth import Truth  # noqa: E402

from ingestd.pipeline.detect import detect_mime_type  # noqa: E402
from ingestd.pipeline.extractors import extract_document  # noqa: E402

TARGETS = {"body": 0.99, "leakage": 0.05, "table_rows": 1.0, "order": 1.0}


def ingestd_texts(truths: list[Truth], repeat: int) -> tuple[dict[str, str], float]:
    texts: dict[str, str] = {}
    started = time.perf_counter()
    for _ in range(repeat):
        for truth in truths:
            head = truth.path.read_bytes()[:8192]
            document = extract_document(truth.path, detect_mime_type(head, truth.path.name))
            texts[str(truth.path)] = document.text()
    elapsed = time.perf_counter() - started
    return texts, len(truths) * repeat / elapsed


def peer_texts(python: str, truths: list[Truth], out: Path) -> dict[str, Any]:
    files = [str(t.path) for t in truths]
    result = out / "peers.json"
    subprocess.run(
        [python, str(ROOT / "bench" / "fidelity" / "peers.py"), str(result), *files], check=True
    )
    loaded: dict[str, Any] = json.loads(result.read_text())
    return loaded


def summarise(texts: dict[str, str], truths: list[Truth]) -> dict[str, float | None]:
    scores = [score(texts.get(str(t.path), ""), t) for t in truths]
    out: dict[str, float | None] = {}
    for key in TARGETS:
        values = [s[key] for s in scores if s[key] is not None]
        out[key] = mean(values) if values else None
    return out


def fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3, help="documents per kind and seed")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="ingestd timing repeats")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--peers", help="python of a venv with markitdown/unstructured/docling")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--second", action="store_true", help="the second corpus (bench/fidelity/second.py)"
    )
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        make = generate
        kinds = args.kinds.split(",")
        if args.second:
            from fidelity.second import KINDS as SECOND_KINDS
            from fidelity.second import generate as make

            kinds = [k for k in kinds if k in SECOND_KINDS]
        for kind in kinds:
            truths = [t for s in range(args.seeds) for t in make(kind, directory, s, args.count)]
            texts, rate = ingestd_texts(truths, args.repeat)
            rows = {"ingestd": {**summarise(texts, truths), "files_per_s": rate}}
            if args.peers:
                for tool, data in peer_texts(args.peers, truths, directory).items():
                    if data.get("error"):
                        rows[tool] = {"error": data["error"]}
                        continue
                    rows[tool] = {**summarise(data["texts"], truths), "files_per_s": data["rate"]}
            results[kind] = rows
            print(f"\n{kind.upper()}  ({len(truths)} files)")
            print(f"{'tool':14} {'body':>6} {'leak':>6} {'rows':>6} {'order':>6} {'files/s':>9}")
            for tool, row in rows.items():
                if "error" in row:
                    print(f"{tool:14} error: {row['error'][:80]}")
                    continue
                print(
                    f"{tool:14} {fmt(row['body'])} {fmt(row['leakage'])} {fmt(row['table_rows'])}"
                    f" {fmt(row['order'])} {row['files_per_s']:9.1f}"
                )
            peers = [
                r["files_per_s"] for t, r in rows.items() if t != "ingestd" and "error" not in r
            ]
            if peers:
                print(
                    f"ingestd speed vs fastest peer: {rows['ingestd']['files_per_s'] / max(peers):.1f}x"
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
