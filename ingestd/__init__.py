"""ingestd: a self-hosted document-ingestion service."""

__version__ = "0.1.0"

__all__ = ["__version__"]
