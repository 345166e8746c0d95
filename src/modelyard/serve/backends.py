"""Upstream backends: one aiohttp session per worker, replicas, breakers, local engines."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from modelyard.serve.balancer import LeastInFlight, Replica
from modelyard.serve.config import BackendConfig, GatewayConfig
from modelyard.serve.resilience import CircuitBreaker

log = logging.getLogger("modelyard.serve")


class Backend:
    """One configured upstream with its replicas, breaker and (for `local`) engine."""

    def __init__(self, config: BackendConfig) -> None:
        self.config = config
        self.name = config.name
        self.balancer = LeastInFlight(config.urls)
        self.breaker = CircuitBreaker(config.breaker.failures, config.breaker.cooldown_s)
        self.engine: Any = None
        headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        self.headers = headers
        self.timeout = aiohttp.ClientTimeout(total=None, connect=config.timeouts.connect)

    def upstream_model(self, requested: str) -> str:
        """The model name to send upstream for a client's ``requested`` name."""
        return self.config.model or requested

    def pick(self) -> Replica:
        """The replica the next attempt goes to."""
        return self.balancer.pick()

    async def start(self) -> None:
        """Start the local engine (local backends only) and point the balancer at it."""
        if self.config.kind != "local":
            return
        from modelyard.serve.engine import LocalEngine  # xllamacpp loads only when used
        from modelyard.serve.pull import pull

        gguf = await asyncio.to_thread(pull, self.config.gguf or "")
        self.engine = LocalEngine(
            gguf,
            ctx_size=self.config.context_size,
            threads=self.config.threads,
            alias=self.config.model,
        )
        url = (await self.engine.start()).rstrip("/")
        self.balancer.set_urls([url if url.endswith("/v1") else url + "/v1"])
        log.info("backend %s: local engine at %s", self.name, url)

    async def stop(self) -> None:
        """Stop the local engine, if any."""
        if self.engine is not None:
            await self.engine.stop()
            self.engine = None

    def health(self) -> dict[str, Any]:
        """Breaker state, in-flight requests and (local) engine liveness."""
        info: dict[str, Any] = {
            "breaker": self.breaker.state,
            "in_flight": self.balancer.in_flight,
            "replicas": len(self.balancer.replicas),
        }
        if self.config.kind == "local":
            info["engine_healthy"] = bool(self.engine is not None and self.engine.healthy())
        return info


class Backends:
    """Every backend of a config, the model chains over them, and the shared HTTP session."""

    def __init__(self, config: GatewayConfig) -> None:
        self.by_name = {b.name: Backend(b) for b in config.backends}
        self.chains = {m: [self.by_name[n] for n in chain] for m, chain in config.models.items()}
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the HTTP session (inside the serving loop) and start local engines."""
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60, ttl_dns_cache=300)
        self.session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        started: list[Backend] = []
        try:
            for backend in self.by_name.values():
                await backend.start()
                started.append(backend)
        except BaseException:
            await self._stop(started)
            raise

    async def close(self) -> None:
        """Stop local engines and close the session."""
        await self._stop(list(self.by_name.values()))

    async def _stop(self, backends: list[Backend]) -> None:
        for backend in backends:
            await backend.stop()
        if self.session is not None:
            await self.session.close()
            self.session = None

    def chain(self, model: str) -> list[Backend] | None:
        """The fallback chain serving the public name ``model``; None when unknown."""
        return self.chains.get(model)
