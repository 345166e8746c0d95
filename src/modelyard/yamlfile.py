"""Strict YAML reading: safe_load, pydantic validation, errors that name file, line and field."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

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
        data = yaml.load(text, Loader=Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{path}{where}: invalid YAML: {problem}") from exc
    if "&" not in text:  # no anchor, so no alias: nothing is shared or repeated
        return data, LazyNode(text)
    try:
        size = expanded_size(data)
    except RecursionError:
        raise error(f"{path}: a YAML alias refers to a value that holds it") from None
    if size > MAX_VALUES:
        raise error(
            f"{path}: {size:,} values once YAML aliases are expanded (at most {MAX_VALUES:,}); "
            f"write the values out instead of repeating aliases"
        )
    return data, LazyNode(text)


MAX_VALUES = 1_000_000
"""Values a file may hold with its aliases expanded: what every reader of it walks through."""


def expanded_size(data: Any) -> int:
    """How many values ``data`` holds with shared (aliased) parts counted each time they recur,
    computed once per shared part.

    Raises:
        RecursionError: a value contains itself (``&a [*a]``).
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        value, done = stack.pop()
        if not isinstance(value, dict | list) or (not done and id(value) in sizes):
            continue
        children = list(value.values()) if isinstance(value, dict) else value
        if done:
            active.discard(id(value))
            sizes[id(value)] = 1 + sum(sizes.get(id(c), 1) for c in children)
        elif id(value) in active:
            raise RecursionError("a value contains itself")
        else:
            active.add(id(value))
            stack.append((value, True))
            stack += [(c, False) for c in children if isinstance(c, dict | list)]
    return sizes.get(id(data), 1)


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
    model: type[BaseModel] | None = None,
) -> list[str]:
    """One line per error: ``file:line: field.path: message``.

    With ``model`` (the class that was validated), an unknown key gets a "did you mean" from
    the fields of the model it was found in.
    """
    lines = []
    for err in exc.errors(include_url=False):
        ctx = err.get("ctx", {})
        # a validator that checks fields below its own model names them in ctx["at"], or lists
        # several problems as (at, message) pairs in ctx["problems"]
        problems = ctx.get("problems") or [(ctx.get("at", ()), err["msg"])]
        for at, message in problems:
            loc = [*prefix, *err["loc"], *at]
            if err["type"] == "extra_forbidden" and model is not None:
                message = unknown_field(err["loc"], model)
            line = line_of(node, loc)
            where = f"{path}:{line}" if line else str(path)
            field = ".".join(str(p) for p in loc) or "(top level)"
            lines.append(f"{where}: {field}: {message}")
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
        return None, format_validation(exc, path, node, prefix, model)


def unknown_field(loc: Sequence[str | int], model: type[BaseModel]) -> str:
    """'unknown field 'prot'; did you mean port?' for the key at ``loc`` inside ``model``."""
    key, fields = str(loc[-1]), fields_at(model, loc[:-1])
    close = difflib.get_close_matches(key, fields, n=3, cutoff=0.6)
    if close:
        return f"unknown field {key!r}; did you mean {' or '.join(close)}?"
    if fields and len(fields) <= 16:
        return f"unknown field {key!r}; the fields here are {', '.join(fields)}"
    return f"unknown field {key!r}"


def fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names of the model found at ``loc`` inside ``model`` (none when no model is)."""
    kinds: list[Any] = [model]
    for key in loc:
        kinds = [child for kind in kinds for child in _step(kind, key)]
    return sorted({name for kind in kinds if _is_model(kind) for name in kind.model_fields})


def _step(kind: Any, key: str | int) -> list[Any]:
    """The types one key below ``kind``: a field, a list item, a dict value, a union member."""
    options = _alternatives(kind)
    named = [o for o in options if _is_model(o) and o.__name__ == key]  # pydantic's union tag
    if named:
        return named
    found: list[Any] = []
    for option in options:
        args = get_args(option)
        if _is_model(option) and isinstance(key, str) and key in option.model_fields:
            found.append(option.model_fields[key].annotation)
        elif get_origin(option) in (list, tuple, set, frozenset) and isinstance(key, int):
            found += args[:1]
        elif get_origin(option) is dict and isinstance(key, str) and len(args) == 2:
            found.append(args[1])
    return found


def _alternatives(kind: Any) -> list[Any]:
    """``X | Y`` and ``Annotated[X, ...]`` as their concrete types."""
    origin = get_origin(kind)
    if origin is Annotated:
        return _alternatives(get_args(kind)[0])
    if origin in (Union, UnionType):
        return [alt for arg in get_args(kind) for alt in _alternatives(arg)]
    return [kind]


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)
