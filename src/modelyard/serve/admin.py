"""``/admin/*``, guarded by the operator's admin key: create, list, edit and revoke virtual keys
(``/admin/keys``), reload the gateway's config (``/admin/reload``), dashboard sessions
(``/admin/session``) and, with a ledger, the dashboard's figures (serve/dashboard.py).

A caller proves itself with ``Authorization: Bearer <admin key>`` (scripts) or a dashboard
session cookie (browsers, serve/ui/session.py); with the cookie, every change must also carry
the session's CSRF token and come from the gateway's own origin. The raw key appears once, in
the answer to its creation; nothing here logs a key or a body.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from modelyard.errors import ConfigError, YardError
from modelyard.serve.errors import GatewayError
from modelyard.serve.key_fields import KeyEdit
from modelyard.serve.keys import KeyInfo, KeyStore, bearer_token
from modelyard.serve.reload import NoConfigFile
from modelyard.serve.ui.session import COOKIE, CSRF_HEADER, Session, Sessions, set_cookie

if TYPE_CHECKING:
    from modelyard.serve.dashboard import Dashboard

CREATE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "models": list,
    "budget_usd": (int, float),
    "rpm": int,
    "tpm": int,
    "private": bool,
    "private_data": str,
    "budget_period": str,
}
CLEARABLE = {"models", "budget_usd", "budget_period", "rpm", "tpm", "private_data"}
"""Fields an edit may set to null: any model, no budget, a lifetime budget, no limit, the
gateway's private-data mode."""
SAFE_METHODS = {"GET", "HEAD"}
MAX_BODY = 64 * 1024
SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}

Reload = Callable[[], Awaitable[dict[str, Any]]]


class AdminAuth:
    """Who may call /admin: the admin key as a bearer token, or a dashboard session whose
    changes carry its CSRF token from the gateway's own origin."""

    def __init__(self, admin_key: str) -> None:
        self._secret = admin_key.encode()
        self.sessions = Sessions(admin_key)

    def check(self, request: Request) -> None:
        """Raise unless ``request`` may use the admin API.

        Raises:
            GatewayError: 401 without a valid key or session, 403 for a change without the
                session's CSRF token or from another origin.
        """
        token = bearer_token(request.headers.get("authorization"))
        if token is not None:
            if not hmac.compare_digest(token.encode(), self._secret):
                raise _unauthorized()
            return
        session = self.session(request)
        if session is None:
            raise _unauthorized()
        if request.method not in SAFE_METHODS:
            if not self.sessions.csrf_ok(session, request.headers.get(CSRF_HEADER)):
                raise GatewayError(
                    403,
                    "This change needs the session's X-CSRF-Token header.",
                    type="permission_error",
                    code="csrf_failed",
                )
            if not same_origin(request):
                raise GatewayError(
                    403,
                    "Changes are accepted from the gateway's own pages only.",
                    type="permission_error",
                    code="cross_origin",
                )

    def session(self, request: Request) -> Session | None:
        """The request's valid dashboard session, if any."""
        return self.sessions.read(request.cookies.get(COOKIE))

    def key_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self._secret)


