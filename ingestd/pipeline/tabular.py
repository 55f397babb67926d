"""Tables for templates: read a file's tables as header + rows of cell texts, streaming where the
format allows, and the two pool steps built on it.

- CSV/TSV (any delimiter and encoding): streamed row by row; title rows and blank rows above the
  header are skipped (``locate_header``).
- JSON (an array of records, or an object holding one) and JSONL: the records' keys are the
  columns (of the first ``SAMPLE_ROWS`` records), nested values are JSON text.
- XLSX, DOCX, HTML, PDF, PPTX: the extracted document's tables (``domain/documents.Table``, with
  title rows, merged cells and header rows as the extractor found them); the blocks a long table
  was cut into for chunking are joined back.

``table_signatures`` (the first trip through the pool) types every table; ``apply_plans`` (the
second, only for tables matched to an approved template) writes each table's typed records to a
JSONL file, one ``[row, valid, record]`` a line, so memory stays flat in the number of rows.
"""

from __future__ import annotations

import csv
import itertools
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ingestd.domain.documents import Table
from ingestd.domain.errors import FileError
from ingestd.pipeline import detect
from ingestd.pipeline.extractors import extract_document
from ingestd.pipeline.extractors.csv import _bounded_lines, _sniff
from ingestd.pipeline.extractors.text import open_text
from ingestd.templates.apply import Compiled
from ingestd.templates.signature import SAMPLE_ROWS, header_names, infer_signature, locate_header

SAMPLES = 10  # rows kept with a signature for the mapping editor
HEAD_ROWS = 20  # rows read ahead to find a header below title rows
MAX_ERRORS = 1000  # invalid cells kept per table (all of them are counted)
JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(slots=True)
class SourceTable:
    index: int
    location: str
    header: list[str]
    header_row: int
    rows: Iterator[list[str]]


def is_tabular_candidate(mime_type: str, name: str) -> bool:
    return name.lower().endswith(JSONL_SUFFIXES) or mime_type.split(";")[0] in (
        detect.CSV,
        detect.JSON,
        detect.XLSX,
        detect.DOCX,
        detect.HTML,
        detect.PDF,
        detect.PPTX,
        "text/tab-separated-values",
    )


def read_tables(path: Path, mime_type: str, name: str) -> Iterator[SourceTable]:
    mime = mime_type.split(";")[0].strip().lower()
    if name.lower().endswith(JSONL_SUFFIXES):
        yield from _records_table(_jsonl(path), "records")
    elif mime in (detect.CSV, "text/tab-separated-values"):
        yield from _csv_tables(path)
    elif mime == detect.JSON:
        yield from _records_table(_json_records(path), "records")
    else:
        yield from _document_tables(path, mime)


def _split_head(index: int, location: str, rows: Iterator[list[str]]) -> SourceTable | None:
    head = list(itertools.islice(rows, HEAD_ROWS))
    if not head:
        return None
    at = locate_header(head)
    header = header_names(head[at])
    rest = itertools.chain(head[at + 1 :], rows)
    return SourceTable(index, location, header, at, (r for r in rest if any(r)))


def _csv_tables(path: Path) -> Iterator[SourceTable]:
    try:
        with open_text(path, newline="") as handle:
            sample = handle.read(16 * 1024)
            handle.seek(0)
            reader = csv.reader(_bounded_lines(handle), _dialect(sample))
            table = _split_head(0, "rows", iter(reader))  # blank lines count: the header's line
            if table is not None:
                yield table
    except csv.Error as exc:
        raise FileError("parse_error", f"the CSV file is malformed: {exc}") from None


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    """The delimiter most lines agree on (the mode of its per-line count, over the sample):
    a title row with fewer separators than the table below does not mislead it, as it does
    ``csv.Sniffer``; the sniffer decides only when no delimiter is consistent."""
    lines = [line for line in sample.splitlines()[:200] if line.strip()]
    best, best_score = "", 0
    for delimiter in ",;\t|":
        counts = Counter(line.count(delimiter) for line in lines)
        mode, agree = max(
            ((c, n) for c, n in counts.items() if c), key=lambda x: (x[1], x[0]), default=(0, 0)
        )
        if mode and agree > best_score:
            best, best_score = delimiter, agree
    if not best or best_score < max(2, len(lines) // 2):
        return _sniff(sample)

    class Dialect(csv.excel):
        delimiter = best

    return Dialect


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise FileError(
                    "parse_error", f"line {number} of the JSONL file is not JSON"
                ) from None
            if isinstance(item, dict):
                yield item


def _json_records(path: Path) -> Iterator[dict[str, Any]]:
    raw = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    try:
        data = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError as exc:
        raise FileError("parse_error", f"the JSON document is malformed: {exc}") from None
    if isinstance(data, dict):  # {"items": [...]} and the like: the first list of records
        data = next(
            (v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)), None
        )
    if isinstance(data, list):
        yield from (item for item in data if isinstance(item, dict))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    return orjson.dumps(value).decode()


