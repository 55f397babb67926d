"""What changed between two column lists: added, removed, renamed, retyped.

A removed column and an added one are a rename when their names are alike (``name_similarity``
≥ ``RENAME_SIMILARITY``) or they stand at the same position with the same type.

>>> d = diff_columns([{"name": "Qty", "type": "integer"}, {"name": "Price", "type": "decimal"}],
...                  [{"name": "Quantity", "type": "integer"}, {"name": "Price", "type": "currency"},
...                   {"name": "Note", "type": "text"}])
>>> d["renamed"], d["retyped"], d["added"]
([{'from': 'Qty', 'to': 'Quantity'}], [{'column': 'Price', 'from': 'decimal', 'to': 'currency'}], ['Note'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ingestd.templates.names import name_similarity, normalise

RENAME_SIMILARITY = 0.7


def diff_columns(old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``{"added": [names], "removed": [names], "renamed": [{"from", "to"}],
    "retyped": [{"column", "from", "to"}]}`` from ``old`` to ``new`` (dicts with ``name``, ``type``)."""
    old_by_key = {normalise(c["name"]): (i, c) for i, c in enumerate(old)}
    new_by_key = {normalise(c["name"]): (i, c) for i, c in enumerate(new)}
    retyped = [
        {"column": c["name"], "from": old_by_key[k][1].get("type"), "to": c.get("type")}
        for k, (_i, c) in new_by_key.items()
        if k in old_by_key and old_by_key[k][1].get("type") != c.get("type")
    ]
    gone = [(i, c) for k, (i, c) in old_by_key.items() if k not in new_by_key]
    came = [(i, c) for k, (i, c) in new_by_key.items() if k not in old_by_key]
    renamed: list[dict[str, Any]] = []
    pairs = sorted(
        (
            (_rename_score(i, a, j, b), i, j)
            for i, a in gone
            for j, b in came
            if _rename_score(i, a, j, b) >= RENAME_SIMILARITY
        ),
        reverse=True,
    )
    used_old: set[int] = set()
    used_new: set[int] = set()
    for _score, i, j in pairs:
        if i in used_old or j in used_new:
            continue
        used_old.add(i)
        used_new.add(j)
        renamed.append({"from": old[i]["name"], "to": new[j]["name"]})
    return {
        "added": [c["name"] for j, c in came if j not in used_new],
        "removed": [c["name"] for i, c in gone if i not in used_old],
        "renamed": renamed,
        "retyped": retyped,
    }


def _rename_score(i: int, a: dict[str, Any], j: int, b: dict[str, Any]) -> float:
    score = name_similarity(a["name"], b["name"])
    if i == j and a.get("type") == b.get("type"):
        score = max(score, RENAME_SIMILARITY)
    return score


def is_empty(diff: dict[str, Any]) -> bool:
    return not any(diff.get(k) for k in ("added", "removed", "renamed", "retyped"))
