"""JSON scorers: the reply parses as JSON, and it satisfies a JSON-schema subset.

Supported schema keywords: type, enum, const, properties, required, additionalProperties (bool),
items, minItems, maxItems, minLength, maxLength, pattern, minimum, maximum. Others are ignored
and listed in the score's metadata, so a schema that relies on them is not silently trusted.
"""

from __future__ import annotations

import json
import re
from typing import Any

from modelyard.eval.schema import Score
from modelyard.eval.scorers._registry import ScoreContext, ScoreFn, scorer

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)
_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
    "number": (int, float),
    "integer": int,
}
_KNOWN = {
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "$schema",
    "title",
    "description",
}


def parse_json(text: str) -> tuple[Any, str | None]:
    """The JSON value in ``text`` (inside a code fence if there is one) and an error or None."""
    fenced = _FENCE.search(text)
    body = (fenced.group(1) if fenced else text).strip()
    try:
        return json.loads(body), None
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"


def _type_ok(value: Any, kind: str) -> bool:
    if kind in ("number", "integer") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES.get(kind, object))


def _scalar_errors(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    errors = []
    kinds = schema.get("type")
    if kinds and not any(
        _type_ok(value, k) for k in ([kinds] if isinstance(kinds, str) else kinds)
    ):
        errors.append(f"{where}: expected {kinds}, got {type(value).__name__}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: {value!r} != {schema['const']!r}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 1e18):
            errors.append(f"{where}: string length {len(value)} out of bounds")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {schema['pattern']!r}")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and not schema.get("minimum", -1e308) <= value <= schema.get("maximum", 1e308):
        errors.append(f"{where}: {value} out of [minimum, maximum]")
    return errors


def _object_errors(value: dict[str, Any], schema: dict[str, Any], where: str) -> list[str]:
    props = schema.get("properties", {})
    errors = [f"{where}: missing {k!r}" for k in schema.get("required", []) if k not in value]
    if schema.get("additionalProperties") is False:
        errors += [f"{where}: unexpected {k!r}" for k in value if k not in props]
    for key, sub in props.items():
        if key in value:
            errors += validate(value[key], sub, f"{where}.{key}")
    return errors


def _array_errors(value: list[Any], schema: dict[str, Any], where: str) -> list[str]:
    errors = []
    if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 1e18):
        errors.append(f"{where}: {len(value)} items out of bounds")
    if isinstance(schema.get("items"), dict):
        for i, element in enumerate(value):
            errors += validate(element, schema["items"], f"{where}[{i}]")
    return errors


def validate(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Every violation of ``schema`` by ``value``, one message each (empty when valid)."""
    errors = _scalar_errors(value, schema, where)
    if isinstance(value, dict):
        errors += _object_errors(value, schema, where)
    if isinstance(value, list):
        errors += _array_errors(value, schema, where)
    return errors


def unsupported_keywords(schema: Any) -> set[str]:
    """Schema keywords this validator ignores, found anywhere in ``schema``."""
    if not isinstance(schema, dict):
        return set()
    found = set(schema) - _KNOWN
    for sub in [*schema.get("properties", {}).values(), schema.get("items")]:
        found |= unsupported_keywords(sub)
    return found


@scorer("json_valid")
def json_valid() -> ScoreFn:
    """The reply is valid JSON (a ```json fence around it is allowed)."""

    async def score(ctx: ScoreContext) -> Score:
        value, error = parse_json(ctx.output)
        ok = error is None
        return Score(
            value=float(ok),
            answer=json.dumps(value) if ok else None,
            explanation=error or "valid JSON",
        )

    return score


@scorer("json_schema")
def json_schema(*, schema: dict[str, Any] | None = None) -> ScoreFn:
    """The reply is JSON that satisfies ``schema`` (default: the item's reference)."""

    async def score(ctx: ScoreContext) -> Score:
        rules = schema if schema is not None else ctx.item.reference
        value, error = parse_json(ctx.output)
        errors = [error] if error else validate(value, rules)
        meta = {"errors": errors, "ignored_keywords": sorted(unsupported_keywords(rules))}
        return Score(
            value=float(not errors),
            answer=None if error else json.dumps(value),
            explanation="; ".join(errors) or "matches the schema",
            metadata=meta,
        )

    return score
