"""A template's mapping compiled once into per-field converters, then run over rows.

``Compiled.run`` turns rows of cell texts into typed records (``{field: value}``, JSON-ready:
dates as ISO strings, numbers as int/float) and reports each invalid cell as
``{"row", "column", "field", "value", "reason"}``. A row with any invalid cell is invalid;
the file's **quality** is valid rows / rows.

Converters take the fast path first (``int(text)``, ``float(text)``, ``date.fromisoformat``)
and fall back to the tolerant parsers of ``values`` only when it fails: a clean export goes at
the speed of the built-ins.

>>> c = Compiled(["Qty", "When"], {"fields": [{"name": "qty", "type": "integer", "required": True},
...              {"name": "when", "type": "date"}]}, {"Qty": {"field": "qty"}, "When": {"field": "when"}})
>>> [(r, e) for _n, r, e in c.run([["3", "02/01/2024"], ["", "x"]])][1][1][0]["reason"]
'required value is empty'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ingestd.templates import values as v
from ingestd.templates.mapping import normalise_mapping, normalise_schema

Converter = Callable[[str], Any]
Getter = Callable[[Sequence[str | None]], Any]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_URL = re.compile(r"^(https?://|www\.)\S+$", re.IGNORECASE)


class CellError(ValueError):
    pass


def _null(text: str) -> bool:
    return not text or text.lower() in v.NULLS


def converter(kind: str, *, fmt: str | None = None, mark: str = ".") -> Converter:
    """A function from a stripped, non-null cell text to a value of ``kind`` (``CellError``)."""
    if kind in ("string", "categorical"):
        return lambda s: s
    if kind == "integer":
        return lambda s: _integer(s, mark)
    if kind in ("decimal", "currency", "percent"):
        return lambda s: _decimal(s, mark)
    if kind == "boolean":
        return _boolean
    if kind == "date":
        return _memo((lambda s: _date_fmt(s, fmt)) if fmt else _date)
    if kind == "datetime":
        return (lambda s: _datetime_fmt(s, fmt)) if fmt else _datetime
    if kind == "email":
        return lambda s: s if _EMAIL.match(s) else _fail("not an email address")
    if kind == "url":
        return lambda s: s if _URL.match(s) else _fail("not a URL")
    raise ValueError(f"unknown field type {kind}")


MEMO_MAX = 100_000  # distinct values a date converter remembers


def _memo(convert: Converter) -> Converter:
    """Dates repeat (a year has 366 of them): remember each text's answer, or its error."""
    seen: dict[str, tuple[bool, Any]] = {}

    def memoised(s: str) -> Any:
        hit = seen.get(s)
        if hit is None:
            try:
                hit = (True, convert(s))
            except CellError as exc:
                hit = (False, str(exc))
            if len(seen) < MEMO_MAX:
                seen[s] = hit
        if hit[0]:
            return hit[1]
        raise CellError(hit[1])

    return memoised


def _fail(reason: str) -> Any:
    raise CellError(reason)


def _integer(s: str, mark: str) -> int:
    try:
        return int(s)
    except ValueError:
        pass
    number = v.parse_number(s, mark)
    if number is None:
        raise CellError("not an integer")
    if not number.is_integer():
        raise CellError("not a whole number")
    return int(number)


_COMMA_NUMBER = re.compile(r"-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?")


def _decimal(s: str, mark: str) -> float:
    if mark == ".":
        try:
            return float(s)
        except ValueError:
            pass
    elif _COMMA_NUMBER.fullmatch(s):  # 1.234,50: the common case of a decimal-comma export
        return float(s.replace(".", "").replace(",", "."))
    number = v.parse_number(s, mark)
    if number is None:
        raise CellError("not a number")
    return number


def _boolean(s: str) -> bool:
    value = v.parse_bool(s)
    if value is None:
        raise CellError("not a yes/no value")
    return value


def _date(s: str) -> str:
    if len(s) == 10 and s[4] == "-":
        try:
            return dt.date.fromisoformat(s).isoformat()
        except ValueError:
            pass
    if isinstance(s, dt.date):  # a value_map or an earlier transform made it already
        return s.isoformat()
    value = v.parse_date(s, excel_serial=True)
    if value is None:
        raise CellError("not a date")
    return value.isoformat()


def _date_fmt(s: str, fmt: str) -> str:
    try:
        return dt.datetime.strptime(s, fmt).date().isoformat()
    except ValueError:
        raise CellError(f"not a date in the format {fmt}") from None


