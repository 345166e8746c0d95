"""Suites: JSONL or YAML files of items, shared benchmark sets, and the examples we ship.

A JSONL suite has one item per line (``{"id", "prompt" | "messages", "reference", "scorer",
"category", "tags", "language", "metadata"}``); ``scorer`` is a name or ``{"name", "args"}``. A YAML
suite is a mapping with ``name``, ``description``, ``scorer``, ``params`` and ``items``. A line or
item that does not parse is reported as ``file:line: problem`` and the rest still runs.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from modelyard.errors import EvalError
from modelyard.eval import adapters
from modelyard.eval.schema import GenerateParams, Item, ScorerSpec, Suite


def example_suites() -> dict[str, Path]:
    """The example suites shipped with modelyard, by name."""
    folder = Path(str(resources.files("modelyard.eval") / "suites"))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def _coerce(row: dict[str, Any]) -> dict[str, Any]:
    if isinstance(row.get("scorer"), str):
        row = {**row, "scorer": {"name": row["scorer"]}}
    if "id" in row:
        row = {**row, "id": str(row["id"])}
    return row


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in exc.errors())


def parse_item(row: Any, where: str) -> Item:
    """One item from a decoded row.

    Raises:
        EvalError: naming ``where`` and every invalid field.
    """
    if not isinstance(row, dict):
        raise EvalError(f"{where}: expected an object, got {type(row).__name__}")
    try:
        item = Item.model_validate(_coerce(row))
    except ValidationError as exc:
        raise EvalError(f"{where}: {_errors(exc)}") from exc
    if item.prompt is None and not item.messages:
        raise EvalError(f"{where}: item {item.id!r} has neither 'prompt' nor 'messages'")
    return item


def _collect(rows: list[tuple[str, Any]], suite: Suite) -> Suite:
    seen: set[str] = set()
    for where, row in rows:
        try:
            item = parse_item(row, where)
        except EvalError as exc:
            suite.problems.append(str(exc))
            continue
        if item.id in seen:
            suite.problems.append(f"{where}: duplicate id {item.id!r}; skipped")
            continue
        seen.add(item.id)
        suite.items.append(item)
    return suite


def _jsonl_rows(path: Path, problems: list[str]) -> list[tuple[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((f"{path}:{number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{number}: not JSON ({exc.msg} at column {exc.colno})")
    return rows


def _load_yaml(path: Path) -> Suite:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise EvalError(f"{path}: not valid YAML: {exc}") from exc
    if isinstance(data, list):
        data = {"items": data}
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise EvalError(f"{path}: expected a mapping with an 'items' list")
    try:
        suite = Suite(
            name=str(data.get("name", path.stem)),
            source=str(path),
            description=str(data.get("description", "")),
            scorer=ScorerSpec.model_validate(_coerce(data)["scorer"])
            if "scorer" in data
            else ScorerSpec(name="normalized"),
            params=GenerateParams.model_validate(data.get("params") or {}),
        )
    except ValidationError as exc:
        raise EvalError(f"{path}: {_errors(exc)}") from exc
    rows = [(f"{path}: items[{i}]", row) for i, row in enumerate(data["items"])]
    return _collect(rows, suite)


def load_suite_file(path: Path) -> Suite:
    """Read a ``.jsonl``, ``.yaml`` or ``.yml`` suite.

    Raises:
        EvalError: the file is missing, has another extension, or is not YAML at all.
    """
    if not path.is_file():
        raise EvalError(f"{path}: suite file not found")
    if path.suffix in (".yaml", ".yml"):
        return _load_yaml(path)
    if path.suffix != ".jsonl":
        raise EvalError(f"{path}: suites are .jsonl, .yaml or .yml files")
    suite = Suite(name=path.stem, source=str(path))
    return _collect(_jsonl_rows(path, suite.problems), suite)


def resolve_suite(spec: str, shared_data: Path) -> Suite:
    """The suite ``spec`` names: a file, a shared set (``mgsm:fr``, ``gsm8k``...) or an example.

    Raises:
        EvalError: nothing by that name, with the names that exist.
    """
    path = Path(spec).expanduser()
    if path.suffix in (".jsonl", ".yaml", ".yml") or path.is_file():
        return load_suite_file(path)
    name, _, variant = spec.partition(":")
    if name in adapters.SHARED_SETS:
        return adapters.load_shared(name, variant or None, shared_data)
    examples = example_suites()
    if spec in examples:
        return load_suite_file(examples[spec])
    known = sorted(adapters.SHARED_SETS) + sorted(examples)
    raise EvalError(
        f"unknown suite {spec!r}: give a .jsonl/.yaml file or one of {', '.join(known)}"
    )
