"""The export/import document: every template of a tenant with all its versions, as JSON.

    {"schema": "ingestd.templates/1", "exported_at": "…",
     "templates": [{"name", "status", "current_version", "approved_version",
                    "versions": [{"version", "status", "columns", "header_row",
                                  "target_schema", "mapping", "diff", "comment"}, …]}, …]}

``check_import`` validates a document before anything is written (every problem listed): each
version's columns, target schema and mapping go through the same checks as an edit.
"""

from __future__ import annotations

from typing import Any

from ingestd.templates.mapping import MappingInvalid, normalise_mapping, normalise_schema
from ingestd.templates.values import TYPES

EXPORT_SCHEMA = "ingestd.templates/1"
STATUSES = ("discovered", "pending_approval", "approved", "rejected", "retired")
MAX_TEMPLATES = 10_000


class PortableInvalid(ValueError):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors[:10]))


def check_import(document: Any) -> list[dict[str, Any]]:
    """The templates of an export document, checked; raises ``PortableInvalid``."""
    if not isinstance(document, dict) or document.get("schema") != EXPORT_SCHEMA:
        raise PortableInvalid([{"field": "schema", "message": f"expected {EXPORT_SCHEMA!r}"}])
    items = document.get("templates")
    if not isinstance(items, list) or len(items) > MAX_TEMPLATES:
        raise PortableInvalid(
            [{"field": "templates", "message": f"expected a list of at most {MAX_TEMPLATES}"}]
        )
    errors: list[dict[str, str]] = []
    out: list[dict[str, Any]] = []
    for i, t in enumerate(items):
        where = f"templates[{i}]"
        if not isinstance(t, dict) or not isinstance(t.get("name"), str) or not t["name"].strip():
            errors.append({"field": where, "message": "a template needs a name"})
            continue
        versions = t.get("versions")
        if not isinstance(versions, list) or not versions:
            errors.append({"field": f"{where}.versions", "message": "at least one version"})
            continue
        checked = []
        for j, v in enumerate(versions):
            problems = _check_version(v)
            errors += [{"field": f"{where}.versions[{j}].{f}", "message": m} for f, m in problems]
            if not problems:
                checked.append(v)
        if t.get("status", "discovered") not in STATUSES:
            errors.append({"field": f"{where}.status", "message": f"one of {', '.join(STATUSES)}"})
        out.append({**t, "versions": sorted(checked, key=lambda v: int(v["version"]))})
    if errors:
        raise PortableInvalid(errors)
    return out


def _check_version(v: Any) -> list[tuple[str, str]]:
    if not isinstance(v, dict) or not isinstance(v.get("version"), int) or v["version"] < 1:
        return [("version", "a positive integer")]
    columns = v.get("columns")
    if not isinstance(columns, list) or not columns:
        return [("columns", "a list of {name, type}")]
    problems: list[tuple[str, str]] = []
    for k, c in enumerate(columns):
        if (
            not isinstance(c, dict)
            or not isinstance(c.get("name"), str)
            or (c.get("type") or "text") not in TYPES
        ):
            problems.append((f"columns[{k}]", f"needs a name and a type of {', '.join(TYPES)}"))
    if v.get("status", "discovered") not in STATUSES:
        problems.append(("status", f"one of {', '.join(STATUSES)}"))
    if problems:
        return problems
    try:
        schema = normalise_schema(v.get("target_schema"))
        normalise_mapping(v.get("mapping"), schema, [c["name"] for c in columns])
    except MappingInvalid as exc:
        problems += [(e["field"], e["message"]) for e in exc.errors]
    return problems
