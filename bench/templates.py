"""Templates (issue #17): suggestion accuracy, matching speed, records throughput and memory,
and the answer time of every template operation with 1,000 templates and a 100,000-row workbook.

    .venv/bin/python bench/templates.py [--rows 100000] [--templates 1000] [--skip-api]

Measures, in one run, each against a baseline measured in the same run:

1. **Suggestions, top-1 accuracy** on the labelled layouts of ``bench/templates_labelled.py``:
   the development set (used to settle the synonyms and weights) and the held-out set (never
   used to tune). Baseline: name similarity alone. Target: top-1 >= 0.8 (cold, no history).
2. **Matching** a file's tables (5) against 1,000 templates: the index built from the store's
   rows, then ranked; p50/p95 over 200 files. Baseline: one exact fingerprint lookup in a dict.
   Target: < 50 ms per file.
3. **Records** for a mapped CSV (8 columns: ids, dates with a format, decimals with a decimal
   comma, integers, text, booleans): rows per CPU-second of the pool step (read, map, validate,
   write JSONL). Baseline: ``csv.reader`` alone over the same file. Target: >= 50,000 rows/s per
   core. **Memory**: tracemalloc peak at a tenth of the rows and at all of them (flat = about
   the same).
4. **Operations**: the API in process (SQLite), 1,000 templates, and a workbook of ``--rows``
   rows processed by a templates job into records; each operation's answer time (best of 3).
   Baseline: ``GET /health``. Target: every one < 1 s.

Prints a table and writes bench/results/templates.json.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from templates_labelled import HELD_OUT, LAYOUTS, SCHEMAS  # noqa: E402

from ingestd.pipeline import tabular  # noqa: E402
from ingestd.services.template_views import embedder_texts  # noqa: E402
from ingestd.templates.match import TemplateIndex  # noqa: E402
from ingestd.templates.names import name_similarity  # noqa: E402
from ingestd.templates.signature import infer_column, infer_signature  # noqa: E402
from ingestd.templates.suggest import suggest  # noqa: E402

VOCABULARY = [
    "id",
    "name",
    "date",
    "amount",
    "total",
    "net",
    "tax",
    "price",
    "quantity",
    "qty",
    "sku",
    "customer",
    "supplier",
    "email",
    "phone",
    "country",
    "city",
    "street",
    "postcode",
    "region",
    "status",
    "type",
    "category",
    "description",
    "reference",
    "code",
    "balance",
    "currency",
    "discount",
    "order",
    "invoice",
    "due",
    "booking",
    "value",
    "product",
    "warehouse",
    "department",
    "salary",
    "hire",
    "active",
    "start",
    "end",
    "created",
    "updated",
    "owner",
    "manager",
    "account",
    "iban",
    "bic",
    "vat",
    "note",
]


# -- 1. suggestions -------------------------------------------------------------------------


def top1(layouts: list[Any], *, embed: Any, name_only: bool = False) -> tuple[float, int]:
    hits = total = 0
    for schema, cols in layouts:
        fields = SCHEMAS[schema]
        columns = [infer_column(n, s).to_dict() for n, s, _ in cols]
        if name_only:
            for (name, _samples, label), _c in zip(cols, columns, strict=True):
                best = max(fields, key=lambda f: name_similarity(name, f["name"]))
                hits += best["name"] == label
                total += 1
            continue
        out = suggest(columns, fields, embed=embed)
        for (_n, _s, label), o in zip(cols, out, strict=True):
            hits += o["suggestions"][0]["field"] == label
            total += 1
    return round(hits / total, 3), total


def bench_suggestions() -> dict[str, Any]:
    embed = embedder_texts(None)
    dev, n_dev = top1(LAYOUTS, embed=embed)
    held, n_held = top1(HELD_OUT, embed=embed)
    base_dev, _ = top1(LAYOUTS, embed=None, name_only=True)
    base_held, _ = top1(HELD_OUT, embed=None, name_only=True)
    started = time.perf_counter()
    top1(LAYOUTS + HELD_OUT, embed=embed)
    per_table_ms = (time.perf_counter() - started) * 1000 / (len(LAYOUTS) + len(HELD_OUT))
    return {
        "top1_dev": dev,
        "columns_dev": n_dev,
        "top1_held_out": held,
        "columns_held_out": n_held,
        "baseline_name_only_dev": base_dev,
        "baseline_name_only_held_out": base_held,
        "ms_per_table": round(per_table_ms, 2),
        "target": ">= 0.8",
    }


# -- 2. matching ----------------------------------------------------------------------------


def random_layout(rng: random.Random) -> list[dict[str, str]]:
    width = rng.randint(4, 12)
    names = rng.sample(VOCABULARY, width)
    return [
        {"name": f"{n} {rng.choice(['', 'no', 'date', 'amt', 'name'])}".strip(), "type": "text"}
        for n in names
    ]


def bench_matching(templates: int) -> dict[str, Any]:
    rng = random.Random(17)
    layouts = [random_layout(rng) for _ in range(templates)]
    rows = [(f"tpl_{i:05d}", 1, "approved", cols) for i, cols in enumerate(layouts)]
    files = []
    for _ in range(200):
        tables = []
        for _ in range(5):
            base = [dict(c) for c in rng.choice(layouts)]
            rng.shuffle(base)
            if rng.random() < 0.5:
                base = [*base[:-1], {"name": "extra column", "type": "text"}]
            tables.append(infer_signature([c["name"] for c in base], []))
        files.append(tables)
    per_file: list[float] = []
    build: list[float] = []
    for _ in range(10):  # the worker builds it once per tenant and change (worker/templates.py)
        started = time.perf_counter()
        index = TemplateIndex.from_rows(rows)
        build.append((time.perf_counter() - started) * 1000)
    for tables in files:
        started = time.perf_counter()
        for sig in tables:
            index.best(sig)
        per_file.append((time.perf_counter() - started) * 1000)
    fingerprints = {
        infer_signature([c["name"] for c in cols], []).fingerprint: i
        for i, cols in enumerate(layouts)
    }
    started = time.perf_counter()
    for tables in files:
        for sig in tables:
            fingerprints.get(sig.fingerprint)
    baseline = (time.perf_counter() - started) * 1000 / len(files)
    per_file.sort()
    return {
        "templates": templates,
        "tables_per_file": 5,
        "p50_ms": round(statistics.median(per_file), 2),
        "p95_ms": round(per_file[int(0.95 * len(per_file))], 2),
        "index_build_p50_ms": round(statistics.median(build), 2),
        "baseline_fingerprint_lookup_ms": round(baseline, 4),
        "target": "< 50 ms",
    }


# -- 3. records -----------------------------------------------------------------------------

CSV_HEADER = ["Order", "Date", "Customer", "Qty", "Price", "Total", "Paid", "Note"]
CSV_SCHEMA = {
    "fields": [
        {"name": "order", "type": "string", "required": True},
        {"name": "date", "type": "date", "format": "%d.%m.%Y", "required": True},
        {"name": "customer", "type": "string"},
        {"name": "quantity", "type": "integer"},
        {"name": "price", "type": "decimal"},
        {"name": "total", "type": "decimal"},
        {"name": "paid", "type": "boolean"},
        {"name": "note", "type": "string"},
    ]
}
CSV_MAPPING = {
    "Order": {"field": "order"},
    "Date": {"field": "date"},
    "Customer": {"field": "customer", "transform": {"type": "trim"}},
    "Qty": {"field": "quantity"},
    "Price": {"field": "price"},
    "Total": {"field": "total"},
    "Paid": {
        "field": "paid",
        "transform": {"type": "value_map", "map": {"ja": True, "nein": False}},
    },
    "Note": {"field": "note", "transform": {"type": "default", "value": "-"}},
}


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(5)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(CSV_HEADER)
        for i in range(rows):
            qty = rng.randint(1, 50)
            price = rng.randint(100, 99999) / 100
            writer.writerow(
                [
                    f"SO-{i}",
                    f"{1 + i % 28:02d}.{1 + i % 12:02d}.2024",
                    f"Customer {i % 997}",
                    qty,
                    f"{price:.2f}".replace(".", ","),
                    f"{qty * price:,.2f}".replace(",", " ").replace(".", ",").replace(" ", "."),
                    "ja" if i % 3 else "nein",
                    "" if i % 5 else "rush",
                ]
            )


def apply_once(path: Path, out_dir: str) -> dict[str, Any]:
    [table] = tabular.table_signatures(str(path), "text/csv", path.name)
    marks = {
        c["name"]: c["profile"].get("decimal_mark", ".") for c in table["signature"]["columns"]
    }
    plan = {"index": 0, "target_schema": CSV_SCHEMA, "mapping": CSV_MAPPING, "decimal_marks": marks}
    [result] = tabular.apply_plans(str(path), "text/csv", path.name, [plan], out_dir)
    return result


def bench_records(rows: int, work: Path) -> dict[str, Any]:
    small, large = work / "small.csv", work / "large.csv"
    write_csv(small, rows // 10)
    write_csv(large, rows)
    cpu = time.process_time()
    with large.open(newline="", encoding="utf-8") as handle:
        count = sum(1 for _ in csv.reader(handle, delimiter=";"))
    baseline = count / max(time.process_time() - cpu, 1e-9)
    cpu = time.process_time()
    started = time.perf_counter()
    result = apply_once(large, str(work))
    cpu_seconds = time.process_time() - cpu
    wall = time.perf_counter() - started
    assert result["rows"] == rows and result["valid_rows"] == rows, result["error_counts"]
    peaks = []
    for path in (small, large):
        tracemalloc.start()
        apply_once(path, str(work))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return {
        "rows": rows,
        "rows_per_cpu_second": round(rows / cpu_seconds),
        "wall_seconds": round(wall, 2),
        "baseline_csv_reader_rows_per_cpu_second": round(baseline),
        "peak_bytes_at_tenth": peaks[0],
        "peak_bytes_at_all": peaks[1],
        "target": ">= 50,000 rows/s per core; peak flat in rows",
    }


# -- 4. operations through the API ------------------------------------------------------------


def write_workbook(path: Path, rows: int) -> None:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Orders")
    sheet.append(["Orders export"])
    sheet.append([])
    sheet.append(["Order", "Date", "Customer", "Qty", "Price", "Paid"])
    for i in range(rows):
        sheet.append(
            [
                f"SO-{i}",
                f"{1 + i % 28:02d}.{1 + i % 12:02d}.2024",
                f"C{i % 97}",
                i % 50,
                (i % 999) / 10,
                "ja",
            ]
        )
    workbook.save(path)


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        await call()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


async def bench_operations(rows: int, templates: int, work: Path) -> dict[str, Any]:
    import httpx
    from asgi_lifespan import LifespanManager

    from ingestd.api.app import create_app
    from ingestd.config import Settings
    from ingestd.domain.auth import Principal, Role
    from ingestd.runtime import Runtime
    from ingestd.services import templates as tpl_service

    key = "ik_bench_admin_key_0123456789abcdef"
    roots = work / "roots"
    (roots / "book").mkdir(parents=True)
    write_workbook(roots / "book" / "orders.xlsx", rows)
    settings = Settings(
        data_dir=work / "data",
        source_roots=[roots],
        admin_key=key,
        worker_process=False,
        templates_require_approval=False,
    )
    runtime = Runtime(settings)
    app = create_app(settings, runtime=runtime)
    out: dict[str, Any] = {"rows": rows, "templates": templates}
    async with LifespanManager(app, startup_timeout=120, shutdown_timeout=120):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://bench",
            headers={"Authorization": f"Bearer {key}"},
            timeout=600,
        ) as client:
            admin = Principal(key_id="bench", tenant="default", role=Role.ADMIN)
            rng = random.Random(3)
            approval = tpl_service.Approval(require=False)
            for i in range(templates - 1):
                cols = random_layout(rng)
                fields = [{"name": f"f{j}", "type": "string"} for j in range(len(cols))]
                await tpl_service.create_template(
                    runtime.db,
                    admin,
                    approval,
                    name=f"layout {i}",
                    columns=cols,
                    target_schema={"fields": fields},
                    mapping={c["name"]: {"field": f"f{j}"} for j, c in enumerate(cols)},
                )
            orders = await client.post(
                "/api/v1/templates",
                json={
                    "name": "orders",
                    "columns": [
                        {"name": n} for n in ["Order", "Date", "Customer", "Qty", "Price", "Paid"]
                    ],
                    "target_schema": {
                        "fields": [
                            {"name": "order", "type": "string"},
                            {"name": "date", "type": "date", "format": "%d.%m.%Y"},
                            {"name": "customer", "type": "string"},
                            {"name": "qty", "type": "integer"},
                            {"name": "price", "type": "decimal"},
                            {"name": "paid", "type": "boolean"},
                        ]
                    },
                    "mapping": {
                        "Order": "order",
                        "Date": "date",
                        "Customer": "customer",
                        "Qty": "qty",
                        "Price": "price",
                        "Paid": {
                            "field": "paid",
                            "transform": {"type": "value_map", "map": {"ja": True}},
                        },
                    },
                },
            )
            tid = orders.json()["id"]
            started = time.perf_counter()
            job = (
                await client.post(
                    "/api/v1/jobs",
                    json={
                        "sources": [{"type": "directory", "path": "book"}],
                        "pipeline": "extract",
                        "options": {"templates": True, "timeout_seconds": 3600},
                    },
                )
            ).json()
            status = "queued"
            while status not in ("completed", "failed"):  # a bench polls the API like a client
                await asyncio.sleep(0.5)
                status = (await client.get(f"/api/v1/jobs/{job['id']}")).json()["status"]
            out["workbook_job_seconds"] = round(time.perf_counter() - started, 1)
            [file] = (await client.get(f"/api/v1/jobs/{job['id']}/files")).json()["items"]
            out["workbook_file_status"] = file["status"]
            exported = (await client.get("/api/v1/templates/export")).json()
            one = {**exported, "templates": exported["templates"][:1]}
            ops: dict[str, Callable[[], Awaitable[Any]]] = {
                "GET /health (baseline)": lambda: client.get("/health"),
                "GET /templates (50)": lambda: client.get("/api/v1/templates"),
                "GET /templates (500)": lambda: client.get(
                    "/api/v1/templates", params={"limit": 500}
                ),
                "GET /templates/{id}": lambda: client.get(f"/api/v1/templates/{tid}"),
                "GET /templates/{id}/versions": lambda: client.get(
                    f"/api/v1/templates/{tid}/versions"
                ),
                "GET /versions/{n}?diff_from": lambda: client.get(
                    f"/api/v1/templates/{tid}/versions/1", params={"diff_from": 1}
                ),
                "GET /templates/{id}/analytics": lambda: client.get(
                    f"/api/v1/templates/{tid}/analytics"
                ),
                "POST /templates/{id}/suggestions": lambda: client.post(
                    f"/api/v1/templates/{tid}/suggestions", json={}
                ),
                "PUT /templates/{id}": lambda: client.put(
                    f"/api/v1/templates/{tid}", json={"name": "orders"}
                ),
                "GET /mapping/queue": lambda: client.get("/api/v1/mapping/queue"),
                "GET /files/{id}/records (json page)": lambda: client.get(
                    f"/api/v1/files/{file['id']}/records"
                ),
                "GET /jobs/{id}/records (json page)": lambda: client.get(
                    f"/api/v1/jobs/{job['id']}/records"
                ),
                "GET /templates/export (all)": lambda: client.get("/api/v1/templates/export"),
                "POST /templates/import (one)": lambda: client.post(
                    "/api/v1/templates/import", json=one
                ),
                "POST /templates (create)": lambda: client.post(
                    "/api/v1/templates", json={"name": "x", "columns": [{"name": "a"}]}
                ),
            }
            out["ms"] = {name: await timed(call) for name, call in ops.items()}
            started = time.perf_counter()
            streamed = await client.get(
                f"/api/v1/files/{file['id']}/records", params={"format": "csv"}
            )
            out["csv_export_all_rows_seconds"] = round(time.perf_counter() - started, 2)
            out["csv_export_lines"] = streamed.text.count("\n")
    out["target"] = "every operation < 1000 ms"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--templates", type=int, default=1000)
    parser.add_argument("--skip-api", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg_at_start": os.getloadavg(),
        }
    }
    results["suggestions"] = bench_suggestions()
    print("suggestions", json.dumps(results["suggestions"]))
    results["matching"] = bench_matching(args.templates)
    print("matching   ", json.dumps(results["matching"]))
    with tempfile.TemporaryDirectory(prefix="ingestd-bench-") as tmp:
        results["records"] = bench_records(args.rows, Path(tmp))
        print("records    ", json.dumps(results["records"]))
        if not args.skip_api:
            results["operations"] = asyncio.run(
                bench_operations(args.rows, args.templates, Path(tmp))
            )
            print("operations ", json.dumps(results["operations"], indent=1))
    results["machine"]["load_avg_at_end"] = os.getloadavg()
    out = ROOT / "bench" / "results" / "templates.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
