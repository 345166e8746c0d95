"""The public models: what ``/v1/models`` lists to each key, and each backend's context window.

A local backend's window is the ``context_size`` its engine allocates per request (what it will
really take); a remote one's is the catalog's for the model it serves. A public model lists the
smallest window of its chain (a request must fit whichever backend answers), ``auto`` the largest
of its candidates'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from modelyard.catalog import Catalog
from modelyard.serve.config import BackendConfig, GatewayConfig
from modelyard.serve.pricing import context_window

Windows = dict[str, dict[str, int | None]]
"""Public model -> backend name -> context window (None: unknown)."""


def backend_window(backend: BackendConfig, public: str, catalog: Catalog) -> int | None:
    """The context one request gets on ``backend`` when asked for model ``public``."""
    if backend.kind == "local":
        return backend.context_size
    names = [backend.model or public, *([backend.price] if backend.price else [])]
    return context_window(names, catalog)


def model_windows(config: GatewayConfig, catalog: Catalog) -> Windows:
    """Every public model's backends and their context windows."""
    return {
        name: {b: backend_window(config.backend(b), name, catalog) for b in chain}
        for name, chain in config.models.items()
    }


def smallest(windows: dict[str, int | None]) -> int | None:
    """The smallest known window (None when none is known)."""
    known = [w for w in windows.values() if w]
    return min(known) if known else None


class ModelList:
    """The ``/v1/models`` objects of one config; a key sees only the models it may use."""

    def __init__(self, config: GatewayConfig, windows: Windows) -> None:
        sizes = {name: smallest(w) for name, w in windows.items()}
        if config.auto is not None:
            known = [sizes[e.model] for e in config.auto.entries(list(config.models))]
            sizes[config.auto.name] = max((w for w in known if w), default=None)
        self.objects: dict[str, dict[str, Any]] = {}
        for name, window in sizes.items():
            entry: dict[str, Any] = {"id": name, "object": "model", "created": 0,
                                     "owned_by": "modelyard"}  # fmt: skip
            if window:
                entry["context_window"] = window
            self.objects[name] = entry
        self._lists: dict[tuple[str, ...] | None, bytes] = {}

    def listing(self, allowed: tuple[str, ...] | None, allows: Callable[[str], bool]) -> bytes:
        """The list body for a key whose allow-list is ``allowed`` (None: every model)."""
        body = self._lists.get(allowed)
        if body is None:
            data = [o for name, o in self.objects.items() if allowed is None or allows(name)]
            body = orjson.dumps({"object": "list", "data": data})
            if len(self._lists) < 1024:  # one per distinct allow-list; keys are few
                self._lists[allowed] = body
        return body

    def context(self, name: str) -> int | None:
        """The context window model ``name`` lists (None: unknown)."""
        found = self.objects.get(name)
        return found.get("context_window") if found is not None else None

    def one(self, name: str) -> dict[str, Any] | None:
        """The object of model ``name``, if it is served."""
        return self.objects.get(name)
