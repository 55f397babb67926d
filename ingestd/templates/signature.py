"""A table's signature: where its header is, its columns' names, inferred types and profiles.

``locate_header`` finds the header row of a grid below title rows and blank rows;
``infer_signature`` types each column from its values (a sample of ``SAMPLE_ROWS`` rows: the
signature of a 100,000-row sheet costs the same as one of 2,000) and profiles them: null share,
distinct count, min/max, and the most common pattern classes.

>>> sig = infer_signature(["Date", "Amount"], [["2024-01-02", "1.234,50"], ["2024-01-03", "12,00"]])
>>> [(c.name, c.type) for c in sig.columns]
[('Date', 'date'), ('Amount', 'decimal')]
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ingestd.domain.documents import looks_like_header
from ingestd.templates import values as v
from ingestd.templates.names import normalise

SAMPLE_ROWS = 2000  # rows a signature reads
TYPE_SHARE = 0.9  # a type must cover this share of a column's non-null values
CATEGORICAL_MAX_DISTINCT = 20
DATE_HINTS = ("date", "day", "dt", "datum", "fecha", "time", "created", "updated", "dob")


@dataclass(frozen=True, slots=True)
class ColumnSig:
    name: str
    type: str
    profile: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return normalise(self.name)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "key": self.key, "type": self.type, "profile": self.profile}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSig:
        return cls(
            name=str(data["name"]),
            type=str(data.get("type") or "text"),
            profile=dict(data.get("profile") or {}),
        )


@dataclass(frozen=True, slots=True)
class Signature:
    columns: tuple[ColumnSig, ...]
    header_row: int = 0
    rows: int = 0

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    @property
    def fingerprint(self) -> str:
        """Equal for equal layouts: the column keys and types, in order."""
        text = "|".join(f"{c.key}:{c.type}" for c in self.columns)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def to_dict(self) -> dict[str, Any]:
        return {
            "header_row": self.header_row,
            "rows": self.rows,
            "fingerprint": self.fingerprint,
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        return cls(
            columns=tuple(ColumnSig.from_dict(c) for c in data.get("columns") or []),
            header_row=int(data.get("header_row") or 0),
            rows=int(data.get("rows") or 0),
        )


def locate_header(grid: Sequence[Sequence[str | None]], *, scan: int = 20) -> int:
    """The index of the header row: the first row (of the first ``scan``) that fills most of
    the table's width with distinct labels, after title rows (one filled cell) and blank rows.
    0 when none looks like a header."""
    width = max((len(r) for r in grid[:scan]), default=0)
    for i, row in enumerate(grid[:scan]):
        cells = [(c or "").strip() for c in row]
        filled = [c for c in cells if c]
        if not filled or (width > 2 and len(filled) < max(2, (width + 1) // 2)):
            continue  # blank, a title, a note
        if looks_like_header(cells[: len(cells)]) or looks_like_header(filled):
            return i
        return i if i and _more_text_than_below(filled, grid[i + 1 : i + 4]) else 0
    return 0


def _more_text_than_below(filled: list[str], below: Sequence[Sequence[str | None]]) -> bool:
    textual = sum(v.classify(c) in ("text", "categorical") for c in filled) / len(filled)
    return textual >= 0.8 and any(any(c for c in r) for r in below)


def header_names(labels: Sequence[str | None]) -> list[str]:
    """Labels made usable as column names: blanks become ``column_N``, repeats get ``_2``…"""
    seen: Counter[str] = Counter()
    out: list[str] = []
    for i, raw in enumerate(labels):
        name = " ".join((raw or "").split()) or f"column_{i + 1}"
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def infer_signature(
    header: Sequence[str | None],
    rows: Sequence[Sequence[str | None]],
    *,
    header_row: int = 0,
    total_rows: int | None = None,
) -> Signature:
    """Type and profile each column from (a sample of) ``rows``."""
    names = header_names(header)
    sample = rows[:SAMPLE_ROWS]
    columns = []
    for i, name in enumerate(names):
        texts = [(r[i] or "") if i < len(r) else "" for r in sample]
        columns.append(infer_column(name, texts))
    return Signature(
        columns=tuple(columns),
        header_row=header_row,
        rows=total_rows if total_rows is not None else len(rows),
    )


def infer_column(name: str, texts: Sequence[str]) -> ColumnSig:
    values = [t.strip() for t in texts if not v.is_null(t)]
    nulls = len(texts) - len(values)
    mark = v.decimal_mark(values)
    kinds = Counter(v.classify(t, mark) for t in values)
    kind = _column_type(name, values, kinds, mark)
    distinct = len(set(values))
    profile: dict[str, Any] = {
        "null_share": round(nulls / len(texts), 4) if texts else 0.0,
        "distinct": distinct,
        "patterns": [p for p, _n in Counter(v.pattern_class(t) for t in values).most_common(3)],
        "samples": list(dict.fromkeys(values))[:5],
    }
    if kind in v.NUMERIC_TYPES:
        profile["decimal_mark"] = mark
    low, high = _range(kind, values, mark, name)
    if low is not None:
        profile["min"], profile["max"] = low, high
    return ColumnSig(name=name, type=kind, profile=profile)


def _column_type(name: str, values: list[str], kinds: Counter[str], mark: str) -> str:
    if not values:
        return "text"
    need = TYPE_SHARE * len(values)

    def share(*types: str) -> int:
        return sum(kinds[t] for t in types)

    if _date_hint(name) and kinds["integer"] >= need:
        serials = [v.parse_number(t) for t in values]
        lo, hi = v.EXCEL_SERIAL_RANGE
        if all(s is not None and lo <= s <= hi for s in serials):
            return "date"
    if share("boolean") >= need:
        return "boolean"
    if share("integer") >= need:
        if set(values) <= {"0", "1"} and len(values) > 1:
            return "boolean"
        return "integer"
    if share("integer", "decimal") >= need:
        return "decimal"
    if share("percent") >= need:
        return "percent"
    if share("currency", "integer", "decimal") >= need and kinds["currency"]:
        return "currency"
    for kind in ("date", "datetime", "email", "url"):
        if share(kind) >= need:
            return kind
    if share("date", "datetime") >= need:
        return "datetime"
    distinct = len(set(values))
    if distinct <= CATEGORICAL_MAX_DISTINCT and distinct <= 0.5 * len(values):
        return "categorical"
    return "text"


def _date_hint(name: str) -> bool:
    key = normalise(name)
    return any(h in key.split("_") or key.endswith(h) for h in DATE_HINTS)


def _range(kind: str, values: list[str], mark: str, name: str) -> tuple[Any, Any]:
    if kind in v.NUMERIC_TYPES:
        nums = [n for n in (v.parse_number(t, mark) for t in values) if n is not None]
        return (min(nums), max(nums)) if nums else (None, None)
    if kind == "date":
        dates = [d for d in (v.parse_date(t, excel_serial=True) for t in values) if d]
        return (min(dates).isoformat(), max(dates).isoformat()) if dates else (None, None)
    if values and kind in ("text", "categorical", "email", "url"):
        lengths = [len(t) for t in values]
        return min(lengths), max(lengths)
    return None, None
