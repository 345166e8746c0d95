"""Reloading the gateway's config while it serves: what changes, what waits for a restart, and
when the backends a reload dropped may stop.

``app.Gateway.reload`` does the work: it re-reads the file with ``config.load_config``, builds the
new state (unchanged backends are taken over as they are), starts new local engines, swaps the
state between two requests, and hands the dropped backends to ``retire``, which stops them once
every request admitted under an older config has finished. With several workers the parent
reloads instead (``workers.Supervisor.reload``): same checks and answer, then it replaces its
workers one at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.errors import ConfigError, YardError
from modelyard.serve import logs
from modelyard.serve.backends import Backend, stop_backends
from modelyard.serve.config import GatewayConfig

if TYPE_CHECKING:
    from modelyard.serve.routes import GatewayState

log = logging.getLogger("modelyard.serve")

RESTART_ONLY = ("server", "state")
"""Config sections read once at start (listen address, ledger, admin key, Redis, body limit)."""
RETIRE_GRACE_S = 300.0
"""Longest wait for older requests before a dropped backend's engine is stopped anyway."""
RETIRE_POLL_S = 0.1


class NoConfigFile(ConfigError):
    """The gateway was started without a config file, so there is nothing to reload."""


@dataclass
class Generation:
    """One config's serving state and how many requests it is handling now."""

    state: GatewayState
    active: int = 0


@dataclass(frozen=True)
class Changes:
    """Names added, removed, changed or kept by a reload."""

    added: list[str]
    removed: list[str]
    changed: list[str]
    kept: list[str]

    @classmethod
    def between(cls, old: Mapping[str, Any], new: Mapping[str, Any]) -> Changes:
        """Compare two name -> settings mappings."""
        both = [n for n in new if n in old]
        return cls(
            added=[n for n in new if n not in old],
            removed=[n for n in old if n not in new],
            changed=[n for n in both if old[n] != new[n]],
            kept=[n for n in both if old[n] == new[n]],
        )

    def as_json(self) -> dict[str, list[str]]:
        """The four lists, for the reload answer."""
        return {"added": self.added, "removed": self.removed, "changed": self.changed,
                "kept": self.kept}  # fmt: skip


def source_of(config: GatewayConfig) -> Path:
    """The file to re-read.

    Raises:
        NoConfigFile: the gateway runs the embedded default or a config built in code.
    """
    if config.source is None:
        raise NoConfigFile(
            "this gateway was started without a config file, so there is nothing to reload; "
            "start it with `yard serve --config FILE` to reload that file"
        )
    return config.source


def restart_required(old: GatewayConfig, new: GatewayConfig) -> list[str]:
    """Dotted names of the settings that differ but only take effect when the gateway starts."""
    names = []
    for section in RESTART_ONLY:
        before, after = getattr(old, section).model_dump(), getattr(new, section).model_dump()
        names += [f"{section}.{k}" for k in before if before[k] != after[k]]
    return names


def effective(old: GatewayConfig, new: GatewayConfig) -> GatewayConfig:
    """``new`` with the start-only sections of ``old`` (the ones the process still runs)."""
    return new.model_copy(update={s: getattr(old, s) for s in RESTART_ONLY})


def public_models(config: GatewayConfig) -> dict[str, Any]:
    """Public model name -> what serves it (its chain, or the `auto` settings)."""
    models: dict[str, Any] = dict(config.models)
    if config.auto is not None:
        models[config.auto.name] = config.auto
    return models


def report(old: GatewayConfig, new: GatewayConfig) -> dict[str, Any]:
    """The answer to a successful reload: backends and models by change, and restart-only
    settings that differ (left as they were)."""
    return {
        "object": "gateway.reload",
        "config": str(new.source),
        "backends": Changes.between(_backends(old), _backends(new)).as_json(),
        "models": Changes.between(public_models(old), public_models(new)).as_json(),
        "restart_required": restart_required(old, new),
    }


def announce(answer: Mapping[str, Any]) -> None:
    """Log a successful reload's answer (a ``reload`` event)."""
    fields = {k: answer[k] for k in ("config", "backends", "models", "restart_required")}
    logs.event("reload", logging.WARNING, **fields)


async def reload_logged(reload: Callable[[], Awaitable[Any]]) -> None:
    """Run ``reload`` on SIGHUP, where nobody gets an answer: a refusal is logged instead (a
    ``reload_failed`` event)."""
    try:
        await reload()
    except YardError as exc:
        logs.event("reload_failed", logging.ERROR, error=str(exc),
                   result="still serving the previous config")  # fmt: skip


def local_backends(config: GatewayConfig) -> dict[str, Any]:
    """The `local` backends of ``config`` by name (those whose engine the gateway runs)."""
    return {b.name: b for b in config.backends if b.kind == "local"}


def _backends(config: GatewayConfig) -> dict[str, Any]:
    return {b.name: b for b in config.backends}


async def retire(
    backends: Sequence[Backend], older: Sequence[Generation], grace_s: float = RETIRE_GRACE_S
) -> None:
    """Stop ``backends`` once no request of the ``older`` generations is in flight (or after
    ``grace_s``); cancelled (gateway shutdown), stop them at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_s
    try:
        while any(g.active for g in older) and loop.time() < deadline:
            await asyncio.sleep(RETIRE_POLL_S)
        if any(g.active for g in older):
            log.warning("reload: stopping %s with requests still in flight after %gs",
                        ", ".join(b.name for b in backends), grace_s)  # fmt: skip
    finally:
        await stop_backends(backends)
