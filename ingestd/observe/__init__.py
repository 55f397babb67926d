"""Seeing inside a running ingestd: Prometheus metrics (``metrics.py``), structured logs with
context (``logs.py``) and OpenTelemetry traces (``tracing.py``, the ``otel`` extra).

This package sits low in the layers (below the store, above the settings): every layer may
record a metric or open a span with one line, and nothing here imports the rest of ingestd.
"""
