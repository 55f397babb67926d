"""Moved: the views are in ``ingestd/store/views.py`` and ``rfc3339`` in ``ingestd/domain/times.py``.
These names stay importable from here for code written before the move; import from there."""

from __future__ import annotations

from ingestd.domain.times import rfc3339
from ingestd.store.views import file_view, job_view, job_views

__all__ = ["file_view", "job_view", "job_views", "rfc3339"]