def _records_table(records: Iterator[dict[str, Any]], location: str) -> Iterator[SourceTable]:
    head = list(itertools.islice(records, SAMPLE_ROWS))
    if not head:
        return
    keys = list(dict.fromkeys(k for r in head for k in r))
    rows = ([_text(r.get(k)) for k in keys] for r in itertools.chain(head, records))
    yield SourceTable(0, location, [str(k) for k in keys], 0, rows)


def _document_tables(path: Path, mime: str) -> Iterator[SourceTable]:
    document = extract_document(path, mime)
    groups: list[tuple[str, list[Table]]] = []
    for element in document.elements:
        if element.table is None:
            continue
        if element.meta.get("continued") and groups:
            groups[-1][1].append(element.table)
            continue
        where = element.meta.get("sheet") or (f"page {element.page}" if element.page else None)
        groups.append(
            (f"table {len(groups) + 1}" + (f" ({where})" if where else ""), [element.table])
        )
    for index, (location, tables) in enumerate(groups):
        first = tables[0]
        if first.header_rows:
            header = header_names(first.header_labels())
            rows = [
                [c or "" for c in row][: len(header)]
                for t in tables
                for row in t.grid()[t.header_rows :]
            ]
            yield SourceTable(index, location, header, first.header_rows - 1, iter(rows))
        else:
            grid = [[c or "" for c in row] for t in tables for row in t.grid()]
            table = _split_head(index, location, iter(grid))
            if table is not None:
                yield table


# -- the pool steps ------------------------------------------------------------------------


def table_signatures(local_path: str, mime_type: str, name: str) -> list[dict[str, Any]]:
    """Every table's signature and first rows. Runs in a pool process; reads a CSV once,
    keeping ``SAMPLE_ROWS`` rows."""
    out = []
    for table in read_tables(Path(local_path), mime_type, name):
        sample = list(itertools.islice(table.rows, SAMPLE_ROWS))
        total = len(sample) + sum(1 for _ in table.rows)
        sig = infer_signature(table.header, sample, header_row=table.header_row, total_rows=total)
        out.append(
            {
                "index": table.index,
                "location": table.location,
                "signature": sig.to_dict(),
                "samples": [row[: len(table.header)] for row in sample[:SAMPLES]],
            }
        )
    return out


def apply_plans(
    local_path: str, mime_type: str, name: str, plans: Sequence[dict[str, Any]], out_dir: str
) -> list[dict[str, Any]]:
    """Apply each plan (``{"index", "target_schema", "mapping", "decimal_marks"}``) to its table,
    writing records to ``out_dir/records-<index>.jsonl``. Runs in a pool process."""
    wanted = {p["index"]: p for p in plans}
    results = []
    for table in read_tables(Path(local_path), mime_type, name):
        plan = wanted.get(table.index)
        if plan is None:
            continue
        results.append(_apply_one(table, plan, Path(out_dir) / f"records-{table.index}.jsonl"))
    return results


def _apply_one(table: SourceTable, plan: dict[str, Any], out: Path) -> dict[str, Any]:
    started = time.perf_counter()
    compiled = Compiled(
        table.header,
        plan["target_schema"],
        plan["mapping"],
        decimal_marks=plan.get("decimal_marks"),
    )
    rows = valid = 0
    errors: list[dict[str, Any]] = []
    counts: Counter[tuple[Any, Any, str]] = Counter()
    examples: dict[tuple[Any, Any, str], list[Any]] = {}
    dumps = orjson.dumps
    with out.open("wb") as handle:
        for n, record, row_errors in compiled.run(table.rows):
            rows += 1
            if row_errors:
                for e in row_errors:
                    key = (e["field"], e["column"], e["reason"])
                    counts[key] += 1
                    if len(examples.setdefault(key, [])) < 5:
                        examples[key].append(e["value"])
                    if len(errors) < MAX_ERRORS:
                        errors.append(e)
            else:
                valid += 1
            handle.write(dumps([n, not row_errors, record]) + b"\n")
    return {
        "index": table.index,
        "rows": rows,
        "valid_rows": valid,
        "records_path": str(out),
        "errors": errors,
        "error_counts": [
            {"field": f, "column": c, "reason": r, "count": k, "examples": examples[(f, c, r)]}
            for (f, c, r), k in counts.most_common(20)
        ],
        "duration_ms": int((time.perf_counter() - started) * 1000),
    }
