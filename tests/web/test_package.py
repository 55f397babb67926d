"""The dashboard ships inside the package (no build step, nothing fetched at run time), its
JavaScript parses, and ``ingestd serve`` says where it is."""

from __future__ import annotations

import fnmatch
import io
import shutil
import subprocess
import tomllib
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from ingestd.cli import serve
from ingestd.config import Settings
from ingestd.web import assets
from tests.needs import missing

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "ingestd" / "web" / "static"


def test_importlib_resources_finds_every_file() -> None:
    folder = resources.files("ingestd.web").joinpath("static")
    names = {entry.name for entry in folder.iterdir() if entry.is_file()}
    assert {"index.html", "app.js", "dashboard.css"} <= names
    assert set(assets.load()) == names  # every file there is served (none of an unknown type)
    assert assets.page().body == folder.joinpath("index.html").read_bytes()


def test_package_data_carries_every_static_file_into_wheels() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["ingestd"]
    files = [p for p in STATIC.rglob("*") if p.is_file()]
    assert files
    for path in files:
        relative = path.relative_to(ROOT / "ingestd").as_posix()
        # setuptools globs per directory: "web/static/*" does not reach into a subfolder
        assert any(
            fnmatch.fnmatch(relative, p) and relative.count("/") == p.count("/") for p in patterns
        ), f"{relative} is not package data: add it to [tool.setuptools.package-data]"


def test_nothing_is_fetched_from_elsewhere() -> None:
    for path in STATIC.iterdir():
        text = path.read_text()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", ""), path.name
        assert "https://" not in text.replace("https://example.org", ""), path.name
        assert "//cdn" not in text and "@import" not in text, path.name


def test_every_module_parses() -> None:
    node = shutil.which("node")
    if node is None:
        missing("node is not installed: the dashboard's JavaScript cannot be checked")
    modules = sorted(STATIC.glob("*.js"))
    assert modules
    for module in modules:
        # Given a file, `node --check` guesses its module type and has passed broken ES
        # modules; from stdin with --input-type=module it parses them as the browser does.
        result = subprocess.run(
            [node, "--input-type=module", "--check"],
            input=module.read_bytes(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, f"{module.name}: {result.stderr.decode()}"


def test_the_check_catches_a_syntax_error() -> None:
    node = shutil.which("node")
    if node is None:
        missing("node is not installed: the dashboard's JavaScript cannot be checked")
    result = subprocess.run(
        [node, "--input-type=module", "--check"],
        input=b'import { a } from "./b.js";\nconst c = ;\n',
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0


def test_serve_prints_the_dashboard_url(
    monkeypatch: pytest.MonkeyPatch, make_settings: Any
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(serve, "console", Console(file=out, width=200))
    settings: Settings = make_settings(host="127.0.0.1", port=8123)
    runtime: Any = SimpleNamespace(run_workers=False, bootstrap_key=None)
    serve._banner(settings, runtime)
    assert "Dashboard     http://127.0.0.1:8123/dashboard" in out.getvalue()
