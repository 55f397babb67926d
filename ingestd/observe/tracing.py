"""OpenTelemetry traces, behind the ``otel`` extra: a span per HTTP request and per file step.

Tracing is on when the standard variables ask for it: ``OTEL_TRACES_EXPORTER`` (``otlp``,
``console``; ``none`` turns it off) or an OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``); the exporter reads the rest of its ``OTEL_*``
variables itself (headers, protocol, timeout; ``OTEL_SERVICE_NAME``, default ``ingestd``).
Asked for without the extra installed, start-up fails with one line naming
``pip install 'ingestd[otel]'``.

Off, :func:`span` is a shared no-op context manager: the hot path pays one attribute check.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from ingestd.observe.logs import current

EXTRA_HINT = "pip install 'ingestd[otel]'"
_NOOP: AbstractContextManager[None] = contextlib.nullcontext()

_tracer: Any = None  # an opentelemetry Tracer once enabled


class TracingUnavailable(RuntimeError):
    """Tracing was asked for (``OTEL_*``) but the ``otel`` extra is not installed."""


def wanted(env: dict[str, str] | None = None) -> bool:
    """Whether the ``OTEL_*`` variables ask for traces."""
    env = dict(os.environ) if env is None else env
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none" or env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return bool(
        exporter
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def check_available() -> None:
    """Raise :class:`TracingUnavailable` (one line) when traces are wanted but cannot be made."""
    if not wanted():
        return
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        raise TracingUnavailable(
            f"OpenTelemetry traces are configured (OTEL_*) but not installed: {EXTRA_HINT}"
        ) from None


def enable_from_env() -> bool:
    """Set up the tracer from the ``OTEL_*`` variables; False when they do not ask for it."""
    if not wanted():
        return False
    check_available()
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    kind = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    exporter: Any
    if kind == "console":
        exporter = ConsoleSpanExporter()
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise TracingUnavailable(f"the OTLP exporter is not installed: {EXTRA_HINT}") from None
        exporter = OTLPSpanExporter()
    service = os.environ.get("OTEL_SERVICE_NAME", "ingestd")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    use_provider(provider)
    return True


def use_provider(provider: Any) -> None:
    """Trace through ``provider`` (an SDK ``TracerProvider``; tests pass one with an in-memory
    exporter); None turns tracing off."""
    global _tracer
    _tracer = None if provider is None else provider.get_tracer("ingestd")


def enabled() -> bool:
    return _tracer is not None


def span(name: str, **attributes: Any) -> AbstractContextManager[Any]:
    """A span named ``name`` with ``attributes`` and the bound log context (job, file, tenant,
    request ids) as ``ingestd.*`` attributes; a no-op while tracing is off."""
    if _tracer is None:
        return _NOOP
    return _span(name, attributes)


@contextmanager
def _span(name: str, attributes: dict[str, Any]) -> Iterator[Any]:
    fields = {f"ingestd.{k}": v for k, v in current().items()}
    fields.update({k: v for k, v in attributes.items() if v is not None})
    with _tracer.start_as_current_span(name, attributes=fields) as active:
        yield active
