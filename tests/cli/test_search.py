"""``ingestd search``: a Rich table or the JSON answer, options passed through, errors in one
line. The server is a mock transport behind the real SDK (no process to start)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import ingestd.cli.connect as connect
from ingestd.cli import app
from ingestd.cli.search import snippet

ENV = {"COLUMNS": "200", "INGESTD_URL": "http://ingestd.test", "INGESTD_KEY": "ik_cli"}


def hit(score: float, path: str, page: int | None, text: str) -> dict[str, Any]:
    return {
        "score": score,
        "match": "vector",
        "job_id": "job_1",
        "file": {"id": "file_1", "name": path.rsplit("/", 1)[-1], "path": path},
        "chunk": {"index": 0, "text": text, "metadata": {"page": page}, "embedder": "hash-384"},
        "position": {"start": 0, "end": len(text), "page": page},
    }


ANSWER = {
    "items": [
        hit(0.8123, "logs/voyage.pdf", 3, "Day two: the barometer fell fast."),
        hit(0.4, "notes/[draft].md", None, "A [bold]barometer[/bold] reading, not markup."),
    ],
    "query": "barometer",
    "mode": "vector",
    "truncated": False,
}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[httpx.Request]]:
    """``server(status, body)`` answers every request so and returns the requests it saw."""

    def install(status: int = 200, body: dict[str, Any] | None = None) -> list[httpx.Request]:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            headers = {"content-type": "application/problem+json"} if status >= 400 else {}
            return httpx.Response(status, json=body or ANSWER, headers=headers)

        monkeypatch.setattr(connect, "transport", lambda: httpx.MockTransport(handler))
        return seen

    return install


def test_prints_a_table_of_hits(server: Callable[..., list[httpx.Request]]) -> None:
    seen = server()
    result = CliRunner().invoke(app, ["search", "barometer"], env=ENV)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    first = next(line for line in lines if "voyage.pdf" in line)
    assert "0.812" in first and "logs/voyage.pdf" in first and " 3 " in first
    assert "Day two: the barometer fell fast." in first
    # Paths and texts are shown as they are, never read as Rich markup.
    assert "notes/[draft].md" in result.stdout and "[bold]barometer[/bold]" in result.stdout
    assert "mode: vector" in result.stdout
    assert dict(seen[0].url.params) == {"q": "barometer", "k": "10"}
    assert seen[0].headers["authorization"] == "Bearer ik_cli"


def test_json_and_options(server: Callable[..., list[httpx.Request]]) -> None:
    seen = server()
    result = CliRunner().invoke(
        app, ["search", "barometer", "--job", "job_1", "-k", "2", "--json"], env=ENV
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == ANSWER
    assert dict(seen[0].url.params) == {"q": "barometer", "k": "2", "job_id": "job_1"}


def test_k_is_bounded_before_asking(server: Callable[..., list[httpx.Request]]) -> None:
    seen = server()
    for k in ("0", "101"):
        result = CliRunner().invoke(app, ["search", "x", "-k", k], env=ENV)
        assert result.exit_code == 2
    assert seen == []


def test_problems_are_one_line_and_exit_1(server: Callable[..., list[httpx.Request]]) -> None:
    server(404, {"code": "not_found", "status": 404, "detail": "no job job_9"})
    result = CliRunner().invoke(app, ["search", "x", "--job", "job_9"], env=ENV)
    assert result.exit_code == 1
    assert "no job job_9 (not_found)" in result.stderr and "Traceback" not in result.output


def test_no_hits_and_truncation_are_said(server: Callable[..., list[httpx.Request]]) -> None:
    server(200, {"items": [], "query": "x", "mode": "lexical", "truncated": True})
    result = CliRunner().invoke(app, ["search", "x"], env=ENV)
    assert result.exit_code == 0 and result.stdout == ""
    assert "no chunk matches" in result.stderr and "newest chunks" in result.stderr


def test_snippet_starts_near_the_match() -> None:
    text = "filler words " * 30 + "the BAROMETER fell\n\nfast " + "more filler " * 30
    short = snippet(text, "barometer", width=60)
    assert short.startswith("…") and short.endswith("…") and "BAROMETER fell fast" in short
    assert len(short) == 62
    assert snippet("  two\n\nlines  ", "x") == "two lines"
    assert snippet("a" * 100, "zzz", width=10) == "a" * 10 + "…"
