"""JSON: flatten to ``path.to.key: value`` lines, grouped by top-level key (or array item)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from ingestd.domain.documents import Element
from ingestd.domain.errors import FileError
from ingestd.pipeline.extractors._common import TABLE_BLOCK_CHARS, translate_errors

# Far deeper than any real document; deep enough that recursion stays well clear of Python's
# limit. (orjson itself refuses more than 1024 levels.)
MAX_DEPTH = 100
BLOCK_LINES = 50
MAX_VALUE_CHARS = 2000


def extract(path: Path) -> list[Element]:
    with translate_errors("the JSON document"):
        data = _load(path)
        return list(_elements(_flatten(data, "", 0)))


def _load(path: Path) -> Any:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # orjson rejects a UTF-8 BOM, which Windows tools like to write
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc) or "recursion" in str(exc).lower():
            raise FileError("parse_error", "the JSON document is nested too deeply") from None
        raise FileError("parse_error", f"the JSON document is malformed: {exc}") from None


def _flatten(value: Any, path: str, depth: int) -> Iterator[tuple[str, str]]:
    """(path, line) pairs for every leaf value, in document order."""
    if depth > MAX_DEPTH:
        raise FileError(
            "parse_error", f"the JSON document is nested too deeply (more than {MAX_DEPTH} levels)"
        )
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _flatten(item, f"{path}[{index}]", depth + 1)
    elif value is not None or path:
        yield path, f"{path}: {_scalar(value)}" if path else _scalar(value)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def _top_key(path: str) -> str:
    """``users[3].name`` → ``users``; ``[3].name`` → ``[3]``: the group a line belongs to."""
    if path.startswith("["):
        return path[: path.index("]") + 1]
    cut = min((i for i in (path.find("."), path.find("[")) if i != -1), default=len(path))
    return path[:cut]


def _elements(lines: Iterator[tuple[str, str]]) -> Iterator[Element]:
    group: list[str] = []
    group_key: str | None = None
    size = 0
    for path, line in lines:
        key = _top_key(path)
        full = len(group) >= BLOCK_LINES or size + len(line) > TABLE_BLOCK_CHARS
        if group and (key != group_key or full):
            yield _element(group, group_key)
            group, size = [], 0
        group.append(line)
        group_key = key
        size += len(line) + 1
    if group:
        yield _element(group, group_key)


def _element(lines: list[str], key: str | None) -> Element:
    # Array items ("[3]") make poor section names; object keys make good ones.
    section = key if key and not key.startswith("[") else None
    return Element(kind="paragraph", text="\n".join(lines), section=(section,) if section else ())
