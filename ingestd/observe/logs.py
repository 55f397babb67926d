"""Logs for people (``text``) or machines (``json``), with the context of the work on every line.

The request id, job id, file id, worker id and tenant of the code that logs are kept in a
context variable: bound where the work starts (the request middleware, a worker's file task,
a worker's loops) and copied into each task it starts, so every line logged under it carries
them with no change at the call site::

    with bound(job_id=job.id, tenant=job.tenant):
        log.info("listing %s", source)   # {"msg": "listing …", "job_id": "job_…", "tenant": …}

Secrets never reach a handler: :class:`Redact` rewrites API keys (``ik_…``), webhook secrets
(``whsec_…``), bearer tokens, ``token=``/``key=``/``secret=``/``password=`` values and the
password of a URL (``postgresql://user:***@host``) in every record, whatever logged it.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, Literal

import orjson

FIELDS = ("request_id", "job_id", "file_id", "worker_id", "tenant")

_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "ingestd_log_context",
    default=MappingProxyType({}),  # read-only: never mutated
)


class Bound:
    """A binding to undo with :meth:`reset` (or use :func:`bound` as a context manager)."""

    __slots__ = ("_token",)

    def __init__(self, token: contextvars.Token[Mapping[str, str]]) -> None:
        self._token = token

    def reset(self) -> None:
        with contextlib.suppress(ValueError):  # set in another context: harmless
            _context.reset(self._token)

    def __enter__(self) -> Bound:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reset()


def bound(**fields: str | None) -> Bound:
    """Add ``fields`` (None values are skipped) to the context of this task and what it starts."""
    merged = {**_context.get(), **{k: v for k, v in fields.items() if v is not None}}
    return Bound(_context.set(merged))


def current() -> Mapping[str, str]:
    """The fields bound here (for spans and tests)."""
    return _context.get()


def context_with(**fields: str | None) -> contextvars.Context:
    """A copy of the current context with ``fields`` bound: for ``create_task(…, context=)``."""
    ctx = contextvars.copy_context()
    ctx.run(bound, **fields)
    return ctx


# -- secrets -------------------------------------------------------------------------------------
_SECRETS = [
    (re.compile(r"\bik_[A-Za-z0-9_\-]{8,}"), "ik_***"),  # API keys
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_\-]{8,}"), "whsec_***"),  # webhook secrets
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]+"), r"\1***"),
    (re.compile(r"(?i)(x-api-key[\"']?\s*[:=]\s*[\"']?)[^\s\"',&]+"), r"\1***"),
    (
        re.compile(
            r"(?i)\b((?:token|api_key|key|secret|password|passwd|access_key|secret_access_key|"
            r"aws_secret_access_key|admin_key)[\"']?\s*[=:]\s*[\"']?)[^\s\"',&]+"
        ),
        r"\1***",
    ),
    (re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:)[^@\s/]+@"), r"\1***@"),  # URL passwords
]


def redact(text: str) -> str:
    """``text`` with every secret it shows replaced by ``***``."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class Redact(logging.Filter):
    """On a handler: every record passes through it, whichever logger made it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: the handler reports it
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class WithContext(logging.Filter):
    """Copies the bound fields onto the record (``record.job_id`` …)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


# -- formats -------------------------------------------------------------------------------------
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time``, ``level``, ``logger``, ``msg``, the bound fields, any
    ``extra=`` fields, and ``exc`` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                line[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            line["exc"] = record.exc_text
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """The classic line, with the bound ids appended (``job_id=… file_id=…``)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(f"{k}={getattr(record, k)}" for k in FIELDS if hasattr(record, k))
        return f"{text} [{extra}]" if extra else text


LogFormat = Literal["text", "json"]


def setup(level: str = "info", fmt: LogFormat = "text", *, stream: Any = None) -> logging.Handler:
    """Configure the root logger: one handler, the chosen format, context and redaction on
    every record (uvicorn's loggers included: they propagate to it). Returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(WithContext())
    handler.addFilter(Redact())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_ingestd", False)]:
        root.removeHandler(old)
    handler._ingestd = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # one format for all lines
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    return handler


@contextmanager
def binding(**fields: str | None) -> Iterator[None]:
    with bound(**fields):
        yield
