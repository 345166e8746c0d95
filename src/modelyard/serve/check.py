"""Everything `yard serve` would find wrong with a config, found before it starts anything.

`yard serve --check` and `yard config check` print the result; `yard serve` runs the same check
first, so a wrong file, model or price stops it before the "gateway on ..." banner, with every
problem at once and the line of each. No model file is downloaded: one that is not cached yet is
named as what the gateway will fetch when it starts. (A router file is loaded as the gateway loads
it, with its embedding model, which is fetched from PyPI the first time.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelyard.catalog import Catalog, cached_catalog, find_api
from modelyard.config import user_catalog_dir
from modelyard.errors import CatalogError, YardError
from modelyard.pull import ModelSource, resolve
from modelyard.serve.config import GatewayConfig, Loc, default_config
from modelyard.serve.config_file import parse_config


@dataclass(frozen=True)
class ConfigCheck:
    """A config as the gateway would serve it, or why it cannot."""

    source: str
    """The file checked, or "the embedded default"."""
    config: GatewayConfig | None
    problems: list[str] = field(default_factory=list)
    """One ``file:line: field: message`` per problem; empty when the gateway can start."""
    models: dict[str, ModelSource] = field(default_factory=dict)
    """Where each local backend's model file comes from."""

    @property
    def ok(self) -> bool:
        return not self.problems


def check_config(path: Path | None) -> ConfigCheck:
    """Check the file at ``path`` (None: the embedded default) without starting anything."""
    if path is None:
        config = default_config()
        data = config.model_dump(mode="json")
        return _finish("the embedded default", config, [], data, lambda at: ".".join(map(str, at)))
    try:
        parsed = parse_config(path)
    except YardError as exc:  # unreadable, or not YAML: nothing more can be read from it
        return ConfigCheck(str(path), None, [str(exc)])
    return _finish(str(path), parsed.config, parsed.problems, parsed.data, parsed.where)


def _finish(
    source: str,
    config: GatewayConfig | None,
    problems: list[str],
    data: dict[str, Any],
    where: Callable[[Loc], str],
) -> ConfigCheck:
    """Add the model-file and price problems (of every backend written well enough to tell),
    then, when there is no problem yet, what building the gateway would raise."""
    catalog = cached_catalog(user_catalog_dir())
    problems, models = list(problems), {}
    backends = data.get("backends")
    for i, backend in enumerate(backends if isinstance(backends, list) else []):
        if not isinstance(backend, dict):
            continue
        name, gguf, price = (backend.get(k) for k in ("name", "gguf", "price"))
        if isinstance(gguf, str):
            try:
                models[str(name)] = resolve(gguf)
            except YardError as exc:
                problems.append(f"{where(('backends', i, 'gguf'))}: {exc}")
        if isinstance(price, str):
            try:
                find_api(catalog, price)
            except CatalogError as exc:
                problems.append(f"{where(('backends', i, 'price'))}: {exc}")
    if config is not None and not problems:
        problems = _build_problems(config, catalog, where)
    return ConfigCheck(source, config if not problems else None, problems, models)


def _build_problems(
    config: GatewayConfig, catalog: Catalog, where: Callable[[Loc], str]
) -> list[str]:
    """What building the gateway's state (prices, `auto` and its router file) raises."""
    from modelyard.route.artifact import RouterFileError
    from modelyard.serve.app import build_state

    try:
        build_state(config, catalog)
    except RouterFileError as exc:
        return [f"{where(('auto', 'router'))}: {exc}"]
    except YardError as exc:
        return [str(exc)]
    return []