def _datetime(s: str) -> str:
    try:
        return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).isoformat()
    except ValueError:
        pass
    day = v.parse_date(s, excel_serial=True)
    if day is None:
        raise CellError("not a date and time")
    return dt.datetime(day.year, day.month, day.day).isoformat()


def _datetime_fmt(s: str, fmt: str) -> str:
    try:
        return dt.datetime.strptime(s, fmt).isoformat()
    except ValueError:
        raise CellError(f"not a date and time in the format {fmt}") from None


_NO_DEFAULT: Any = object()


@dataclass(frozen=True, slots=True)
class FieldPlan:
    field: str
    source: str  # the source column (reported with errors)
    get: Getter  # the raw value: a str, or a value a transform produced
    convert: Converter
    required: bool
    index: int  # the source column's position, -1 when it is not a column
    simple: bool = False  # at most a trim and one value_map or default: the fast path
    premap: dict[str, Any] | None = None  # a value_map (keys lower case) on the fast path
    strict: bool = False  # a strict value_map: an unknown value is an error
    default: Any = _NO_DEFAULT

    def source_cell(self, row: Sequence[str | None]) -> str | None:
        return row[self.index] if 0 <= self.index < len(row) else None


def _getter(columns: dict[str, int], source: str, transforms: list[dict[str, Any]]) -> Getter:
    idx = columns.get(source, -1)

    def base(row: Sequence[str | None]) -> Any:
        cell = row[idx] if 0 <= idx < len(row) else None
        return (cell or "").strip()

    get: Getter = base
    for t in transforms:
        get = _step(get, t, columns)
    return get


def _step(get: Getter, t: dict[str, Any], columns: dict[str, int]) -> Getter:
    kind = t["type"]
    if kind == "trim":

        def trim(row: Sequence[str | None]) -> Any:
            value = get(row)
            return value.strip() if isinstance(value, str) else value

        return trim
    if kind == "constant":
        value = t["value"]
        return lambda row: value
    if kind == "default":
        fallback = t["value"]

        def with_default(row: Sequence[str | None]) -> Any:
            value = get(row)
            return fallback if value is None or (isinstance(value, str) and _null(value)) else value

        return with_default
    if kind == "split":
        sep, index = t.get("separator") or None, int(t.get("index", 0))

        def split(row: Sequence[str | None]) -> Any:
            parts = str(get(row)).split(sep)
            return parts[index].strip() if -len(parts) <= index < len(parts) else ""

        return split
    if kind == "join":
        indices = [columns.get(c, -1) for c in t["columns"]]
        sep = t.get("separator", " ")

        def join(row: Sequence[str | None]) -> Any:
            parts = [(row[i] or "").strip() if 0 <= i < len(row) else "" for i in indices]
            return sep.join(p for p in parts if p)

        return join
    if kind == "value_map":
        table = {str(k).strip().lower(): val for k, val in t["map"].items()}
        strict = bool(t.get("strict", False))

        def mapped(row: Sequence[str | None]) -> Any:
            value = get(row)
            key = str(value).strip().lower()
            if key in table:
                return table[key]
            if strict and not (isinstance(value, str) and _null(value)):
                raise CellError(f"{value!r} is not in the value map")
            return value

        return mapped
    if kind == "date_format":
        fmt = t["format"]
        parse = _memo(lambda s: _date_fmt(s, fmt))
        return _converted(get, parse)
    if kind == "cast":
        cast = converter(t["to"], mark=t.get("decimal_mark", "."), fmt=t.get("format"))
        return _converted(get, cast)
    raise ValueError(f"unknown transform {kind}")  # normalise_mapping refused it already


def _converted(get: Getter, convert: Converter) -> Getter:
    def step(row: Sequence[str | None]) -> Any:
        value = get(row)
        if isinstance(value, str) and not _null(value):
            return _AsIs(convert(value))
        return value

    return step


