"""Ranked target-field suggestions for source columns, each with a confidence and its reasons.

Four kinds of evidence, blended:

- **name**: ``names.name_similarity`` (tokens with abbreviations expanded, edit distance);
- **embedding**: cosine of the configured embedder's vectors for the column (its name and a few
  sample values) and the field (its name and type), when an embedder is given;
- **type and pattern**: the column's inferred type against the field's type (same, compatible,
  incompatible), and its values' patterns against the field's ``format``;
- **history**: what users of the tenant mapped this column (by key) to before: a column once
  mapped to a field is suggested for it again.

``confidence = base + (1 - base) * 0.8 * history_share`` where ``base`` weighs name 0.55,
embedding 0.25 and type 0.20, halved for an incompatible type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ingestd.templates.mapping import FIELD_TYPE_OF
from ingestd.templates.match import compatible
from ingestd.templates.names import name_similarity, normalise, tokens

EmbedTexts = Callable[[Sequence[str]], Sequence[Sequence[float]]]
History = Mapping[str, Mapping[str, int]]  # source key -> {field: times mapped}

W_NAME, W_EMBED, W_TYPE = 0.55, 0.25, 0.20
HISTORY_WEIGHT = 0.8
# A field's type as a column type, for compatibility.
_AS_COLUMN_TYPE = {"string": "text", "categorical": "categorical"}


def type_fit(column_type: str, field_type: str) -> float:
    """1 when the column's type is the field's, 0.6 when compatible, 0 when not."""
    natural = FIELD_TYPE_OF.get(column_type, "string")
    if natural == field_type:
        return 1.0
    as_column = _AS_COLUMN_TYPE.get(field_type, field_type)
    if field_type in ("string", "categorical"):
        return 0.8 if column_type in ("text", "categorical") else 0.5  # anything can be a string
    if column_type in ("text", "categorical"):
        return 0.0  # text where the field wants a typed value: its cells would fail
    return 0.6 if compatible(column_type, as_column) else 0.0


def _column_text(column: Mapping[str, Any]) -> str:
    samples = (column.get("profile") or {}).get("samples") or []
    return " ".join([*tokens(column["name"]), *map(str, samples[:3])])


def _field_text(field: Mapping[str, Any]) -> str:
    return " ".join([*tokens(field["name"]), str(field.get("type", ""))])


def _cosines(
    embed: EmbedTexts | None,
    columns: Sequence[Mapping[str, Any]],
    fields: Sequence[Mapping[str, Any]],
) -> list[list[float]]:
    if embed is None or not columns or not fields:
        return [[0.0] * len(fields) for _ in columns]
    vectors = embed([_column_text(c) for c in columns] + [_field_text(f) for f in fields])
    cols, flds = vectors[: len(columns)], vectors[len(columns) :]
    return [
        [max(0.0, float(sum(a * b for a, b in zip(c, f, strict=True)))) for f in flds] for c in cols
    ]


def suggest(
    columns: Sequence[Mapping[str, Any]],
    fields: Sequence[Mapping[str, Any]],
    *,
    embed: EmbedTexts | None = None,
    history: History | None = None,
    limit: int = 3,
) -> list[dict[str, Any]]:
    """Per column: ``{"column", "type", "suggestions": [{"field", "confidence", "reasons"}]}``
    with the best ``limit`` fields first. Columns are ``{"name", "type", "profile"?}``, fields
    ``{"name", "type", "format"?}``."""
    cosines = _cosines(embed, columns, fields)
    out: list[dict[str, Any]] = []
    for ci, column in enumerate(columns):
        past = (history or {}).get(normalise(column["name"]), {})
        times = sum(past.values())
        ranked = []
        for fi, f in enumerate(fields):
            name = name_similarity(column["name"], f["name"])
            emb = cosines[ci][fi]
            fit = type_fit(column.get("type") or "text", f.get("type") or "string")
            base = W_NAME * name + W_EMBED * emb + W_TYPE * fit
            if fit == 0.0:
                base *= 0.5
            share = past.get(f["name"], 0) / times if times else 0.0
            confidence = base + (1 - base) * HISTORY_WEIGHT * share
            reasons = [
                f"name similarity {name:.2f}",
                f"type {column.get('type')} → {f.get('type')}: {fit:.1f}",
            ]
            if embed is not None:
                reasons.insert(1, f"embedding similarity {emb:.2f}")
            if share:
                reasons.append(f"mapped to {f['name']} {past[f['name']]} time(s) before")
            ranked.append(
                {
                    "field": f["name"],
                    "confidence": round(min(confidence, 1.0), 3),
                    "reasons": reasons,
                }
            )
        ranked.sort(key=lambda s: -s["confidence"])
        out.append(
            {"column": column["name"], "type": column.get("type"), "suggestions": ranked[:limit]}
        )
    return out


def accepted_mapping(
    suggestions: Sequence[Mapping[str, Any]], *, min_confidence: float = 0.5
) -> dict[str, Any]:
    """The mapping that takes every column's best suggestion (each field once, best first)."""
    picks = sorted(
        (
            (s["suggestions"][0]["confidence"], s["column"], s["suggestions"][0]["field"])
            for s in suggestions
            if s["suggestions"]
        ),
        reverse=True,
    )
    taken: set[str] = set()
    mapping: dict[str, Any] = {}
    for confidence, column, field in picks:
        if confidence >= min_confidence and field not in taken:
            taken.add(field)
            mapping[column] = {"field": field}
    return mapping
