"""The dashboard's pages: ``/ui`` (for a logged-in session, else a redirect to the login page),
``/ui/login`` and the static files they load, all from this package (nothing is fetched from
elsewhere: the charting library, uPlot, is vendored into ``static/vendor/``).

The pages hold no data and no logic beyond drawing what the JSON endpoints (serve/dashboard.py)
return; they set no HTML from data (text only), and a Content-Security-Policy lets them run
only these files' scripts and talk only to this gateway.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from modelyard.serve.admin import SECURITY_HEADERS, AdminAuth
from modelyard.serve.errors import GatewayError

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
PAGE_HEADERS = {**SECURITY_HEADERS, "content-security-policy": CSP}


@dataclass(frozen=True)
class Asset:
    """One static file, read once."""

    body: bytes
    media_type: str
    etag: str


@cache
def assets() -> dict[str, Asset]:
    """Every file under ``static/`` by its path there (``app.js``, ``vendor/uPlot.iife.min.js``)."""
    root = resources.files("modelyard.serve.ui") / "static"
    found: dict[str, Asset] = {}
    stack = [("", root)]
    while stack:
        prefix, folder = stack.pop()
        for item in folder.iterdir():
            name = f"{prefix}{item.name}"
            if item.is_dir():
                stack.append((f"{name}/", item))
                continue
            suffix = name[name.rfind(".") :]
            if suffix in TYPES:
                body = item.read_bytes()
                found[name] = Asset(body, TYPES[suffix], hashlib.sha256(body).hexdigest()[:16])
    return found


def ui_routes(auth: AdminAuth) -> list[Route]:
    """``/ui``, ``/ui/login`` and ``/ui/static/...``."""

    async def index(request: Request) -> Response:
        if auth.session(request) is None:
            return RedirectResponse("/ui/login", status_code=303, headers=dict(SECURITY_HEADERS))
        return _asset(request, "index.html")

    async def login(request: Request) -> Response:
        if auth.session(request) is not None:
            return RedirectResponse("/ui", status_code=303, headers=dict(SECURITY_HEADERS))
        return _asset(request, "login.html")

    async def static(request: Request) -> Response:
        return _asset(request, request.path_params["name"])

    return [
        Route("/ui", index, methods=["GET"]),
        Route("/ui/", index, methods=["GET"]),
        Route("/ui/login", login, methods=["GET"]),
        Route("/ui/static/{name:path}", static, methods=["GET"]),
    ]


def _asset(request: Request, name: str) -> Response:
    asset = assets().get(name)
    if asset is None:
        raise GatewayError(404, f"no such dashboard file: {name[:100]}", code="not_found")
    headers = {**PAGE_HEADERS, "etag": f'"{asset.etag}"', "cache-control": "no-cache"}
    if request.headers.get("if-none-match") == f'"{asset.etag}"':
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
