"""Moved to ``ingestd/store/listing.py`` (the store owns every statement); kept for callers
that have not followed yet."""

from ingestd.store.listing import count_in

__all__ = ["count_in"]