def same_origin(request: Request) -> bool:
    """False when the browser says the request came from another site or origin."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host", "")


def admin_routes(
    keys: KeyStore | None,
    admin_key: str,
    reload: Reload | None = None,
    dashboard: Dashboard | None = None,
) -> list[BaseRoute]:
    """The admin endpoints, and with ``dashboard`` its figures and the /ui pages.

    Args:
        keys: The key store behind ``/admin/keys`` (None: no ledger, so no key endpoints).
        admin_key: The operator's key.
        reload: Reloads the config for ``POST /admin/reload``: ``app.Gateway.reload``, or in
            a worker of ``yard serve --workers N``, the parent's (``hub.ask_reload``).
        dashboard: The ledger and gateway state the dashboard reads (None: no dashboard).

    Raises:
        ConfigError: ``admin_key`` is empty (the routes would be unguarded).
    """
    if not admin_key:
        raise ConfigError("admin key: empty; configure the gateway's admin key to enable /admin")
    auth = AdminAuth(admin_key)
    routes: list[BaseRoute] = [*_session_routes(auth)]
    routes += _key_routes(keys, auth) if keys is not None else []
    routes += [_reload_route(reload, auth)] if reload is not None else []
    if dashboard is not None:
        from modelyard.serve.dashboard import dashboard_routes
        from modelyard.serve.ui.pages import ui_routes

        routes += [*dashboard_routes(dashboard, auth), *ui_routes(auth)]
    return routes


def _session_routes(auth: AdminAuth) -> list[Route]:
    async def login(request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise GatewayError(415, 'Send the admin key as JSON: {"admin_key": "..."}.')
        data = _object(await read_limited(request))
        candidate = data.get("admin_key")
        if not isinstance(candidate, str) or not auth.key_matches(candidate):
            raise _unauthorized()
        token, session = auth.sessions.issue()
        secure = request.url.scheme == "https" or request.headers.get("origin", "").startswith(
            "https://"
        )
        answer = admin_json(_session_json(session))
        answer.headers["set-cookie"] = set_cookie(token, auth.sessions.lifetime_s, secure)
        return answer

    async def current(request: Request) -> Response:
        session = auth.session(request)
        if session is None:
            raise _unauthorized()
        return admin_json(_session_json(session))

    async def logout(request: Request) -> Response:
        auth.check(request)
        answer = admin_json({"logged_out": True})
        answer.headers["set-cookie"] = set_cookie("", 0, request.url.scheme == "https")
        return answer

    return [
        Route("/admin/session", login, methods=["POST"]),
        Route("/admin/session", current, methods=["GET"]),
        Route("/admin/session", logout, methods=["DELETE"]),
    ]


def _session_json(session: Session) -> dict[str, str]:
    return {"csrf": session.csrf, "expires_utc": session.expires_utc}


def _key_routes(keys: KeyStore, auth: AdminAuth) -> list[Route]:
    async def create(request: Request) -> Response:
        auth.check(request)
        fields = _key_fields(await read_limited(request), creating=True)
        try:
            info, raw = await run_in_threadpool(keys.create, **fields)
        except YardError as exc:
            raise GatewayError(400, str(exc)) from exc
        return admin_json({**public(info), "key": raw}, status=201)

    async def list_keys(request: Request) -> Response:
        auth.check(request)
        return admin_json({"object": "list", "data": [public(k) for k in keys.list()]})

    async def edit(request: Request) -> Response:
        auth.check(request)
        fields = _key_fields(await read_limited(request), creating=False)
        if "models" in fields and fields["models"] is not None:
            fields["models"] = tuple(fields["models"])
        try:
            info = await run_in_threadpool(
                keys.update, request.path_params["key_id"], KeyEdit(**fields)
            )
        except YardError as exc:
            status = 404 if str(exc).startswith("no key with id") else 400
            raise GatewayError(status, str(exc)) from exc
        return admin_json(public(info))

    async def revoke(request: Request) -> Response:
        auth.check(request)
        try:
            info = await run_in_threadpool(keys.revoke, request.path_params["key_id"])
        except YardError as exc:
            raise GatewayError(404, str(exc), code="key_not_found") from exc
        return admin_json(public(info))

    return [
        Route("/admin/keys", create, methods=["POST"]),
        Route("/admin/keys", list_keys, methods=["GET"]),
        Route("/admin/keys/{key_id}", edit, methods=["PATCH"]),
        Route("/admin/keys/{key_id}", revoke, methods=["DELETE"]),
    ]


def _reload_route(reload: Reload, auth: AdminAuth) -> Route:
    """``POST /admin/reload``: 200 with what changed; 400 (old config still serving) or 409."""

    async def reload_config(request: Request) -> Response:
        auth.check(request)
        try:
            return admin_json(await reload())
        except NoConfigFile as exc:
            raise GatewayError(409, str(exc), code="no_config_file") from exc
        except YardError as exc:
            raise GatewayError(400, str(exc), code="invalid_config") from exc

    return Route("/admin/reload", reload_config, methods=["POST"])


async def read_limited(request: Request) -> bytes:
    """The request body, refused past ``MAX_BODY`` bytes (admin bodies are small)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise GatewayError(413, f"admin request bodies are at most {MAX_BODY} bytes")
    return body


def _object(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise GatewayError(400, f"request body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise GatewayError(400, "request body must be a JSON object")
    return data


def _key_fields(body: bytes, creating: bool) -> dict[str, Any]:
    """A key's fields from a create (POST) or edit (PATCH) body, each of the right type."""
    data = _object(body)
    for name, value in data.items():
        kind = CREATE_FIELDS.get(name)
        if kind is None:
            allowed = ", ".join(CREATE_FIELDS)
            raise GatewayError(400, f"unknown field {name!r}; allowed: {allowed}", param=name)
        if value is None and name not in CLEARABLE:
            raise GatewayError(400, f"{name}: cannot be null", param=name)
        wrong = not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)
        if value is not None and wrong:
            raise GatewayError(400, f"{name}: wrong type {type(value).__name__}", param=name)
    if creating and "name" not in data:
        raise GatewayError(400, "name: required (who the key is for)", param="name")
    if not creating and not data:
        raise GatewayError(400, f"nothing to change; give one of {', '.join(CREATE_FIELDS)}")
    return data


def public(info: KeyInfo) -> dict[str, Any]:
    """A key as the admin API shows it (never the raw key or its hash)."""
    data = dataclasses.asdict(info)
    data["models"] = list(info.models) if info.models is not None else None
    return data


def admin_json(data: object, status: int = 200) -> Response:
    """A JSON answer with the admin surface's headers (no caching, no sniffing, no framing)."""
    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        media_type="application/json",
        headers=SECURITY_HEADERS,
    )


def _unauthorized() -> GatewayError:
    return GatewayError(
        401,
        "Admin endpoints need the admin key (Authorization: Bearer ...) or a dashboard session "
        "(log in at /ui).",
        code="invalid_api_key",
    )
