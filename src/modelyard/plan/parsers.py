"""Tool-call and reasoning parser names per model and engine (data/parsers.yaml)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from modelyard.catalog.schema import Model
from modelyard.errors import CatalogError
from modelyard.yamlfile import read_yaml, validate


class EngineParsers(BaseModel):
    """What one engine calls the model's parsers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: str | None = None
    """--tool-call-parser value."""
    reasoning: str | None = None
    """--reasoning-parser value."""
    template: str | None = None
    """The chat template the engine's docs pair with the tool parser (vLLM examples/)."""


class _Family(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    prefix: list[str]
    vllm: EngineParsers = EngineParsers()
    sglang: EngineParsers = EngineParsers()


class _ParserFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: dict[str, str]
    families: list[_Family]


@lru_cache(maxsize=1)
def _load() -> _ParserFile:
    path = Path(str(resources.files("modelyard.plan") / "data" / "parsers.yaml"))
    data, node = read_yaml(path, CatalogError)
    parsed, errors = validate(_ParserFile, data, path, node)
    if parsed is None:
        raise CatalogError("\n".join(errors))
    return parsed


def parsers(model: Model, engine_id: str) -> EngineParsers:
    """The parsers ``engine_id`` needs for ``model``'s tool calls and reasoning (the ones its
    catalog capabilities call for)."""
    for family in _load().families:
        if any(model.id.startswith(p) for p in family.prefix):
            found: EngineParsers = getattr(family, engine_id, EngineParsers())
            caps = model.capabilities
            return EngineParsers(
                tool=found.tool if caps.tools else None,
                reasoning=found.reasoning if caps.reasoning else None,
                template=found.template if caps.tools else None,
            )
    return EngineParsers()


def parser_source(engine_id: str) -> str:
    """Where an engine's parser names come from."""
    return _load().sources.get(engine_id, "")
