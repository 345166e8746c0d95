"""``/admin/keys``: create, list and revoke virtual keys, guarded by the operator's admin key.

The raw key appears once, in the answer to its creation; nothing here logs a key or a body.
"""

from __future__ import annotations

import dataclasses
import hmac
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelyard.errors import ConfigError, YardError
from modelyard.serve.errors import GatewayError
from modelyard.serve.keys import KeyInfo, KeyStore, bearer_token

CREATE_FIELDS = {"name": str, "models": list, "budget_usd": (int, float), "rpm": int, "tpm": int}


def admin_routes(keys: KeyStore, admin_key: str) -> list[Route]:
    """The admin endpoints over ``keys``; each requires ``Authorization: Bearer <admin_key>``.

    Raises:
        ConfigError: ``admin_key`` is empty (the routes would be unguarded).
    """
    if not admin_key:
        raise ConfigError("admin key: empty; configure the gateway's admin key to enable /admin")
    secret = admin_key.encode()

    def guard(request: Request) -> None:
        token = bearer_token(request.headers.get("authorization"))
        if token is None or not hmac.compare_digest(token.encode(), secret):
            raise GatewayError(401, "Admin endpoints need the admin key.", code="invalid_api_key")

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
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
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
