"""``/api/v1/uploads``: the tus 1.0 protocol over :mod:`ingestd.services.tus`.

Extensions: creation, creation-with-upload, creation-defer-length, termination, checksum
(sha1, sha256) and expiration. Every response, errors included, carries ``Tus-Resumable``;
errors keep our problem+json body (tus clients read only the status). The process's runtime
sweeps expired unfinished uploads (``TusExpiry`` in ``services/tus.py``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from email.utils import formatdate
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect

from ingestd.api.deps import Caller, Writer
from ingestd.api.problems import PROBLEM
from ingestd.api.schemas import ERRORS
from ingestd.domain.errors import BadRequest, UnsupportedMediaType
from ingestd.services import tus
from ingestd.services.tus import TUS_VERSION, Checksum, TusService
from ingestd.store import uploads as upload_store

log = logging.getLogger("ingestd.api")

OCTETS = "application/offset+octet-stream"


def _tus_headers(settings_max: int) -> dict[str, str]:
    return {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": ",".join(tus.EXTENSIONS),
        "Tus-Max-Size": str(settings_max),
        "Tus-Checksum-Algorithm": ",".join(tus.CHECKSUMS),
    }


class TusRoute(APIRoute):
    """Renders errors here rather than in the app's handlers so that they, too, carry the tus
    headers. (A HEAD error keeps its body: the HTTP server drops it on the wire.)"""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def tus_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:
                response = await _render(request, exc)
                if isinstance(exc, tus.UnsupportedVersion):
                    response.headers["Tus-Version"] = TUS_VERSION
            response.headers["Tus-Resumable"] = TUS_VERSION
            return response

        return tus_handler


async def _render(request: Request, exc: Exception) -> Response:
    handlers: dict[Any, Any] = request.app.exception_handlers
    for cls in type(exc).__mro__:
        if cls in handlers:
            return await handlers[cls](request, exc)  # type: ignore[no-any-return]
    raise exc


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {}}}


TUS_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    410: _problem("The upload was terminated or has expired"),
    412: _problem("Tus-Resumable is not 1.0.0 (Tus-Version lists what is)"),
    423: _problem("Another request is writing this upload"),
    460: _problem("Checksum mismatch: the PATCH's bytes were discarded"),
}

router = APIRouter(
    prefix="/api/v1/uploads",
    tags=["uploads"],
    route_class=TusRoute,
    responses=TUS_ERRORS,
)


def _require_version(request: Request) -> None:
    """412 unless ``Tus-Resumable: 1.0.0``; declared after the key so 401/403 come first."""
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise tus.UnsupportedVersion(f"this server speaks tus {TUS_VERSION}")


TusVersion = Annotated[None, Depends(_require_version)]


def _service(request: Request) -> TusService:
    return request.app.state.tus  # type: ignore[no-any-return]


def _int_header(request: Request, name: str, *, required: bool = False) -> int | None:
    raw = request.headers.get(name)
    if raw is None:
        if required:
            raise BadRequest(f"the {name} header is required")
        return None
    if not raw.isdigit():
        raise BadRequest(f"{name} must be a non-negative integer")
    return int(raw)


async def _body(request: Request) -> AsyncIterator[bytes]:
    """The request body as it arrives; a client that goes away simply ends it."""
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        return


def _state_headers(row: dict[str, Any]) -> dict[str, str]:
    headers = {"Upload-Offset": str(row["offset"])}
    if row["status"] == upload_store.OPEN:
        headers["Upload-Expires"] = formatdate(row["expires_at"], usegmt=True)
    return headers


@router.options("", status_code=204, include_in_schema=False)  # discovery: no key needed
async def tus_options(request: Request) -> Response:
    """``Tus-Max-Size``: the server's limit; a job's ``options.max_file_size`` may be lower, and
    a creation over it is refused (413) before any byte is sent."""
    return Response(
        status_code=204, headers=_tus_headers(request.app.state.settings.uploads.max_upload_size)
    )


@router.options("/{upload_id}", status_code=204, include_in_schema=False)
async def tus_upload_options(upload_id: str, request: Request) -> Response:
    """``Tus-Max-Size`` of this upload: its job's limit."""
    return Response(
        status_code=204, headers=_tus_headers(await _service(request).max_size_for(upload_id))
    )


@router.post("", status_code=201, summary="tus: create an upload (optionally with its first bytes)")
async def tus_create(request: Request, caller: Writer, _v: TusVersion) -> Response:
    """Headers: ``Upload-Length`` (or ``Upload-Defer-Length: 1``), ``Upload-Metadata`` with
    ``job_id`` and ``filename`` (and optionally ``sha256`` of the whole file)."""
    service = _service(request)
    length = _int_header(request, "upload-length")
    deferred = request.headers.get("upload-defer-length")
    if (length is None) == (deferred is None) or (deferred is not None and deferred != "1"):
        raise BadRequest("send either Upload-Length or Upload-Defer-Length: 1")
    metadata = tus.parse_metadata(request.headers.get("upload-metadata"))
    row = await service.create(caller, length=length, metadata=metadata)
    location = str(request.url_for("tus_head", upload_id=row["id"]))
    headers = {"Location": location}
    content_length = _int_header(request, "content-length")
    if request.headers.get("content-type") == OCTETS and content_length != 0:
        checksum = request.headers.get("upload-checksum")
        row = await service.append(
            caller,
            row["id"],
            offset=0,
            body=_body(request),
            checksum=Checksum.parse(checksum) if checksum else None,
            content_length=content_length,
        )
    headers.update(_state_headers(row))
    return Response(status_code=201, headers=headers)


# Kept out of the OpenAPI document: a HEAD answer has no body, so the generated auth tests,
# which read every error body, cannot cover it; tests/api/test_tus.py covers its auth.
@router.head("/{upload_id}", include_in_schema=False)
async def tus_head(upload_id: str, request: Request, caller: Caller, _v: TusVersion) -> Response:
    row = await _service(request).get(caller, upload_id)
    headers = {**_state_headers(row), "Cache-Control": "no-store"}
    if row["length"] is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(row["length"])
    metadata = {"job_id": row["job_id"], "filename": row["filename"], **row["metadata"]}
    headers["Upload-Metadata"] = tus.encode_metadata(metadata)
    return Response(status_code=200, headers=headers)


@router.patch("/{upload_id}", status_code=204, summary="tus: append bytes at Upload-Offset")
async def tus_patch(upload_id: str, request: Request, caller: Writer, _v: TusVersion) -> Response:
    if request.headers.get("content-type") != OCTETS:
        raise UnsupportedMediaType(f"PATCH bodies must be {OCTETS}")
    offset = _int_header(request, "upload-offset", required=True)
    assert offset is not None
    checksum = request.headers.get("upload-checksum")
    row = await _service(request).append(
        caller,
        upload_id,
        offset=offset,
        body=_body(request),
        checksum=Checksum.parse(checksum) if checksum else None,
        length=_int_header(request, "upload-length"),
        content_length=_int_header(request, "content-length"),
    )
    return Response(status_code=204, headers=_state_headers(row))


@router.delete("/{upload_id}", status_code=204, summary="tus: terminate an upload")
async def tus_delete(upload_id: str, request: Request, caller: Writer, _v: TusVersion) -> Response:
    await _service(request).terminate(caller, upload_id)
    return Response(status_code=204)


__all__ = ["router"]
