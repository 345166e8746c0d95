"""Build the gateway: a small ASGI core (routing table + lifespan) inside plain ASGI middleware."""

from __future__ import annotations

import gc
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from starlette.routing import Router

from modelyard.catalog import Catalog, cached_catalog
from modelyard.config import user_catalog_dir, yard_home
from modelyard.serve import routes
from modelyard.serve.admin import admin_routes
from modelyard.serve.auto import AutoRouter
from modelyard.serve.backends import Backends
from modelyard.serve.config import GatewayConfig
from modelyard.serve.errors import GatewayError
from modelyard.serve.keys import KeyStore
from modelyard.serve.ledger import Ledger
from modelyard.serve.metrics import GatewayMetrics
from modelyard.serve.middleware import BodyLimitMiddleware, ErrorMiddleware, RequestIdMiddleware
from modelyard.serve.pricing import context_window, rate_for
from modelyard.serve.routes import GatewayState
from modelyard.serve.shared import RedisState, open_shared
from modelyard.serve.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("modelyard.serve")

Handler = Callable[[GatewayState, Scope, Receive, Send], Awaitable[None]]

ROUTES: dict[str, tuple[str, Handler]] = {
    "/v1/chat/completions": ("POST", routes.route_for(routes.CHAT)),
    "/v1/completions": ("POST", routes.route_for(routes.COMPLETIONS)),
    "/v1/embeddings": ("POST", routes.route_for(routes.EMBEDDINGS)),
    "/v1/models": ("GET", routes.list_models),
    "/health": ("GET", routes.health),
    "/metrics": ("GET", routes.metrics),
}


class Gateway:
    """Dispatches by path, answers lifespan events (start/stop backends, open/close the ledger)."""

    def __init__(self, state: GatewayState, home: Path | None) -> None:
        self.state = state
        self.home = home
        self.ledger = None
        self.admin: ASGIApp | None = None
        self.shared: RedisState | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = ROUTES.get(scope["path"])
            if route is None and self.admin is not None and scope["path"].startswith("/admin/"):
                return await self.admin(scope, receive, send)
            if route is None:
                raise GatewayError(404, f"no such endpoint: {scope['path']}", code="not_found")
            if scope["method"] != route[0]:
                allow = {"Allow": route[0]}
                message = f"{scope['path']} accepts {route[0]} only"
                raise GatewayError(405, message, code="method_not_allowed", headers=allow)
            await route[1](self.state, scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("gateway startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Open shared state (Redis), the ledger, the upstream session and local engines."""
        self.shared = open_shared(self.state.config.state, self.state.backends)
        if self.home is not None:
            self._open_ledger()
        await self.state.backends.start()
        # Everything alive now (catalog, config, modules) lives as long as the process; freezing
        # it keeps full GC passes from walking it (tens of ms per pass, a p99 spike every few
        # hundred requests).
        gc.collect()
        gc.freeze()

    def _open_ledger(self) -> None:
        """The ledger, and the key store kept in the same database (with /admin when keyed)."""
        server = self.state.config.server
        self.ledger = Ledger.open(server.ledger_url, self.home, log_prompts=server.log_prompts)
        shared = self.shared
        keys = KeyStore.open(
            self.ledger.engine,
            admin_key=server.admin_key,
            limiter=shared.limiter() if shared else None,
            budgets=shared.budgets() if shared else None,
        )
        self.state.ledger, self.state.keys = self.ledger, keys
        if server.admin_key:
            self.admin = Router(routes=admin_routes(keys, server.admin_key))

    async def shutdown(self) -> None:
        """Stop engines, close the session, drain the ledger."""
        await self.state.backends.close()
        if self.shared is not None:
            self.shared.close()
        if self.ledger is not None:
            self.ledger.close()
            self.state.ledger = self.ledger = None


def build_state(config: GatewayConfig, catalog: Catalog) -> GatewayState:
    """Backends, metrics, per-backend prices and the /v1/models answer for ``config``."""
    backends = Backends(config)
    rates = {b.name: rate_for(b, catalog) for b in config.backends}
    return GatewayState(
        config=config,
        backends=backends,
        metrics=GatewayMetrics(backends.by_name),
        rates=rates,
        models_json=models_json(config, catalog),
        auto=AutoRouter.build(config, backends, rates, catalog),
    )


def models_json(config: GatewayConfig, catalog: Catalog) -> bytes:
    """The /v1/models body: every public name, with the catalog's context window when known
    (for `auto`, the largest of its candidates')."""
    windows: dict[str, int | None] = {}
    for name, chain in config.models.items():
        upstream = [config.backend(b).model or config.backend(b).gguf for b in chain]
        windows[name] = context_window([name, *(m for m in upstream if m)], catalog)
    if config.auto is not None:
        known = [windows[e.model] for e in config.auto.entries(list(config.models))]
        windows[config.auto.name] = max((w for w in known if w), default=None)
    data = []
    for name, window in windows.items():
        entry = {"id": name, "object": "model", "created": 0, "owned_by": "modelyard"}
        data.append({**entry, "context_window": window} if window else entry)
    return orjson.dumps({"object": "list", "data": data})


def create_app(
    config: GatewayConfig,
    home: Path | None = None,
    *,
    ledger: bool = True,
    catalog: Catalog | None = None,
) -> ASGIApp:
    """The gateway ASGI app for ``config``.

    Args:
        config: Backends, model chains and server options.
        home: Where the ledger lives; defaults to YARD_HOME.
        ledger: Record every request in the ledger (and check keys kept beside it).
        catalog: Prices and context windows; defaults to the shipped plus the user's catalog.
    """
    state = build_state(config, catalog or cached_catalog(user_catalog_dir()))
    core = Gateway(state, (home or yard_home()) if ledger else None)
    limited = BodyLimitMiddleware(core, config.server.max_body_bytes)
    return ErrorMiddleware(RequestIdMiddleware(limited))


def serve(config: GatewayConfig, host: str | None = None, port: int | None = None) -> None:
    """Run the gateway in this process under uvicorn (uvloop + httptools) until SIGINT/SIGTERM.

    SIGTERM stops accepting, lets in-flight requests finish, then drains the ledger.
    """
    import uvicorn

    uvicorn.run(
        create_app(config),
        host=host or config.server.host,
        port=port or config.server.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        log_level="info",
        timeout_graceful_shutdown=30,
    )
