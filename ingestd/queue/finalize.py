"""Moved to ``ingestd/store/finish.py`` (the store owns every statement); kept for callers
that have not followed yet."""

from ingestd.store.finish import finish_job_if_done

__all__ = ["finish_job_if_done"]
