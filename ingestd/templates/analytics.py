"""Recommendations from how a template version is used: columns often left unmapped, casts that
often fail (with the transform that would fix them, when the failing values show one).

>>> guess_date_format(["03.04.2024", "17.12.2023"])
'%d.%m.%Y'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

UNMAPPED_SHARE = 0.5  # a column unmapped in at least this share of a version's files
FAILING_SHARE = 0.05  # a field whose values fail in at least this share of rows
DATE_FORMATS = (
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%Y/%m/%d",
    "%Y%m%d",
    "%d.%m.%y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d %b %Y",
    "%b %d, %Y",
    "%d-%b-%Y",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y %H:%M",
)


def guess_date_format(values: Sequence[str]) -> str | None:
    """The first ``strptime`` format that reads every value, or None."""
    samples = [s.strip() for s in values if s and s.strip()][:20]
    if not samples:
        return None
    for fmt in DATE_FORMATS:
        try:
            for s in samples:
                dt.datetime.strptime(s, fmt)
        except ValueError:
            continue
        return fmt
    return None


def recommendations(
    *,
    columns: Sequence[Mapping[str, Any]],
    mapping: Mapping[str, Any],
    target_schema: Mapping[str, Any],
    rows: int,
    error_counts: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """``[{"kind", "column"|"field", "message", "transform"?}]`` for one version.

    ``error_counts`` are ``{"field", "column", "reason", "count", "examples"}`` (most frequent
    first)."""
    out: list[dict[str, Any]] = []
    mapped = set(mapping)
    joined = {
        c
        for m in mapping.values()
        for t in m.get("transform") or []
        if t.get("type") == "join"
        for c in t.get("columns", [])
    }
    for column in columns:
        if column["name"] not in mapped and column["name"] not in joined:
            out.append(
                {
                    "kind": "unmapped_column",
                    "column": column["name"],
                    "message": f"column {column['name']!r} is never mapped: map it to a field, or "
                    "leave it out of the template knowingly",
                }
            )
    types = {f["name"]: f["type"] for f in target_schema.get("fields", [])}
    for err in error_counts:
        if not rows or err["count"] / rows < FAILING_SHARE or err.get("field") is None:
            continue
        field, kind = err["field"], types.get(err["field"], "string")
        rec: dict[str, Any] = {
            "kind": "failing_cast",
            "field": field,
            "column": err.get("column"),
            "message": f"{err['count']} of {rows} value(s) of {field!r} fail: {err['reason']}",
        }
        examples = [str(e) for e in err.get("examples") or [] if e is not None]
        if kind in ("date", "datetime") and (fmt := guess_date_format(examples)):
            rec["transform"] = {"type": "date_format", "format": fmt}
            rec["message"] += f"; add a date_format transform with format {fmt}"
        elif kind in ("integer", "decimal", "currency", "percent") and any(
            "," in e for e in examples
        ):
            rec["transform"] = {"type": "cast", "to": kind, "decimal_mark": ","}
            rec["message"] += "; the values use a decimal comma: add a cast with decimal_mark ','"
        elif kind == "boolean" and examples:
            rec["transform"] = {
                "type": "value_map",
                "map": {e: None for e in sorted(set(examples))[:10]},
            }
            rec["message"] += "; add a value_map saying which values mean true and false"
        elif "required value is empty" in err["reason"]:
            rec["transform"] = {"type": "default", "value": None}
            rec["message"] += "; give a default, or make the field optional"
        out.append(rec)
    return out
