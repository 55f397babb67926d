"""The ingestd SDK. ``AsyncClient`` is the implementation; ``Client`` runs it synchronously."""

from ingestd.client._async import AsyncClient
from ingestd.client._errors import APIError, ConnectError, IngestdClientError
from ingestd.client._sync import Client

__all__ = ["APIError", "AsyncClient", "Client", "ConnectError", "IngestdClientError"]
