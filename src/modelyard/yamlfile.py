"""Strict YAML reading: safe_load, pydantic validation, errors that name file, line and field."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from modelyard.errors import YardError

M = TypeVar("M", bound=BaseModel)


Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LazyNode:
    """The YAML node tree of a text, composed only when a line number is needed (on errors)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._node: yaml.Node | None = None

    def resolve(self) -> yaml.Node | None:
        if self._node is None:
            self._node = yaml.compose(self.text, Loader=Loader)
        return self._node


def read_yaml(path: Path, error: type[YardError] = YardError) -> tuple[Any, LazyNode]:
    """Parse a YAML file into plain data plus its (lazily built) node tree for line numbers."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    try:
        return yaml.load(text, Loader=Loader), LazyNode(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{path}{where}: invalid YAML: {problem}") from exc


def line_of(node: yaml.Node | LazyNode | None, loc: Sequence[str | int]) -> int | None:
    """1-based line of the value at ``loc`` inside ``node`` (the deepest that exists)."""
    if isinstance(node, LazyNode):
        node = node.resolve()
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            node = node.value[key] if key < len(node.value) else None
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def format_validation(
    exc: ValidationError,
    path: Path | str,
    node: yaml.Node | LazyNode | None = None,
    prefix: Sequence[str | int] = (),
) -> list[str]:
    """One line per error: ``file:line: field.path: message``."""
    lines = []
    for err in exc.errors(include_url=False):
        # a validator that checks fields below its own model names them in ctx["at"]
        loc = [*prefix, *err["loc"], *err.get("ctx", {}).get("at", ())]
        line = line_of(node, loc)
        where = f"{path}:{line}" if line else str(path)
        field = ".".join(str(p) for p in loc) or "(top level)"
        lines.append(f"{where}: {field}: {err['msg']}")
    return lines


def validate(
    model: type[M],
    data: Any,
    path: Path | str,
    node: yaml.Node | LazyNode | None = None,
    prefix: Sequence[str | int] = (),
) -> tuple[M | None, list[str]]:
    """Validate ``data`` as ``model``; return it, or None and the rendered errors."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, format_validation(exc, path, node, prefix)
