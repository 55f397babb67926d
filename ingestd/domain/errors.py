"""The exception tree. Each error carries its problem ``code`` and HTTP status.

    IngestdError                       (500 internal_error)
    ├── ValidationFailed               (422 validation_error)
    │   └── BadRequest                 (400 validation_error)
    ├── AuthenticationFailed           (401 authentication_error)
    ├── PermissionDenied               (403 permission_denied)
    ├── NotFound                       (404 not_found)
    │   ├── NoContent                  (404 no_content: the pipeline kept no bytes)
    │   └── NoDocument                 (404 no_document: no extracted document to serve)
    ├── Conflict                       (409 conflict)
    │   └── InvalidTransition          (409 conflict, names the current status)
    ├── PayloadTooLarge                (413 payload_too_large)
    ├── UnsupportedMediaType           (415 unsupported_media_type)
    ├── RateLimited                    (429 rate_limit_exceeded)
    ├── Unavailable                    (503 unavailable)
    └── FileError                      a single file failed; never reaches HTTP
        (code such as ``parse_error``, ``too_large``, ``type_not_allowed``, ``empty_file``,
        ``malware_detected``; the scan codes are listed in ``pipeline/scan.py``)

Code below the API raises these; the API maps them to RFC 9457 problem+json in one place.
"""

from __future__ import annotations

from typing import Any


class IngestdError(Exception):
    code = "internal_error"
    status = 500
    title = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class ValidationFailed(IngestdError):
    code = "validation_error"
    status = 422
    title = "Validation error"


class BadRequest(ValidationFailed):
    status = 400
    title = "Bad request"


class AuthenticationFailed(IngestdError):
    code = "authentication_error"
    status = 401
    title = "Authentication required"


class PermissionDenied(IngestdError):
    code = "permission_denied"
    status = 403
    title = "Permission denied"


class NotFound(IngestdError):
    code = "not_found"
    status = 404
    title = "Not found"


class NoContent(NotFound):
    code = "no_content"
    title = "No content kept"


class NoDocument(NotFound):
    code = "no_document"
    title = "No document"


class Conflict(IngestdError):
    code = "conflict"
    status = 409
    title = "Conflict"


class InvalidTransition(Conflict):
    def __init__(self, kind: str, current: str, action: str) -> None:
        super().__init__(f"cannot {action} a {kind} that is {current}")
        self.current = current
        self.action = action


class PayloadTooLarge(IngestdError):
    code = "payload_too_large"
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(IngestdError):
    code = "unsupported_media_type"
    status = 415
    title = "Unsupported media type"


class RateLimited(IngestdError):
    code = "rate_limit_exceeded"
    status = 429
    title = "Too many requests"

    def __init__(
        self, detail: str, *, retry_after: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.headers = headers or {}


class Unavailable(IngestdError):
    code = "unavailable"
    status = 503
    title = "Service unavailable"


class FileError(IngestdError):
    """One file could not be processed. ``code`` is per instance (e.g. ``parse_error``).

    ``retryable`` says whether another attempt could succeed (a timeout may; a corrupt PDF won't,
    but the user may still retry it by hand).
    """

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable

    def __reduce__(self) -> tuple[Any, ...]:
        # Crosses process boundaries (extraction runs in a process pool).
        return (_rebuild_file_error, (self.code, self.message, self.retryable))


def _rebuild_file_error(code: str, message: str, retryable: bool) -> FileError:
    return FileError(code, message, retryable=retryable)
