from __future__ import annotations

from pathlib import Path

from ingestd.pipeline.extractors import extract, extract_document

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>The  Page</title>
<style>body { color: red }</style><script>var x = "do not index";</script></head>
<body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<div role="navigation">Skip me</div>
<main>
  <h1>Main heading</h1>
  <p>First <b>paragraph</b> with<br>a break.</p>
  <div>Loose text in a div <span>with a span</span>.</div>
  <ul><li>one</li><li>two<ul><li>two-a</li></ul></li></ul>
  <h2>Data</h2>
  <table><caption>People</caption>
    <tr><th>Name</th><th>City</th></tr>
    <tr><td>Zoë</td><td>Zürich</td></tr>
    <tr><td>Ann</td><td></td></tr>
  </table>
  <pre><code>def f():
    return 1</code></pre>
  <blockquote><p>Quoted words.</p></blockquote>
</main>
<footer>Copyright noise</footer>
</body></html>
"""


def test_html_structure(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(PAGE, encoding="utf-8")

    elements = extract(path, "text/html")

    main, data = ("Main heading",), ("Main heading", "Data")
    summary = [(e.kind, e.level, e.text, e.section) for e in elements]
    assert summary == [
        ("heading", 1, "Main heading", main),
        ("paragraph", None, "First paragraph with\na break.", main),
        ("paragraph", None, "Loose text in a div with a span.", main),
        ("list_item", 1, "one", main),
        ("list_item", 1, "two", main),
        ("list_item", 2, "two-a", main),
        ("heading", 2, "Data", data),
        ("table", None, "People\nName | City\nName: Zoë | City: Zürich\nName: Ann", data),
        ("code", None, "def f():\n    return 1", data),
        ("paragraph", None, "Quoted words.", data),
    ]
    assert elements[7].table is not None and elements[7].table.caption == "People"
    assert elements[9].meta == {"quote": True}
    document = extract_document(path, "text/html")
    assert document.metadata["title"] == "The Page"
    assert "Copyright noise" in document.metadata["furniture"]
    everything = " ".join(e.text for e in elements)
    for noise in ("do not index", "Home", "Skip me", "Copyright", "color: red"):
        assert noise not in everything


def test_xhtml_parses_without_warnings(tmp_path: Path) -> None:
    path = tmp_path / "page.xhtml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>XHTML body</p></body></html>',
        encoding="utf-8",
    )
    assert [e.text for e in extract(path, "text/html")] == ["XHTML body"]


def test_html_honours_meta_charset(tmp_path: Path) -> None:
    path = tmp_path / "latin.html"
    html = '<html><head><meta charset="iso-8859-1"></head><body><p>Crème brûlée</p></body></html>'
    path.write_bytes(html.encode("latin-1"))
    assert [e.text for e in extract(path, "text/html")] == ["Crème brûlée"]


def test_html_without_text(tmp_path: Path) -> None:
    path = tmp_path / "empty.html"
    path.write_text("<html><body><script>x()</script><div> </div></body></html>")
    assert extract(path, "text/html") == []
