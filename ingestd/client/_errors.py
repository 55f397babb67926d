"""Errors the SDK raises: one root, and a class per problem ``code`` the API answers with.

IngestdClientError                anything that went wrong talking to ingestd
├── ConnectError                  no server answered at the URL (after the retries)
├── RequestTimeout                the server did not answer in time (also a TimeoutError)
├── WaitTimeout                   ``jobs.wait(…, timeout=…)`` gave up; ``.job`` is the last seen
├── UploadError                   a local file could not be read or sent
└── APIError                      the server answered with a problem+json error
    ├── BadRequestError           400 and 422 ``validation_error``
    ├── AuthenticationError       401 ``authentication_error``
    ├── PermissionDeniedError     403 ``permission_denied``
    ├── NotFoundError             404 ``not_found``
    ├── ConflictError             409 ``conflict`` (e.g. an action the job's status forbids)
    ├── PayloadTooLargeError      413 ``payload_too_large``
    ├── RateLimitError            429 ``rate_limit_exceeded`` (retried by itself first)
    └── UnavailableError          503 ``unavailable`` (retried by itself first)

httpx's own exceptions never escape: they are translated where a request is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingestd.client._models import Job


class IngestdClientError(Exception):
    """The root of every error the SDK raises."""


class ConnectError(IngestdClientError):
    """No server answered at the client's URL, after the retries."""


class RequestTimeout(IngestdClientError, TimeoutError):
    """The server took longer than the client's ``timeout`` to answer."""


class WaitTimeout(IngestdClientError, TimeoutError):
    """``jobs.wait`` ran out of time; the job goes on. ``job`` is the last state seen."""

    def __init__(self, message: str, job: Job) -> None:
        super().__init__(message)
        self.job = job


class UploadError(IngestdClientError):
    """A local file could not be read (or changed while it was being sent)."""


class APIError(IngestdClientError):
    """The server refused the request with an RFC 9457 problem.

    ``status`` is the HTTP status, ``code`` the problem's code (``not_found``, ``conflict``, …),
    ``detail`` what to do about it, ``problem`` the whole problem document.
    """

    def __init__(
        self, status: int, code: str, detail: str, problem: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.problem: dict[str, Any] = problem or {}

    @property
    def body(self) -> dict[str, Any]:
        """The problem document (the name the first SDK used)."""
        return self.problem

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Per-field errors of a validation problem, else empty."""
        errors = self.problem.get("errors")
        return errors if isinstance(errors, list) else []

    @property
    def request_id(self) -> str | None:
        value = self.problem.get("request_id")
        return value if isinstance(value, str) else None


class BadRequestError(APIError):
    """400 or 422: the request was malformed or a value was refused."""


class AuthenticationError(APIError):
    """401: no key, or the key is not valid (set ``INGESTD_KEY`` or pass ``api_key=``)."""


class PermissionDeniedError(APIError):
    """403: the key's role does not allow this."""


class NotFoundError(APIError):
    """404: no such resource (or another tenant's)."""


class ConflictError(APIError):
    """409: the resource's state does not allow this."""


class PayloadTooLargeError(APIError):
    """413: a file or body is over the server's or the job's limit."""


class RateLimitError(APIError):
    """429: too many requests; the SDK retried, honouring ``Retry-After``, before raising."""


class UnavailableError(APIError):
    """503: the server could not reach its database or storage; retried before raising."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: BadRequestError,
    429: RateLimitError,
    503: UnavailableError,
}


def api_error(status: int, problem: dict[str, Any], reason: str) -> APIError:
    """The exception for a problem answer (any JSON body, or none)."""
    code = str(problem.get("code") or "http_error")
    detail = str(problem.get("detail") or problem.get("title") or reason or f"HTTP {status}")
    return _BY_STATUS.get(status, APIError)(status, code, detail, problem)
