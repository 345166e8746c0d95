"""Build the gateway: a small ASGI core (routing table + lifespan) inside plain ASGI middleware."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.routing import Router

from modelyard.catalog import Catalog, cached_catalog
from modelyard.config import user_catalog_dir, yard_home
from modelyard.errors import YardError
from modelyard.serve import feedback, logs, routes
from modelyard.serve.admin import Reload, admin_routes
from modelyard.serve.auto import AutoRouter
from modelyard.serve.backends import Backends
from modelyard.serve.config import GatewayConfig, ServerConfig
from modelyard.serve.config_file import load_config
from modelyard.serve.connections import ConnectionLimits, auto_max_connections, raise_fd_limit
from modelyard.serve.dashboard import Dashboard
from modelyard.serve.errors import GatewayError
from modelyard.serve.http_server import protocol_for
from modelyard.serve.hub import HubState
from modelyard.serve.keys import KeyStore
from modelyard.serve.ledger import Ledger
from modelyard.serve.metrics import GatewayMetrics
from modelyard.serve.middleware import (
    BodyLimitMiddleware,
    ClientAddress,
    ErrorMiddleware,
    FailedLoginMiddleware,
    LoginThrottle,
    OriginMiddleware,
)
from modelyard.serve.models import ModelList, model_windows
from modelyard.serve.pricing import rate_for
from modelyard.serve.private_data import PrivateData
from modelyard.serve.reload import (
    Generation,
    announce,
    effective,
    reload_logged,
    report,
    retire,
    source_of,
)
from modelyard.serve.routes import GatewayState
from modelyard.serve.shared import RedisState, open_shared
from modelyard.serve.types import ASGIApp, Receive, Scope, Send
from modelyard.serve.workers import run_workers, worker_count

log = logging.getLogger("modelyard.serve")

Handler = Callable[[GatewayState, Scope, Receive, Send], Awaitable[None]]

ADMIN_PATHS = ("/admin/", "/ui")
"""Paths the admin router answers (the API, the dashboard's pages) when an admin key is set."""
ROUTES: dict[str, tuple[str, Handler]] = {
    **routes.handlers(),
    "/v1/feedback": ("POST", feedback.feedback),
}


class Gateway:
    """Dispatches by path, answers lifespan events (start/stop backends, open/close the ledger),
    and swaps to a re-read config between requests (``reload``: POST /admin/reload, SIGHUP)."""

    def __init__(
        self, state: GatewayState, home: Path | None, catalog: Catalog, reload: Reload | None = None
    ) -> None:
        self.generation = Generation(state)
        self.home = home
        self.catalog = catalog
        self.ledger: Ledger | None = None
        self.keys: KeyStore | None = None
        self.admin: ASGIApp | None = None
        self.shared: RedisState | HubState | None = None
        self.draining: list[Generation] = []
        """Older generations with requests still in flight."""
        self._reloading = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sighup = False
        self.reloader: Reload = reload or self.reload
        """What POST /admin/reload and SIGHUP run: ``reload``, or a worker's ask to its parent."""

    @property
    def state(self) -> GatewayState:
        """What new requests are served with."""
        return self.generation.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            route = ROUTES.get(path)
            if route is None and path.startswith(routes.MODEL_PREFIX):
                route = ("GET", routes.retrieve_model)
            if route is None and self.admin is not None and path.startswith(ADMIN_PATHS):
                return await self.admin(scope, receive, send)
            if route is None:
                raise GatewayError(404, f"no such endpoint: {scope['path']}", code="not_found")
            if scope["method"] != route[0]:
                allow = {"Allow": route[0]}
                message = f"{scope['path']} accepts {route[0]} only"
                raise GatewayError(405, message, code="method_not_allowed", headers=allow)
            generation = self.generation
            generation.active += 1
            try:
                await route[1](generation.state, scope, receive, send)
            finally:
                generation.active -= 1
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # a YardError says what to fix: no traceback
                    log.error(
                        "gateway startup failed: %s", exc, exc_info=not isinstance(exc, YardError)
                    )
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Open shared state (Redis), the ledger, the upstream pool and local engines."""
        self.shared = open_shared(self.state.config.state, self.state.backends)
        self._share_pins(self.state, None)
        if self.home is not None:
            self._open_ledger(self.home)
        server = self.state.config.server
        if server.admin_key:
            board = self._dashboard()
            self.admin = Router(
                routes=admin_routes(self.keys, server.admin_key, self.reloader, board)
            )
        await self.state.backends.start()
        if self.state.private_data is not None:
            self.state.private_data.start()
        self._watch_sighup()
        if self.keys is not None:
            self._spawn(follow_keys(self.keys, server.key_refresh_s))
        if self.state.metrics.shared:
            self._spawn(self.state.metrics.sample_every())
        # Everything alive now (catalog, config, modules) lives as long as the process; freezing
        # it keeps full GC passes from walking it (tens of ms per pass, a p99 spike every few
        # hundred requests).
        gc.collect()
        gc.freeze()

    def _open_ledger(self, home: Path) -> None:
        """The ledger, and the key store kept in the same database."""
        server = self.state.config.server
        self.ledger = ledger = Ledger.open(server.ledger_url, home, log_prompts=server.log_prompts)
        shared = self.shared
        self.keys = KeyStore.open(
            ledger.engine,
            admin_key=server.admin_key,
            quotas=shared.quotas() if shared else None,
        )
        self.state.ledger, self.state.keys = self.ledger, self.keys

    def _dashboard(self) -> Dashboard | None:
        """What /ui and its JSON endpoints read (they need the ledger)."""
        if self.ledger is None:
            return None
        return Dashboard(self.ledger.engine, lambda: self.state, self.catalog)

    def _watch_sighup(self) -> None:
        """SIGHUP reloads the config; only a loop in the main thread can take signals."""
        if threading.current_thread() is threading.main_thread():
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._on_sighup)
            self._sighup = True

    def _on_sighup(self) -> None:
        self._spawn(reload_logged(self.reloader))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reload(self) -> dict[str, Any]:
        """Re-read the config file and serve it from the next request on.

        Backends whose settings are unchanged are taken over as they are (breaker, replicas,
        running engine); new local engines start before the swap; dropped or changed backends
        stop once the requests admitted before it have finished. `server` and `state` settings
        take effect only at restart: the answer lists those that differ.

        Returns:
            What changed (``reload.report``).

        Raises:
            NoConfigFile: the gateway was started without a config file.
            YardError: the file is invalid, or a new engine or router failed to start; the
                previous config keeps serving.
        """
        async with self._reloading:
            old = self.state
            loaded = await asyncio.to_thread(load_config, source_of(old.config))
            state = build_state(effective(old.config, loaded), self.catalog, previous=old)
            self._share_breakers(state.backends, old.backends)
            self._share_pins(state, old)
            await state.backends.start()
            self._swap(state, old.backends)
        answer = report(old.config, loaded)
        announce(answer)
        return answer

    def _share_breakers(self, backends: Backends, old: Backends) -> None:
        """New backends get breakers shared through Redis, as those from the start did."""
        if isinstance(self.shared, RedisState):
            kept = {id(b) for b in old.by_name.values()}
            self.shared.share_breakers(b for b in backends.by_name.values() if id(b) not in kept)

    def _share_pins(self, state: GatewayState, old: GatewayState | None) -> None:
        """`auto`'s session pins: kept across reloads (a conversation stays on its model), and
        shared by every worker or replica (the hub, Redis) when there is shared state."""
        auto = state.auto
        if auto is None:
            return
        if old is not None and old.auto is not None:
            auto.pins = old.auto.pins
            auto.pins.size = auto.config.session_pins
        elif self.shared is not None:
            auto.pins = self.shared.pins(auto.config.session_pins)

    def _swap(self, state: GatewayState, old: Backends) -> None:
        """Serve ``state`` from the next request on; stop the backends it dropped once no older
        request can still use them."""
        current = state.backends.by_name
        dropped = [b for b in old.by_name.values() if current.get(b.name) is not b]
        self.draining = [g for g in (*self.draining, self.generation) if g.active]
        state.metrics.backend_gauges.backends = current
        self.generation = Generation(state)
        if dropped:
            self._spawn(retire(dropped, list(self.draining)))

    async def shutdown(self) -> None:
        """Stop engines (also those a reload dropped), close the pool, drain the ledger."""
        if self._sighup:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.state.backends.close()
        if self.state.private_data is not None:
            await self.state.private_data.close()
        if self.shared is not None:
            self.shared.close()
        if self.ledger is not None:
            self.ledger.close()
            self.state.ledger = self.ledger = None
        logs.SINK.flush()


async def follow_keys(keys: KeyStore, every_s: float) -> None:
    """Reload ``keys`` when another process made or revoked one: `yard keys`, or an /admin call
    that another worker or replica answered."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await asyncio.to_thread(keys.refresh_if_changed)
        except SQLAlchemyError as exc:  # the keys already loaded keep serving
            log.warning("key store: refresh failed: %s", type(exc).__name__)


def build_state(
    config: GatewayConfig, catalog: Catalog, previous: GatewayState | None = None
) -> GatewayState:
    """Backends, metrics, per-backend prices, context windows and the /v1/models answers for
    ``config``.

    Args:
        config: What to serve.
        catalog: Prices and context windows.
        previous: The state a reload replaces: its unchanged backends, connection pool,
            metrics, ledger and keys are taken over.
    """
    backends = Backends(config, previous.backends if previous is not None else None)
    rates = {b.name: rate_for(b, catalog) for b in config.backends}
    windows = model_windows(config, catalog)
    return GatewayState(
        config=config,
        backends=backends,
        metrics=previous.metrics if previous is not None else GatewayMetrics(backends.by_name),
        rates=rates,
        models=ModelList(config, windows),
        windows=windows,
        ledger=previous.ledger if previous is not None else None,
        keys=previous.keys if previous is not None else None,
        auto=AutoRouter.build(config, backends, rates, catalog),
        private_data=PrivateData(
            config.privacy, previous.private_data if previous is not None else None
        ),
    )


def create_app(
    config: GatewayConfig,
    home: Path | None = None,
    *,
    ledger: bool = True,
    catalog: Catalog | None = None,
    engines: Mapping[str, Any] | None = None,
    reload: Reload | None = None,
    shared_metrics: Path | None = None,
) -> ASGIApp:
    """The gateway ASGI app for ``config``.

    Args:
        config: Backends, model chains and server options.
        home: Where the ledger lives; defaults to YARD_HOME.
        ledger: Record every request in the ledger (and check keys kept beside it).
        catalog: Prices and context windows; defaults to the shipped plus the user's catalog.
        engines: Engines another process runs, by local backend name (a worker's parent
            runs them once, ``serve/workers.py``); those backends start none of their own.
        reload: What POST /admin/reload and SIGHUP run instead of re-reading the file here
            (a worker asks its parent, ``hub.ask_reload``).
        shared_metrics: The workers' multiprocess metrics directory: /metrics answers for
            all of them.
    """
    catalog = catalog or cached_catalog(user_catalog_dir())
    state = build_state(config, catalog)
    for name, engine in (engines or {}).items():
        state.backends.by_name[name].engine = engine
    if shared_metrics is not None:
        state.metrics.share(shared_metrics)
    core = Gateway(state, (home or yard_home()) if ledger else None, catalog, reload)
    server = config.server
    limited = BodyLimitMiddleware(core, server.max_body_bytes)
    throttle = LoginThrottle(server.failed_logins_per_minute)
    address = ClientAddress(server.trusted_proxies)
    throttled = FailedLoginMiddleware(limited, lambda: core.shared, throttle, address)
    return ErrorMiddleware(OriginMiddleware(throttled, server.allowed_hosts, server.cors_origins))


def uvicorn_options(server: ServerConfig) -> dict[str, Any]:
    """How every gateway process runs uvicorn: uvloop, modelyard's protocol under the
    connection limits of ``server``, no access log (the ledger and the request log lines)."""
    return {
        "loop": "uvloop",
        "http": protocol_for(connection_limits(server)),
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        "log_config": None,  # serve/logs.py: JSON lines
        "log_level": None,
        "timeout_graceful_shutdown": 30,
    }


def connection_limits(server: ServerConfig) -> ConnectionLimits:
    """The protocol's limits from the `server` section (``auto`` connections from the
    open-file limit at this moment)."""
    most = server.max_connections
    return ConnectionLimits(
        header_timeout_s=server.header_timeout_s,
        body_timeout_s=server.body_timeout_s,
        keep_alive_s=server.keep_alive_s,
        max_header_bytes=server.max_header_bytes,
        max_connections=auto_max_connections() if most == "auto" else most,
    )


def serve(
    config: GatewayConfig,
    host: str | None = None,
    port: int | None = None,
    workers: int | str | None = None,
) -> None:
    """Run the gateway until SIGINT/SIGTERM: in this process under uvicorn (uvloop +
    httptools), or as several worker processes sharing the port (``serve/workers.py``).

    SIGTERM stops accepting, lets in-flight requests finish, then drains the ledger.

    Args:
        config: The gateway config.
        host: Interface; default ``server.host``.
        port: TCP port; default ``server.port``.
        workers: Processes; default ``server.workers``; 0 or ``auto``: one per CPU.

    Raises:
        YardError: a bad worker count, or (several workers) the port is taken or a worker
            failed to start.
    """
    host, port = host or config.server.host, port or config.server.port
    count = worker_count(config.server.workers if workers is None else workers)
    raise_fd_limit()
    logs.configure(config.server.log_level)
    if count > 1:
        return run_workers(config, host, port, count)
    import uvicorn

    uvicorn.run(create_app(config), host=host, port=port, **uvicorn_options(config.server))
