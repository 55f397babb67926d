from __future__ import annotations

from pathlib import Path

from ingestd.pipeline.extractors import extract

DOC = """---
title: front matter is metadata, not content
---

# Guide

Intro paragraph with **bold**, `code` and a [link](https://example.com).
Second line of the intro.

## Install

- first step
- second step
  - nested step

1. numbered

```python
print("hello")
```

> A wise quote.

| Name  | Role      |
|-------|-----------|
| Alice | Engineer  |
| Bob   | Designer  |

<div>raw <b>html</b> block</div>

### Deep

Last words.
"""


def test_markdown_structure(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(DOC, encoding="utf-8")

    elements = extract(path, "text/markdown")

    guide, install, deep = ("Guide",), ("Guide", "Install"), ("Guide", "Install", "Deep")
    summary = [(e.kind, e.text, e.section) for e in elements]
    assert summary == [
        ("heading", "Guide", guide),
        (
            "paragraph",
            "Intro paragraph with bold, code and a link.\nSecond line of the intro.",
            guide,
        ),
        ("heading", "Install", install),
        ("list_item", "first step", install),
        ("list_item", "second step", install),
        ("list_item", "nested step", install),
        ("list_item", "numbered", install),
        ("code", 'print("hello")', install),
        ("paragraph", "A wise quote.", install),
        ("table", "Name | Role\nName: Alice | Role: Engineer\nName: Bob | Role: Designer", install),
        ("paragraph", "raw html block", install),
        ("heading", "Deep", deep),
        ("paragraph", "Last words.", deep),
    ]
    headings = [e.level for e in elements if e.kind == "heading"]
    assert headings == [1, 2, 3]
    assert [e.level for e in elements if e.kind == "list_item"] == [1, 1, 2, 1]
    assert elements[7].meta == {"language": "python"}
    assert elements[8].meta == {"quote": True}
    assert elements[9].meta == {"rows": [2, 3]}


def test_markdown_without_text(tmp_path: Path) -> None:
    path = tmp_path / "empty.md"
    path.write_text("\n\n---\n\n", encoding="utf-8")
    assert extract(path, "text/markdown") == []


def test_markdown_in_utf16(tmp_path: Path) -> None:
    path = tmp_path / "u16.md"
    path.write_bytes("# Überschrift\n\nÄrger\n".encode("utf-16"))
    assert [e.text for e in extract(path, "text/markdown")] == ["Überschrift", "Ärger"]
