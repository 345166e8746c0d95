"""Find catalog entries by the names people type, with a "did you mean" when none matches."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeVar

from rapidfuzz import process

from modelyard.catalog.loader import Catalog
from modelyard.catalog.schema import GPU, ApiOffer, Model
from modelyard.errors import CatalogError

T = TypeVar("T", Model, GPU, ApiOffer)


def normalize(name: str) -> str:
    """Lowercase, keep letters and digits only: 'Llama 3.1-8B' -> 'llama318b'."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _names(entry: Model | GPU | ApiOffer) -> Iterable[str]:
    yield entry.id
    if isinstance(entry, Model | GPU):
        yield entry.name
        yield from entry.aliases
    if isinstance(entry, Model):
        yield from (n for n in (entry.hf_repo, entry.ollama_tag) if n)
        if entry.hf_repo:
            yield entry.hf_repo.split("/")[-1]
    if isinstance(entry, ApiOffer):
        yield entry.model_name


def _index(entries: dict[str, T]) -> dict[str, T]:
    index: dict[str, T] = {}
    for entry in entries.values():
        for name in _names(entry):
            index.setdefault(normalize(name), entry)
    return index


def suggest(name: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """Closest candidate names, best first."""
    found = process.extract(name, list(candidates), limit=limit, score_cutoff=50)
    return [match for match, _score, _ in found]


def _find(kind: str, name: str, entries: dict[str, T]) -> T:
    if name in entries:
        return entries[name]
    hit = _index(entries).get(normalize(name))
    if hit is not None:
        return hit
    hint = suggest(name, entries)
    message = f"unknown {kind} {name!r}"
    if hint:
        message += f"; did you mean {', '.join(hint)}?"
    raise CatalogError(message + f" (see `yard {kind_command(kind)}`)")


def kind_command(kind: str) -> str:
    return {"model": "models list", "GPU": "gpus list", "API offer": "models apis"}.get(
        kind, "models list"
    )


def find_model(catalog: Catalog, name: str) -> Model:
    """The model whose id, name, alias, HF repo or Ollama tag is ``name``."""
    return _find("model", name, catalog.models)


def find_api(catalog: Catalog, name: str) -> ApiOffer:
    """The API offer whose id or provider model name is ``name``."""
    return _find("API offer", name, catalog.apis)


def find_gpu(catalog: Catalog, name: str) -> GPU:
    """The GPU a user named (id, alias) or a tool reported ('NVIDIA H100 80GB HBM3').

    Reported names are matched against each GPU's ``match`` patterns first, so the
    SXM H100 that nvidia-smi calls "NVIDIA H100 80GB HBM3" is not taken for the PCIe part.
    """
    exact = catalog.gpus.get(name) or _index(catalog.gpus).get(normalize(name))
    if exact is not None:
        return exact
    for gpu in catalog.gpus.values():
        if any(re.search(p, name, re.IGNORECASE) for p in gpu.match):
            return gpu
    return _find("GPU", name, catalog.gpus)
