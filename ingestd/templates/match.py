"""A table's signature against a tenant's templates: exact, or fuzzy with a score.

``TemplateIndex`` is built once from the templates' current columns; ``best`` answers a
signature in well under a millisecond per hundred templates: an inverted index from column keys
to templates picks the candidates that share a column (or, failing that, the first
``FALLBACK_CANDIDATES`` by width), and only those are scored.

The score (0..1) pairs columns greedily by name similarity (types must be compatible), and is
the Dice coefficient of the pairing weighted by each pair's similarity, minus a little for
columns in another order. ``EXACT`` (1.0) means the same keys in the same order.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ingestd.templates.names import name_similarity, normalise
from ingestd.templates.signature import Signature
from ingestd.templates.values import NUMERIC_TYPES, TEMPORAL_TYPES

MATCH_THRESHOLD = 0.85  # at or above: the table is this template's layout (a version if not exact)
SAME_FAMILY = 0.5  # at or above (and below the threshold): a new version of the closest template
PAIR_SIMILARITY = 0.75  # columns whose names are at least this alike can pair
FUZZY_CANDIDATES = 8  # templates sharing the most column keys that get the fuzzy pairing
FALLBACK_CANDIDATES = 10  # when none shares a key: the closest in width


@dataclass(frozen=True, slots=True)
class IndexedTemplate:
    id: str
    version: int
    status: str
    columns: tuple[tuple[str, str, str], ...]  # (name, key, type)
    keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.keys:
            object.__setattr__(self, "keys", tuple(k for _n, k, _t in self.columns))


@dataclass(frozen=True, slots=True)
class Match:
    template_id: str
    version: int
    status: str
    score: float
    exact: bool
    same_columns: bool = False  # the same column keys, in any order


def compatible(a: str, b: str) -> bool:
    if a == b or "text" in (a, b):
        return True
    if a in NUMERIC_TYPES and b in NUMERIC_TYPES:
        return True
    if a in TEMPORAL_TYPES and b in TEMPORAL_TYPES:
        return True
    return {a, b} <= {"categorical", "boolean"} or {a, b} <= {"categorical", "text"}


class TemplateIndex:
    def __init__(self, templates: Iterable[IndexedTemplate]) -> None:
        self.templates = list(templates)
        self._widths = [len(t.columns) for t in self.templates]
        self._by_key: dict[str, list[int]] = defaultdict(list)
        for i, template in enumerate(self.templates):
            for key in set(template.keys):
                self._by_key[key].append(i)

    def add(self, template: IndexedTemplate) -> None:
        """A template made while matching (a new layout): later tables can match it."""
        self.templates.append(template)
        self._widths.append(len(template.columns))
        for key in set(template.keys):
            self._by_key[key].append(len(self.templates) - 1)

    @classmethod
    def from_rows(
        cls, rows: Iterable[tuple[str, int, str, Sequence[dict[str, str]]]]
    ) -> TemplateIndex:
        """From ``(id, version, status, columns)`` with columns as ``{"name", "type"}``."""
        return cls(
            IndexedTemplate(
                id=tid,
                version=version,
                status=status,
                columns=tuple(
                    (c["name"], normalise(c["name"]), c.get("type") or "text") for c in columns
                ),
            )
            for tid, version, status, columns in rows
        )

    def ranked(self, signature: Signature, *, limit: int = 5) -> list[Match]:
        """The closest templates, best first.

        Two stages: every template sharing a column key is scored by its shared keys alone
        (cheap), and only the best ``FUZZY_CANDIDATES`` of them (or, when none shares a key,
        the ``FALLBACK_CANDIDATES`` closest in width) get the fuzzy pairing of names."""
        keys = set(signature.keys)
        hits: dict[int, int] = defaultdict(int)
        for key in keys:
            for i in self._by_key.get(key, ()):
                hits[i] += 1
        width = len(signature.columns)
        if hits:
            sizes = self._widths
            candidates = heapq.nlargest(
                FUZZY_CANDIDATES, hits, key=lambda i: hits[i] / (width + sizes[i])
            )
        else:
            candidates = sorted(
                range(len(self.templates)),
                key=lambda i: abs(len(self.templates[i].columns) - width),
            )[:FALLBACK_CANDIDATES]
        cols = [(c.name, c.key, c.type) for c in signature.columns]
        matches = [self._score(self.templates[i], cols) for i in candidates]
        matches.sort(key=lambda m: (-m.score, m.template_id))
        return [m for m in matches if m.score > 0][:limit]

    def best(self, signature: Signature) -> Match | None:
        ranked = self.ranked(signature, limit=1)
        return ranked[0] if ranked else None

    @staticmethod
    def _score(template: IndexedTemplate, cols: Sequence[tuple[str, str, str]]) -> Match:
        exact = template.keys == tuple(k for _n, k, _t in cols) and all(
            compatible(t, c[2]) for (_n, _k, t), c in zip(template.columns, cols, strict=True)
        )
        if exact:
            return Match(template.id, template.version, template.status, 1.0, True, True)
        score = column_similarity(template.columns, cols)
        same = set(template.keys) == {k for _n, k, _t in cols} and len(template.keys) == len(cols)
        return Match(template.id, template.version, template.status, score, False, same)


def _may_pair(a: str, b: str) -> bool:
    """A cheap bound: names with no letter trigram in common and lengths far apart never pair
    (abbreviations still do: their tokens expand in ``name_similarity``)."""
    if not a or not b:
        return False
    if a[0] == b[0] or a[:2] in b or b[:2] in a:
        return True
    return bool(_grams(a) & _grams(b))


@lru_cache(maxsize=65_536)
def _grams(key: str) -> frozenset[str]:
    return frozenset(key[i : i + 3] for i in range(max(1, len(key) - 2)))


def column_similarity(
    a: Sequence[tuple[str, str, str]], b: Sequence[tuple[str, str, str]]
) -> float:
    """Dice coefficient of a greedy pairing of ``(name, key, type)`` columns."""
    if not a or not b:
        return 0.0
    b_by_key = {key: j for j, (_n, key, _t) in enumerate(b)}
    used: set[int] = set()
    total = 0.0
    moved = 0
    rest: list[int] = []
    for i, (_name, key, kind) in enumerate(a):
        j = b_by_key.get(key)
        if j is not None and j not in used:
            used.add(j)
            total += 1.0 if compatible(kind, b[j][2]) else 0.7
            moved += i != j
        else:
            rest.append(i)
    for i in rest:
        best_j, best = -1, PAIR_SIMILARITY
        for j, (name_b, _key_b, kind_b) in enumerate(b):
            if j in used or not compatible(a[i][2], kind_b):
                continue
            sim = name_similarity(a[i][0], name_b) if _may_pair(a[i][1], _key_b) else 0.0
            if sim >= best:
                best_j, best = j, sim
        if best_j >= 0:
            used.add(best_j)
            total += best
            moved += i != best_j
    dice = 2 * total / (len(a) + len(b))
    return round(max(0.0, dice - 0.02 * min(moved, 5) / max(len(a), 1)), 4)
