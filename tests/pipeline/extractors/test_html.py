from __future__ import annotations

from pathlib import Path

from ingestd.pipeline.extractors import extract

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

    summary = [(e.kind, e.text, e.section) for e in elements]
    assert summary == [
        ("title", "The Page", "The Page"),
        ("heading", "Main heading", "Main heading"),
        ("paragraph", "First paragraph with\na break.", "Main heading"),
        ("text", "Loose text in a div with a span.", "Main heading"),
        ("list_item", "one", "Main heading"),
        ("list_item", "two", "Main heading"),
        ("list_item", "two-a", "Main heading"),
        ("heading", "Data", "Data"),
        ("table", "Name: Zoë | City: Zürich\nName: Ann", "Data"),
        ("code", "def f():\n    return 1", "Data"),
        ("quote", "Quoted words.", "Data"),
    ]
    assert elements[1].meta == {"level": 1}
    assert elements[6].meta == {"depth": 2}
    assert elements[8].meta == {"caption": "People", "rows": [2, 3]}
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
