"""The dashboard: one HTML page and its CSS and JavaScript modules, shipped as package data and
served by the API at ``/dashboard``. No build step: the files in ``static/`` are what browsers get.

The page talks to the same ``/api/v1`` as any client, with the key the user pastes in; the
server side only serves files, so it needs no key and knows nothing of jobs.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ingestd.domain.errors import NotFound
from ingestd.web import assets

# No inline script or style anywhere; the API and its event WebSockets are on this origin
# ('self' covers ws:/wss: to it in CSP 3). Forms submit through fetch only: form-action 'none'
# keeps a form from ever putting the key in a URL if a script failed to load.
PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
    ]
)
# Revalidate on every load (a cheap 304): modules of two versions must never mix.
CACHE = "no-cache"

router = APIRouter(include_in_schema=False)


def _answer(request: Request, asset: assets.Asset, headers: dict[str, str]) -> Response:
    headers = {"Cache-Control": CACHE, "ETag": asset.etag, **headers}
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@router.get("/dashboard")
async def dashboard(request: Request) -> Response:
    return _answer(request, assets.page(), {"Content-Security-Policy": PAGE_CSP})


@router.get("/dashboard/")
async def dashboard_slash(request: Request) -> Response:
    # The page's relative URLs (assets, the API) resolve from "/dashboard", not "/dashboard/".
    return RedirectResponse(request.scope.get("root_path", "") + "/dashboard", status_code=308)


@router.get("/dashboard/assets/{name}")
async def dashboard_asset(name: str, request: Request) -> Response:
    found = assets.asset(name)
    if found is None:
        raise NotFound(f"no dashboard asset {name!r}")
    return _answer(request, found, {})


__all__ = ["PAGE_CSP", "router"]
