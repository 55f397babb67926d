"""observe/logs.py and observe/tracing.py: context on every line, secrets never logged, and a
span per HTTP request and per file step (the SDK's in-memory exporter)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ingestd import preflight
from ingestd.observe import logs, tracing
from tests.conftest import ADMIN_KEY, App

SECRETS = [
    "ik_live_0123456789abcdefghij",
    "whsec_c2VjcmV0c2VjcmV0c2VjcmV0",
    "hunter2-db-password",
    "AKIAsecretvalue123/xyz",
]


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    logs.setup("debug", "json", stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line]
    return [e for e in lines if str(e["logger"]).startswith("ingestd")]


def test_bound_fields_are_on_every_line_and_in_tasks(captured: io.StringIO) -> None:
    log = logging.getLogger("ingestd.test")

    async def main() -> None:
        with logs.bound(job_id="job_1", tenant="acme"):
            log.info("outer")

            async def child() -> None:
                with logs.bound(file_id="file_9"):
                    log.warning("inner %d", 7)

            await asyncio.create_task(child())
        log.info("after")

    asyncio.run(main())
    outer, inner, after = _lines(captured)
    assert outer["msg"] == "outer" and outer["job_id"] == "job_1" and outer["tenant"] == "acme"
    assert inner["msg"] == "inner 7" and inner["file_id"] == "file_9" and inner["job_id"] == "job_1"
    assert inner["level"] == "warning" and inner["logger"] == "ingestd.test"
    assert "job_id" not in after and "file_id" not in after


def test_secrets_never_reach_the_log(captured: io.StringIO) -> None:
    log = logging.getLogger("ingestd.test")
    log.info("key %s used", SECRETS[0])
    log.info("Authorization: Bearer %s", SECRETS[0])
    log.info("webhook secret=%s", SECRETS[1])
    log.info("GET /api/v1/events?token=%s&after=3", SECRETS[0])
    log.info("connecting to postgresql://ingestd:%s@db:5432/ingestd", SECRETS[2])
    log.info("s3 config", extra={"note": f"aws_secret_access_key={SECRETS[3]}"})
    try:
        raise RuntimeError(f"failed with password={SECRETS[2]}")
    except RuntimeError:
        log.exception("boom")
    logging.getLogger("uvicorn.error").info("handshake ?api_key=%s", SECRETS[0])
    text = captured.getvalue()
    for secret in SECRETS[:3]:
        assert secret not in text, text
    assert "postgresql://ingestd:***@db:5432" in text
    assert "boom" in text and "RuntimeError" in text


def test_text_format_appends_the_ids() -> None:
    stream = io.StringIO()
    handler = logs.setup("info", "text", stream=stream)
    try:
        with logs.bound(job_id="job_7", request_id="abc"):
            logging.getLogger("ingestd.test").info("hello ik_abcdefghijklmnop")
    finally:
        logging.getLogger().removeHandler(handler)
    line = stream.getvalue().strip()
    assert line.endswith("[request_id=abc job_id=job_7]") and "ik_***" in line


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    yield exporter
    tracing.use_provider(None)


async def test_a_span_per_request_and_per_file_step(
    spans: InMemorySpanExporter, sqlite_app: App, docs: Path
) -> None:
    app = sqlite_app
    (docs / "a.md").write_text("# A\n\ntext " * 50)
    created = await app.client.post(
        "/api/v1/jobs",
        json={"sources": [{"type": "directory", "path": "docs"}], "pipeline": "extract"},
    )
    job_id = created.json()["id"]
    await app.wait_job(job_id)
    await app.client.get(f"/api/v1/jobs/{job_id}")
    finished = spans.get_finished_spans()
    by_name = {s.name: s for s in finished}
    request = by_name["GET /api/v1/jobs/{job_id}"]
    assert request.attributes is not None
    assert request.attributes["http.route"] == "/api/v1/jobs/{job_id}"
    assert request.attributes["http.response.status_code"] == 200
    assert request.attributes["ingestd.request_id"]
    file_span = by_name["file"]
    assert file_span.attributes is not None and file_span.attributes["ingestd.job_id"] == job_id
    steps = [s for s in finished if s.name.startswith("step ")]
    assert {s.name for s in steps} >= {"step fetch", "step detect", "step parse", "step record"}
    assert all(
        s.parent is not None and s.parent.span_id == file_span.context.span_id for s in steps
    )
    assert ADMIN_KEY not in json.dumps([dict(s.attributes or {}) for s in finished])


def test_tracing_follows_the_standard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not tracing.wanted({})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "console"})
    assert not tracing.wanted({"OTEL_TRACES_EXPORTER": "none"})
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    try:
        assert tracing.enable_from_env() and tracing.enabled()
    finally:
        tracing.use_provider(None)


def test_a_missing_otel_extra_is_one_line(
    monkeypatch: pytest.MonkeyPatch, make_settings: object
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setattr(
        preflight, "OTEL", preflight.Extra("otel", "opentelemetry_not_installed", "OTel traces")
    )
    settings = make_settings()  # type: ignore[operator]
    with pytest.raises(preflight.ConfigError) as raised:
        preflight.check(settings)
    message = str(raised.value)
    assert "\n" not in message and "pip install 'ingestd[otel]'" in message
    assert message.startswith("OTEL_TRACES_EXPORTER:")
