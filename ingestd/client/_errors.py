"""Errors the SDK raises.

IngestdClientError           anything that went wrong talking to the server
├── ConnectError             no server answered at the URL
└── APIError                 the server answered with a problem+json error
"""

from __future__ import annotations

from typing import Any


class IngestdClientError(Exception):
    pass


class ConnectError(IngestdClientError):
    pass


class APIError(IngestdClientError):
    def __init__(
        self, status: int, code: str, detail: str, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.body = body or {}
