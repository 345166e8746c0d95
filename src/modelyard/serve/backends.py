"""Upstream backends: one HTTP connection pool per worker, replicas, breakers, local engines."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from modelyard.serve.balancer import LeastInFlight, Replica
from modelyard.serve.config import BackendConfig, GatewayConfig
from modelyard.serve.engine import template_caps
from modelyard.serve.resilience import CircuitBreaker
from modelyard.serve.upstream_http import HttpPool

if TYPE_CHECKING:
    from modelyard.serve.engine import LocalEngine
    from modelyard.serve.supervisor import EngineSupervisor

log = logging.getLogger("modelyard.serve")


class Backend:
    """One configured upstream with its replicas, breaker and (for `local`) engine."""

    def __init__(self, config: BackendConfig) -> None:
        self.config = config
        self.name = config.name
        self.balancer = LeastInFlight(config.urls)
        self.breaker = CircuitBreaker(config.breaker.failures, config.breaker.cooldown_s)
        self.engine: LocalEngine | None = None
        self.supervisor: EngineSupervisor | None = None
        self.down: str | None = None
        """Why requests skip this backend now (its local engine is restarting); None when up."""
        self.tools: bool | None = None
        """Whether a local engine's chat template takes tools (None: a remote backend, whose
        upstream decides)."""
        headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        self.headers = headers
        self.secrets: tuple[str, ...] = (config.api_key,) if config.api_key else ()
        """What this backend's answers must never pass on to a client (``upstream_errors``)."""

    def upstream_model(self, requested: str) -> str:
        """The model name to send upstream for a client's ``requested`` name (for
        `MODEL:ADAPTER`, the name this upstream serves the adapter under)."""
        _, sep, adapter = requested.rpartition(":")
        if sep and adapter in self.config.adapters:
            return self.config.adapters[adapter]
        return self.config.model or requested

    def pick(self) -> Replica:
        """The replica the next attempt goes to."""
        return self.balancer.pick()

    @property
    def started(self) -> bool:
        """Whether requests can be sent (a local backend's engine has reported its URL)."""
        return bool(self.balancer.replicas)

    async def start(self) -> None:
        """Local backends only, once: start the engine, point the balancer at it, and supervise
        it. An engine given beforehand (a gateway worker's parent runs it, serve/workers.py) is
        only asked for its URL: its own process supervises it."""
        if self.config.kind != "local" or self.started:
            return
        engine = self.engine
        if engine is None:
            engine = await self._new_engine()
            self._serve_at(await engine.start())
            self.engine = engine
            self._supervise(engine)
        else:
            self._serve_at(await engine.start())
        url = self.balancer.replicas[0].url
        self.tools = bool((await template_caps(url)).get("supports_tools"))
        log.info("backend %s: local engine at %s (tools: %s)", self.name, url, self.tools)

    def _supervise(self, engine: LocalEngine) -> None:
        from modelyard.serve.supervisor import EngineSupervisor

        self.supervisor = EngineSupervisor(
            self.name,
            engine,
            self._engine_down,
            self._engine_back,
            settings=self.config.supervision,
        )
        self.supervisor.start()

    async def _new_engine(self) -> LocalEngine:
        from modelyard.pull import pull
        from modelyard.serve.engine import LocalEngine  # xllamacpp loads only when used

        gguf = await asyncio.to_thread(pull, self.config.gguf or "")
        return LocalEngine(
            gguf,
            ctx_size=self.config.context_size,
            threads=self.config.threads,
            parallel=self.config.parallel,
            embeddings=self.config.embeddings,
            # llama.cpp names a model by its file path otherwise: answers would carry the path
            alias=self.config.model or gguf.name.removesuffix(".gguf"),
        )

    def _serve_at(self, url: str) -> None:
        url = url.rstrip("/")
        self.balancer.set_urls([url if url.endswith("/v1") else url + "/v1"])

    def _engine_down(self, reason: str) -> None:
        self.down = reason

    def _engine_back(self, url: str) -> None:
        """A restarted engine: its new URL, and a closed breaker (the failures were the old
        process's)."""
        self._serve_at(url)
        self.breaker.success()
        self.down = None

    async def stop(self) -> None:
        """Stop supervising and stop the local engine, if any."""
        if self.supervisor is not None:
            await self.supervisor.stop()
            self.supervisor = None
        if self.engine is not None:
            await self.engine.stop()
            self.engine = None

    def health(self) -> dict[str, Any]:
        """Whether requests may go here, breaker state, in-flight requests and, for a local
        backend, its engine (running, pid, restarts, last exit code, next restart time)."""
        breaker = self.breaker.state
        info: dict[str, Any] = {
            "available": self.down is None and breaker != "open",
            "breaker": breaker,
            "in_flight": self.balancer.in_flight,
            "replicas": len(self.balancer.replicas),
        }
        if self.down is not None:
            info["down"] = self.down
        if self.config.kind == "local":
            info["engine"] = (
                self.supervisor.health() if self.supervisor else {"running": self.started}
            )
        return info


class Backends:
    """Every backend of a config, the model chains over them, and the shared connection pool.

    Args:
        config: The backends and model chains.
        previous: The set this one replaces (a config reload): its connection pool and every
            backend whose config is unchanged (breaker, replicas, running engine) are taken over.
    """

    def __init__(self, config: GatewayConfig, previous: Backends | None = None) -> None:
        old = previous.by_name if previous is not None else {}
        self.by_name: dict[str, Backend] = {
            b.name: _same(old.get(b.name), b) or Backend(b) for b in config.backends
        }
        self.chains = {m: [self.by_name[n] for n in chain] for m, chain in config.models.items()}
        self.adapters = _adapter_targets(config)
        """`MODEL:ADAPTER` and alias names -> the canonical `MODEL:ADAPTER` they serve."""
        for name, target in self.adapters.items():
            base, _, adapter = target.rpartition(":")
            self.chains[name] = [b for b in self.chains[base] if adapter in b.config.adapters]
        self.pool: HttpPool | None = None
        if previous is not None:
            self.pool = previous.pool

    async def start(self) -> None:
        """Open the connection pool (inside the serving loop) unless taken over, and start the
        local engines not running yet; on failure, stop what this call started."""
        opened = self.pool is None
        if opened:
            self.pool = HttpPool(keepalive_s=60)
        started: list[Backend] = []
        try:
            for backend in [b for b in self.by_name.values() if not b.started]:
                await backend.start()
                started.append(backend)
        except BaseException:
            await stop_backends(started)
            if opened:
                await self._close_pool()
            raise

    async def close(self) -> None:
        """Stop local engines and close the connection pool."""
        await stop_backends(self.by_name.values())
        await self._close_pool()

    async def _close_pool(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    def chain(self, model: str) -> list[Backend] | None:
        """The fallback chain serving the public name ``model``; None when unknown."""
        return self.chains.get(model)


def _adapter_targets(config: GatewayConfig) -> dict[str, str]:
    found = {
        f"{base}:{adapter}": f"{base}:{adapter}"
        for base in config.models
        for adapter in sorted(config.held_adapters(base))
    }
    return found | dict(config.aliases)


async def stop_backends(backends: Iterable[Backend]) -> None:
    """Stop each backend's supervisor and local engine (a no-op for remote backends)."""
    for backend in backends:
        await backend.stop()


def _same(backend: Backend | None, config: BackendConfig) -> Backend | None:
    """``backend`` when it runs exactly ``config``."""
    return backend if backend is not None and backend.config == config else None