class _AsIs:
    """A value a transform already converted: the field's converter passes it through."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _as_is(value: Any) -> _AsIs:
    return _AsIs(value)


def _fast_path(transforms: list[dict[str, Any]], index: int) -> dict[str, Any]:
    """The fast-path settings of a column whose transforms are at most a trim and one
    ``value_map`` or ``default`` (cells are trimmed anyway); ``{}`` for anything else."""
    rest = [t for t in transforms if t["type"] != "trim"]
    if index < 0 or len(rest) > 1:
        return {}
    if not rest:
        return {"simple": True}
    t = rest[0]
    if t["type"] == "value_map":
        table = {str(k).strip().lower(): val for k, val in t["map"].items()}
        if "" in table:
            return {}
        return {"simple": True, "premap": table, "strict": bool(t.get("strict", False))}
    if t["type"] == "default":
        return {"simple": True, "default": t["value"]}
    return {}


class Compiled:
    """A mapping ready to run over rows whose columns are ``columns`` (the header names)."""

    def __init__(
        self,
        columns: Sequence[str],
        target_schema: Any,
        mapping: Any,
        *,
        decimal_marks: dict[str, str] | None = None,
    ) -> None:
        schema = normalise_schema(target_schema)
        plan = normalise_mapping(mapping, schema)
        self.fields = [f["name"] for f in schema["fields"]]
        index = {name: i for i, name in enumerate(columns)}
        marks = decimal_marks or {}
        by_field = {f["name"]: f for f in schema["fields"]}
        self.plans: list[FieldPlan] = []
        mapped: set[str] = set()
        for source, target in plan.items():
            f = by_field[target["field"]]
            mapped.add(f["name"])
            self.plans.append(
                FieldPlan(
                    field=f["name"],
                    source=source,
                    get=_getter(index, source, target["transform"]),
                    convert=converter(f["type"], fmt=f.get("format"), mark=marks.get(source, ".")),
                    required=f["required"],
                    index=index.get(source, -1),
                    **_fast_path(target["transform"], index.get(source, -1)),
                )
            )
        self.unmapped_required = [
            f["name"] for f in schema["fields"] if f["required"] and f["name"] not in mapped
        ]

    def run(
        self, rows: Iterable[Sequence[str | None]], *, first_row: int = 1
    ) -> Iterator[tuple[int, dict[str, Any], list[dict[str, Any]]]]:
        """``(row number, record, errors)`` per row; numbers count data rows from ``first_row``."""
        plans = self.plans
        missing = self.unmapped_required
        fields = self.fields
        nulls = v.NULLS
        simple = [
            (p, p.index, p.field, p.convert, p.required, p.premap, p.default)
            for p in plans
            if p.simple
        ]
        other = [p for p in plans if not p.simple]
        none = _NO_DEFAULT
        for n, row in enumerate(rows, first_row):
            record = dict.fromkeys(fields)
            errors: list[dict[str, Any]] = []
            width = len(row)
            for p, i, field, convert, required, premap, default in simple:
                cell = row[i] if i < width else None
                if cell:
                    cell = cell.strip()
                if not cell or (len(cell) <= 4 and cell.lower() in nulls):
                    if default is not none:
                        record[field] = default
                    elif required:
                        errors.append(_error(n, p, cell or "", "required value is empty"))
                    continue
                try:
                    if premap is not None:
                        mapped = premap.get(cell.lower(), none)
                        if mapped is none:
                            if p.strict:
                                raise CellError(f"{cell!r} is not in the value map")
                        elif isinstance(mapped, str):
                            cell = mapped
                        else:
                            record[field] = mapped
                            continue
                    record[field] = convert(cell)
                except CellError as exc:
                    errors.append(_error(n, p, cell, str(exc)))
            for p in other:
                raw: Any = None
                try:
                    raw = p.get(row)
                    if isinstance(raw, _AsIs):
                        record[p.field] = raw.value
                        continue
                    if isinstance(raw, str):
                        if not raw or raw.lower() in nulls:
                            if p.required:
                                errors.append(_error(n, p, raw, "required value is empty"))
                            continue
                        record[p.field] = p.convert(raw)
                    else:
                        record[p.field] = raw
                except CellError as exc:
                    errors.append(
                        _error(n, p, raw if raw is not None else _source(row, p), str(exc))
                    )
            for name in missing:
                errors.append(
                    {
                        "row": n,
                        "column": None,
                        "field": name,
                        "value": None,
                        "reason": "required field is not mapped",
                    }
                )
            yield n, record, errors


def _source(row: Sequence[str | None], plan: FieldPlan) -> Any:
    """The cell a transform failed on, as the file has it (when the source is a column)."""
    return plan.source_cell(row)


def _error(n: int, plan: FieldPlan, value: Any, reason: str) -> dict[str, Any]:
    return {"row": n, "column": plan.source, "field": plan.field, "value": value, "reason": reason}
