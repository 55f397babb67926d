"""Target schemas and mappings, checked before they are stored.

A **target schema** is the fields the business needs::

    {"fields": [{"name": "invoice_date", "type": "date", "required": true, "format": "%d/%m/%Y"}, …]}

Field types: ``string``, ``integer``, ``decimal``, ``boolean``, ``date``, ``datetime``,
``email``, ``url``, ``currency`` and ``percent`` (numbers), ``categorical`` (a string).

A **mapping** takes source columns to fields, each with optional transforms applied in order::

    {"Invoice Date": {"field": "invoice_date", "transform": {"type": "date_format", "format": "%d.%m.%Y"}},
     "First": {"field": "name", "transform": {"type": "join", "columns": ["First", "Last"], "separator": " "}},
     "Country": {"field": "country", "transform": [{"type": "trim"}, {"type": "value_map", "map": {"UK": "GB"}}]}}

Transforms: ``trim``; ``cast`` (``to``: a field type; ``decimal_mark``); ``date_format``
(``format``: a ``strptime`` format); ``split`` (``separator``, ``index``); ``join``
(``columns``, ``separator``); ``constant`` (``value``); ``default`` (``value`` when empty);
``value_map`` (``map``, ``strict``: an unknown value is an error).

A bad schema or mapping raises ``MappingInvalid`` with every problem listed, field by field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

FIELD_TYPES = (
    "string",
    "integer",
    "decimal",
    "boolean",
    "date",
    "datetime",
    "email",
    "url",
    "currency",
    "percent",
    "categorical",
)
TRANSFORMS = ("trim", "cast", "date_format", "split", "join", "constant", "default", "value_map")
# The field type a source column of an inferred type is naturally mapped to.
FIELD_TYPE_OF = {
    "integer": "integer",
    "decimal": "decimal",
    "currency": "currency",
    "percent": "percent",
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean",
    "email": "email",
    "url": "url",
    "categorical": "categorical",
    "text": "string",
}


class MappingInvalid(ValueError):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))


def normalise_schema(schema: Any) -> dict[str, Any]:
    """``{"fields": [...]}`` (a bare list of fields is accepted), each field with ``name``,
    ``type`` (default ``string``), ``required`` (default false) and ``format`` (or None)."""
    if schema is None:
        return {"fields": []}
    raw = schema.get("fields") if isinstance(schema, dict) else schema
    errors: list[dict[str, str]] = []
    if not isinstance(raw, list):
        raise MappingInvalid([{"field": "target_schema", "message": "expected {'fields': [...]}"}])
    fields: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, f in enumerate(raw):
        where = f"target_schema.fields[{i}]"
        if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not f["name"].strip():
            errors.append({"field": where, "message": "a field needs a non-empty 'name'"})
            continue
        kind = f.get("type", "string")
        if kind == "text":
            kind = "string"
        if kind not in FIELD_TYPES:
            errors.append(
                {
                    "field": f"{where}.type",
                    "message": f"{kind!r} is not one of {', '.join(FIELD_TYPES)}",
                }
            )
            continue
        if f["name"] in seen:
            errors.append({"field": where, "message": f"field {f['name']!r} appears twice"})
            continue
        seen.add(f["name"])
        fields.append(
            {
                "name": f["name"],
                "type": kind,
                "required": bool(f.get("required", False)),
                "format": f.get("format"),
            }
        )
    if errors:
        raise MappingInvalid(errors)
    return {"fields": fields}


def normalise_mapping(
    mapping: Any, schema: dict[str, Any], source_columns: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """The mapping checked against the schema (and the source columns, when known):
    ``{source: {"field", "transform": [..]}}``; ``None`` targets (leave unmapped) are dropped."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise MappingInvalid([{"field": "mapping", "message": "expected {source column: {field}}"}])
    fields = {f["name"] for f in schema["fields"]}
    columns = set(source_columns) if source_columns is not None else None
    errors: list[dict[str, str]] = []
    out: dict[str, dict[str, Any]] = {}
    for source, target in mapping.items():
        where = f"mapping.{source}"
        if target is None:
            continue
        if isinstance(target, str):
            target = {"field": target}
        if not isinstance(target, dict) or not isinstance(target.get("field"), str):
            errors.append({"field": where, "message": "expected {'field': name, 'transform'?}"})
            continue
        if target["field"] not in fields:
            errors.append(
                {
                    "field": f"{where}.field",
                    "message": f"{target['field']!r} is not a field of the target schema",
                }
            )
            continue
        transforms = target.get("transform") or []
        if isinstance(transforms, dict):
            transforms = [transforms]
        problems = [p for t in transforms for p in _check_transform(t)]
        is_constant = any(isinstance(t, dict) and t.get("type") == "constant" for t in transforms)
        if columns is not None and source not in columns and not is_constant:
            problems.append(f"{source!r} is not a column of the table")
        for t in transforms:
            if isinstance(t, dict) and t.get("type") == "join" and columns is not None:
                problems += [
                    f"join: {c!r} is not a column" for c in t.get("columns", []) if c not in columns
                ]
        if problems:
            errors += [{"field": where, "message": p} for p in problems]
            continue
        out[source] = {"field": target["field"], "transform": list(transforms)}
    if errors:
        raise MappingInvalid(errors)
    return out


def _check_transform(t: Any) -> list[str]:
    if not isinstance(t, dict) or t.get("type") not in TRANSFORMS:
        kind = t.get("type") if isinstance(t, dict) else t
        return [f"transform {kind!r} is not one of {', '.join(TRANSFORMS)}"]
    kind = t["type"]
    if kind == "cast" and t.get("to") not in FIELD_TYPES:
        return [f"cast: 'to' must be one of {', '.join(FIELD_TYPES)}"]
    if kind == "date_format" and not isinstance(t.get("format"), str):
        return ["date_format: 'format' (a strptime format such as %d/%m/%Y) is required"]
    if kind == "split" and not isinstance(t.get("index", 0), int):
        return ["split: 'index' must be an integer"]
    if kind == "join" and not (isinstance(t.get("columns"), list) and t["columns"]):
        return ["join: 'columns' must list the source columns to join"]
    if kind in ("constant", "default") and "value" not in t:
        return [f"{kind}: 'value' is required"]
    if kind == "value_map" and not isinstance(t.get("map"), dict):
        return ["value_map: 'map' must be an object"]
    return []


def schema_from_columns(columns: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A target schema mirroring a table's columns (the default for a template made by hand)."""
    from ingestd.templates.names import normalise

    return {
        "fields": [
            {
                "name": normalise(c["name"]) or f"field_{i + 1}",
                "type": FIELD_TYPE_OF.get(c.get("type", "text"), "string"),
                "required": False,
                "format": None,
            }
            for i, c in enumerate(columns)
        ]
    }


def identity_mapping(columns: Sequence[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
    from ingestd.templates.names import normalise

    fields = {f["name"] for f in schema["fields"]}
    return {
        c["name"]: {"field": normalise(c["name"]), "transform": []}
        for c in columns
        if normalise(c["name"]) in fields
    }
