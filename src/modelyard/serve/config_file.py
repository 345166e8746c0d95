"""Reading a gateway config file: ``${ENV}`` references resolved, every problem found at once
(unset variables, schema and reference errors, each at ``file:line: field``), and a relative
router path anchored to the file's folder. The schema itself is serve/config.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from modelyard.config import env
from modelyard.errors import ConfigError
from modelyard.serve.config import GatewayConfig, Loc, Problem, reference_problems
from modelyard.yamlfile import LazyNode, line_of, read_yaml, validate

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def load_config(path: Path) -> GatewayConfig:
    """Read, resolve ``${ENV}`` references in, and validate one gateway config file.

    Raises:
        ConfigError: every problem, one per line, as ``file:line: field: message``.
    """
    parsed = parse_config(path)
    if parsed.config is None:
        raise ConfigError(f"{path}: invalid gateway config:\n" + "\n".join(parsed.problems))
    return parsed.config


@dataclass(frozen=True)
class ParsedConfig:
    """A config file read: the config when it is valid, else every problem found in it."""

    path: Path
    config: GatewayConfig | None
    problems: list[str]
    """``file:line: field: message`` lines: unset variables, schema and reference errors."""
    node: LazyNode
    data: dict[str, Any]
    """The file's mapping with ``${ENV}`` resolved, for checks that go on past a schema error."""

    def where(self, at: Loc) -> str:
        """``file:line: field`` of the value at ``at``, for problems found later."""
        return f"{self.path}:{line_of(self.node, at)}: {'.'.join(map(str, at))}"


def parse_config(path: Path) -> ParsedConfig:
    """Read and validate a config file, collecting every problem instead of stopping at one.

    Raises:
        ConfigError: the file cannot be read or is not YAML (nothing else can be checked).
    """
    data, node = read_yaml(path, ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with backends: and models:")
    missing: list[Loc] = []
    data = _resolve_env(data, (), missing)
    unset = [
        f"{path}:{line_of(node, loc)}: {'.'.join(map(str, loc))}: environment variable "
        f"{name} is not set; export it or edit the file"
        for loc in missing
        for name in ENV_REF.findall(_value_at(data, loc))
        if env(name) is None
    ]
    config, errors = validate(GatewayConfig, data, path, node)
    # a value whose variable is unset fails its own checks too: its line above says why
    fields = {f": {'.'.join(map(str, loc))}: " for loc in missing}
    errors = [e for e in errors if not any(f in e for f in fields)]
    if unset or errors:
        # reference checks run only once the schema holds: run them on the raw data here
        found = ParsedConfig(path, None, [], node, data)
        errors += [
            line
            for at, text in raw_reference_problems(data)
            if (line := f"{found.where(at)}: {text}") not in errors
        ]
        return ParsedConfig(path, None, unset + errors, node, data)
    assert config is not None
    config = _anchor_router(config, path.parent)
    config._source = path.absolute()
    return ParsedConfig(path, config, [], node, data)


def _anchor_router(config: GatewayConfig, folder: Path) -> GatewayConfig:
    """A relative `auto.router` path is read from the config file's folder."""
    auto = config.auto
    if auto is None or auto.router is None or auto.router.is_absolute():
        return config
    return config.model_copy(
        update={"auto": auto.model_copy(update={"router": folder / auto.router})}
    )


def _resolve_env(
    value: Any, loc: tuple[str | int, ...], missing: list[tuple[str | int, ...]]
) -> Any:
    """``value`` with every ``${NAME}`` replaced; a value naming an unset variable is kept as
    written, and its place added to ``missing``."""
    if isinstance(value, dict):
        return {k: _resolve_env(v, (*loc, k), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, (*loc, i), missing) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    if any(env(name) is None for name in ENV_REF.findall(value)):
        missing.append(loc)
        return value
    return ENV_REF.sub(lambda match: env(match.group(1)) or "", value)


def _value_at(data: Any, loc: Loc) -> str:
    for key in loc:
        data = data[key]
    return str(data)


def raw_reference_problems(data: dict[str, Any]) -> list[Problem]:
    """``reference_problems`` of a file whose other fields failed validation, so that every
    problem is reported at once: what cannot be read as names is left to the schema errors."""
    backends, models, auto = data.get("backends"), data.get("models"), data.get("auto")
    if not isinstance(backends, list) or not isinstance(models, dict):
        return []
    names = [b["name"] for b in backends if isinstance(b, dict) and isinstance(b.get("name"), str)]
    chains = {m: c for m, c in models.items() if isinstance(c, list) and _all_text(c)}
    listed = auto.get("candidates") if isinstance(auto, dict) else None
    candidates = [c.get("model") if isinstance(c, dict) else c for c in listed or []]
    return reference_problems(names, chains, candidates if _all_text(candidates) else [])


def _all_text(values: list[Any]) -> TypeGuard[list[str]]:
    return all(isinstance(v, str) for v in values)
