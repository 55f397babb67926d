"""Checks made before a process starts anything: every setting that needs an optional extra finds
it installed, and the blob store URL can work. Each problem is one line that names the setting and,
for a missing extra, the ``pip install 'ingestd[…]'`` that fixes it — never a traceback from an
import deep inside the start-up.

The CLI reports a problem as a usage error naming the flag or the variable (``cli/options.py``);
:class:`~ingestd.runtime.Runtime` raises :class:`ConfigError` for an app built in code.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from ingestd.blobs.base import BlobStoreConfigError
from ingestd.config import Settings
from ingestd.observe import tracing


@dataclass(frozen=True, slots=True)
class Extra:
    """An optional dependency group: its name in ``pip install 'ingestd[name]'`` and the module
    whose presence means it is installed."""

    name: str
    module: str
    what: str  # what needs it, for the message

    @property
    def installed(self) -> bool:
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):  # a parent package missing, or a broken install
            return False

    def missing(self) -> str:
        return (
            f"{self.what} needs the {self.module} package, which is not installed: "
            f"pip install 'ingestd[{self.name}]'"
        )


POSTGRES = Extra("postgres", "asyncpg", "PostgreSQL")
REDIS = Extra("redis", "redis", "Redis")
S3 = Extra("s3", "boto3", "S3 storage")
EMBEDDINGS = Extra("embeddings", "sentence_transformers", "the minilm embedder")
OTEL = Extra("otel", "opentelemetry.sdk", "OpenTelemetry traces (asked for by OTEL_*)")
OCR = Extra("ocr", "tesserocr", "OCR of images and scanned pages")
TOKENS = Extra("tokens", "tokenizers", 'chunk_unit "tokens"')
EXTRAS = (POSTGRES, REDIS, S3, EMBEDDINGS, OCR, TOKENS, OTEL)  # what `ingestd doctor` lists


@dataclass(frozen=True, slots=True)
class Problem:
    field: str  # the Settings field at fault
    message: str


class ConfigError(Exception):
    """The settings cannot work as given; ``str()`` is one line saying what to change."""


def problems(settings: Settings) -> list[Problem]:
    """Every problem found, cheapest checks first (nothing is imported that is not needed)."""
    found: list[Problem] = []
    if settings.database.url.startswith("postgresql+asyncpg") and not POSTGRES.installed:
        found.append(Problem("database_url", POSTGRES.missing()))
    if (settings.redis_url or settings.event_feed == "redis") and not REDIS.installed:
        found.append(Problem("redis_url", REDIS.missing()))
    if settings.blob_url:
        from ingestd.blobs.url import check_blob_url

        try:
            check_blob_url(settings.blob_url)
        except BlobStoreConfigError as exc:
            found.append(Problem("blob_url", str(exc)))
    if tracing.wanted() and not OTEL.installed:
        found.append(Problem("OTEL_TRACES_EXPORTER", OTEL.missing()))
    return found


def check(settings: Settings) -> None:
    """Raise :class:`ConfigError` naming the first problem, with its environment variable."""
    for problem in problems(settings):
        variable = problem.field if problem.field.isupper() else f"INGESTD_{problem.field.upper()}"
        raise ConfigError(f"{variable}: {problem.message}")


__all__ = ["EMBEDDINGS", "POSTGRES", "REDIS", "S3", "ConfigError", "Extra", "Problem", "check"]
