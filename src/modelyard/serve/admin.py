"""``/admin/*``, guarded by the operator's admin key: create, list and revoke virtual keys
(``/admin/keys``), and reload the gateway's config file (``/admin/reload``).

The raw key appears once, in the answer to its creation; nothing here logs a key or a body.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelyard.errors import ConfigError, YardError
from modelyard.serve.errors import GatewayError
from modelyard.serve.keys import KeyInfo, KeyStore, bearer_token
from modelyard.serve.reload import NoConfigFile

CREATE_FIELDS = {
    "name": str, "models": list, "budget_usd": (int, float), "rpm": int, "tpm": int,
    "private": bool, "budget_period": str,
}  # fmt: skip

Reload = Callable[[], Awaitable[dict[str, Any]]]


def admin_routes(
    keys: KeyStore | None, admin_key: str, reload: Reload | None = None
) -> list[Route]:
    """The admin endpoints; each requires ``Authorization: Bearer <admin_key>``.

    Args:
        keys: The key store behind ``/admin/keys`` (None: no ledger, so no key endpoints).
        admin_key: The operator's key.
        reload: Reloads the config for ``POST /admin/reload``: ``app.Gateway.reload``, or in
            a worker of ``yard serve --workers N``, the parent's (``hub.ask_reload``).

    Raises:
        ConfigError: ``admin_key`` is empty (the routes would be unguarded).
    """
    if not admin_key:
        raise ConfigError("admin key: empty; configure the gateway's admin key to enable /admin")
    guard = _guard(admin_key)
    routes = _key_routes(keys, guard) if keys is not None else []
    return routes + ([_reload_route(reload, guard)] if reload is not None else [])


def _guard(admin_key: str) -> Callable[[Request], None]:
    secret = admin_key.encode()

    def guard(request: Request) -> None:
        token = bearer_token(request.headers.get("authorization"))
        if token is None or not hmac.compare_digest(token.encode(), secret):
            raise GatewayError(401, "Admin endpoints need the admin key.", code="invalid_api_key")

    return guard


def _key_routes(keys: KeyStore, guard: Callable[[Request], None]) -> list[Route]:
    async def create(request: Request) -> Response:
        guard(request)
        fields = _create_fields(await request.body())
        try:
            info, raw = await run_in_threadpool(keys.create, **fields)
        except YardError as exc:
            raise GatewayError(400, str(exc)) from exc
        return _json({**_public(info), "key": raw}, status=201)

    async def list_keys(request: Request) -> Response:
        guard(request)
        return _json({"object": "list", "data": [_public(k) for k in keys.list()]})

    async def revoke(request: Request) -> Response:
        guard(request)
        try:
            info = await run_in_threadpool(keys.revoke, request.path_params["key_id"])
        except YardError as exc:
            raise GatewayError(404, str(exc), code="key_not_found") from exc
        return _json(_public(info))

    return [
        Route("/admin/keys", create, methods=["POST"]),
        Route("/admin/keys", list_keys, methods=["GET"]),
        Route("/admin/keys/{key_id}", revoke, methods=["DELETE"]),
    ]


def _reload_route(reload: Reload, guard: Callable[[Request], None]) -> Route:
    """``POST /admin/reload``: 200 with what changed; 400 (old config still serving) or 409."""

    async def reload_config(request: Request) -> Response:
        guard(request)
        try:
            return _json(await reload())
        except NoConfigFile as exc:
            raise GatewayError(409, str(exc), code="no_config_file") from exc
        except YardError as exc:
            raise GatewayError(400, str(exc), code="invalid_config") from exc

    return Route("/admin/reload", reload_config, methods=["POST"])


def _create_fields(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise GatewayError(400, f"request body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise GatewayError(400, "request body must be a JSON object")
    for name, value in data.items():
        kind = CREATE_FIELDS.get(name)
        if kind is None:
            allowed = ", ".join(CREATE_FIELDS)
            raise GatewayError(400, f"unknown field {name!r}; allowed: {allowed}", param=name)
        wrong = not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)
        if value is not None and wrong:
            raise GatewayError(400, f"{name}: wrong type {type(value).__name__}", param=name)
    if "name" not in data:
        raise GatewayError(400, "name: required (who the key is for)", param="name")
    return data


def _public(info: KeyInfo) -> dict[str, Any]:
    data = dataclasses.asdict(info)
    data["models"] = list(info.models) if info.models is not None else None
    return data


def _json(data: object, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")
