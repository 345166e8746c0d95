"""Load the shipped catalog (package data) plus the user's additions, checking every reference."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from modelyard.catalog.schema import GPU, ApiOffer, License, Model, Ref, Source
from modelyard.errors import CatalogError
from modelyard.yamlfile import LazyNode, line_of, read_yaml, validate

E = TypeVar("E", bound=BaseModel)

LISTS: dict[str, tuple[str, type[BaseModel]]] = {
    "sources.yaml": ("sources", Source),
    "licenses.yaml": ("licenses", License),
    "gpus.yaml": ("gpus", GPU),
    "apis.yaml": ("apis", ApiOffer),
}


@dataclass
class Catalog:
    """Every model, GPU, API offer, license and source, keyed by id."""

    sources: dict[str, Source] = field(default_factory=dict)
    licenses: dict[str, License] = field(default_factory=dict)
    gpus: dict[str, GPU] = field(default_factory=dict)
    apis: dict[str, ApiOffer] = field(default_factory=dict)
    models: dict[str, Model] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    """For each entry id (prefixed by kind), the file it came from."""


def data_dir() -> Path:
    """The catalog data shipped inside the package."""
    return Path(str(resources.files("modelyard.catalog") / "data"))


def load_catalog(*extra_dirs: Path) -> Catalog:
    """Read the shipped data, then each directory in ``extra_dirs`` (later entries win).

    Raises:
        CatalogError: listing every problem found, one per line, each naming file and field.
    """
    catalog, errors = Catalog(), []
    for directory in (data_dir(), *extra_dirs):
        if directory.is_dir():
            errors += _load_dir(catalog, directory)
    errors += _check_references(catalog)
    if errors:
        raise CatalogError("catalog has errors:\n" + "\n".join(errors))
    return catalog


@lru_cache(maxsize=4)
def cached_catalog(*extra_dirs: Path) -> Catalog:
    """load_catalog, memoised per set of directories (the data does not change in a process)."""
    return load_catalog(*extra_dirs)


def _load_dir(catalog: Catalog, directory: Path) -> list[str]:
    errors: list[str] = []
    for name, (attr, kind) in LISTS.items():
        path = directory / name
        if path.exists():
            errors += _load_list(catalog, path, attr, kind)
    models_dir = directory / "models"
    for path in sorted(models_dir.glob("*.yaml")) if models_dir.is_dir() else []:
        errors += _load_models(catalog, path)
    return errors


def _load_list(catalog: Catalog, path: Path, key: str, kind: type[E]) -> list[str]:
    data, node = read_yaml(path, CatalogError)
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        return [f"{path}: expected a mapping with a '{key}:' list at the top"]
    errors = _file_sources(catalog, path, node, data) if key != "sources" else []
    target = getattr(catalog, key)
    return errors + _add_entries(target, catalog.origin, path, node, key, data[key], kind)


def _file_sources(
    catalog: Catalog, path: Path, node: LazyNode | None, data: dict[str, Any]
) -> list[str]:
    """Any data file may declare the sources its entries cite in a top-level 'sources:' list."""
    items = data.get("sources", [])
    if not isinstance(items, list):
        return [f"{path}: 'sources:' must be a list"]
    return _add_entries(catalog.sources, catalog.origin, path, node, "sources", items, Source)


def _add_entries(
    target: dict[str, Any],
    origin: dict[str, str],
    path: Path,
    node: LazyNode | None,
    key: str,
    items: Iterable[Any],
    kind: type[E],
) -> list[str]:
    errors: list[str] = []
    for i, item in enumerate(items):
        entry, problems = validate(kind, item, path, node, prefix=(key, i))
        errors += problems
        if entry is None:
            continue
        entry_id = entry.id  # type: ignore[attr-defined]
        tag = f"{key}:{entry_id}"
        if entry_id in target and Path(origin[tag]).parent == path.parent:
            errors.append(
                f"{path}:{line_of(node, (key, i))}: {key}.{i}.id: duplicate id {entry_id!r}"
            )
        target[entry_id] = entry
        origin[tag] = str(path)
    return errors


def _load_models(catalog: Catalog, path: Path) -> list[str]:
    data, node = read_yaml(path, CatalogError)
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        return [f"{path}: expected 'family:' and a 'models:' list at the top"]
    family = data.get("family", path.stem)
    items = [
        {"family": family, **m} if isinstance(m, dict) and "family" not in m else m
        for m in data["models"]
    ]
    errors = _file_sources(catalog, path, node, data)
    return errors + _add_entries(catalog.models, catalog.origin, path, node, "models", items, Model)


def iter_refs(obj: Any) -> Iterable[tuple[str, Ref]]:
    """Every Ref inside a pydantic object, with a dotted path to it."""
    if isinstance(obj, Ref):
        yield "", obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            for sub, ref in iter_refs(getattr(obj, name)):
                yield f"{name}{'.' + sub if sub else ''}", ref
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            for sub, ref in iter_refs(item):
                yield f"{i}{'.' + sub if sub else ''}", ref


def _check_references(catalog: Catalog) -> list[str]:
    errors = []
    for kind in ("licenses", "gpus", "apis", "models"):
        for entry_id, entry in getattr(catalog, kind).items():
            where = f"{catalog.origin[f'{kind}:{entry_id}']}: {kind} {entry_id!r}"
            for path, ref in iter_refs(entry):
                if ref.source not in catalog.sources:
                    errors.append(f"{where}: {path}.source: unknown source {ref.source!r}")
    for model in catalog.models.values():
        where = f"{catalog.origin[f'models:{model.id}']}: models {model.id!r}"
        if model.license and model.license not in catalog.licenses:
            errors.append(f"{where}: license: unknown license {model.license!r}")
    for api in catalog.apis.values():
        if api.model_id and api.model_id not in catalog.models:
            where = catalog.origin[f"apis:{api.id}"]
            errors.append(f"{where}: apis {api.id!r}: model_id: unknown model {api.model_id!r}")
    return errors
