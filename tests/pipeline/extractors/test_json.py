from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingestd.domain.errors import FileError
from ingestd.pipeline.extractors import extract


def test_json_is_flattened_into_readable_paths(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    data = {
        "title": "Inventory",
        "owner": {"name": "Zoë", "active": True, "manager": None},
        "items": [{"sku": "A-1", "qty": 3}, {"sku": "B-2", "qty": 0.5, "tags": ["x", "y"]}],
        "empty": {},
    }
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    elements = extract(path, "application/json")

    assert [(e.kind, e.section, e.text) for e in elements] == [
        ("paragraph", ("title",), "title: Inventory"),
        ("paragraph", ("owner",), "owner.name: Zoë\nowner.active: true\nowner.manager: null"),
        (
            "paragraph",
            ("items",),
            "items[0].sku: A-1\nitems[0].qty: 3\nitems[1].sku: B-2\nitems[1].qty: 0.5\n"
            "items[1].tags[0]: x\nitems[1].tags[1]: y",
        ),
    ]


def test_top_level_array_groups_by_item(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text(json.dumps([{"a": 1}, {"a": 2}]))
    elements = extract(path, "application/json")
    assert [(e.text, e.section) for e in elements] == [("[0].a: 1", ()), ("[1].a: 2", ())]


def test_large_groups_are_split(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"values": list(range(120))}))
    elements = extract(path, "application/json")
    assert [len(e.text.splitlines()) for e in elements] == [50, 50, 20]
    assert all(e.section == ("values",) for e in elements)


@pytest.mark.parametrize("depth", [150, 5000])
def test_deep_nesting_is_refused(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * depth + "]" * depth)
    with pytest.raises(FileError) as info:
        extract(path, "application/json")
    assert info.value.code == "parse_error"
    assert "nested too deeply" in info.value.message


def test_malformed_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"a": 1,,}')
    with pytest.raises(FileError) as info:
        extract(path, "application/json")
    assert info.value.code == "parse_error"
    assert "malformed" in info.value.message
    assert "Traceback" not in info.value.message


@pytest.mark.parametrize("content", ["{}", "[]", "null", "  ", '{"a": {}, "b": []}'])
def test_json_without_values(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.json"
    path.write_text(content)
    assert extract(path, "application/json") == []


def test_bom_and_scalar(tmp_path: Path) -> None:
    path = tmp_path / "scalar.json"
    path.write_bytes(b'\xef\xbb\xbf"just a string"')
    assert [e.text for e in extract(path, "application/json")] == ["just a string"]
