"""What a reply itself says about whether it is right: the cascade's evidence.

A cascade (docs/routing.md) asks the cheap model first and escalates when its reply looks wrong.
These features need no model call: a final-answer marker and the number after it, whether that
number is the last one the working computed, hedging words, the length, and the reply's own
arithmetic re-done: every ``a op b = c`` and GSM8K-style ``<<a op b=c>>`` whose claimed result
is not what the operands give. The arithmetic is evaluated on a parsed tree of numbers and
+ − × ÷ only, never by ``eval``.
"""

from __future__ import annotations

import ast
import math
import operator
import re

import numpy as np

REPLY_FEATURES = (
    "final_marker",
    "final_number",
    "final_integer",
    "final_is_last",
    "hedge",
    "log_annotations",
    "log_equations",
    "log_checked",
    "wrong",
    "any_wrong",
    "log_chars",
)
NUMBER = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
"""A number, commas only between groups of three digits (no pattern here backtracks on long
runs of digits, commas or operators: replies come from upstreams, whatever they hold)."""
MAX_OPERANDS = 8
MAX_CHARS = 20_000
"""Longer replies are read by their last MAX_CHARS characters, where the final answer is."""
_MARKER = re.compile(
    r"####|\\boxed\{|\b(?:final answer|the answer is|answer is|answer:)", re.IGNORECASE
)
_AFTER_MARKER = re.compile(r"[^\d\n-]{0,12}?\$?\s*(" + NUMBER + ")")
_ANNOTATION = re.compile(r"<<([^=<>]{1,200})=([^<>]{1,40})>>")
_OPERATOR = r"\s*[-+*/x×÷]\s*"
_TERM = rf"\$?{NUMBER}"
_EQUATION = re.compile(  # atomic: a chain of terms that meets no "=" is not tried again shorter
    rf"(?<![\w./^])((?>{_TERM}(?:{_OPERATOR}{_TERM}){{1,{MAX_OPERANDS}}}))"
    rf"\s*=\s*\$?({NUMBER})(?![\d/%^.]\d|[/%^])"
)
_HEDGE = re.compile(
    r"\b(?:however|but|assum(?:e|ing)|not possible|impossible|cannot|can't|unclear|"
    r"not enough information|approximately|round(?:ed|ing)?|i'm not sure|it seems)\b",
    re.IGNORECASE,
)
_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def reply_features(text: str) -> np.ndarray:
    """The REPLY_FEATURES of one reply, as floats."""
    text = text[-MAX_CHARS:]
    final, before = _final(text)
    numbers = re.findall(NUMBER, before)
    annotations, equations = _claims(text)
    checked, wrong = _tally(annotations + equations)
    return np.array(
        [
            _MARKER.search(text) is not None,
            final is not None,
            final is not None and final.is_integer(),
            final is not None and bool(numbers) and _number(numbers[-1]) == final,
            _HEDGE.search(text) is not None,
            math.log1p(len(annotations)),
            math.log1p(len(equations)),
            math.log1p(checked),
            min(wrong, 3),
            wrong > 0,
            math.log1p(len(text)),
        ],
        dtype=float,
    )


def arithmetic(text: str) -> tuple[int, int]:
    """(calculations checked, calculations whose claimed result is wrong) in ``text``."""
    annotations, equations = _claims(text[-MAX_CHARS:])
    return _tally(annotations + equations)


def mistakes(text: str) -> list[str]:
    """The calculations in ``text`` whose claimed result is wrong, as written, once each."""
    annotations, equations = _claims(text[-MAX_CHARS:])
    wrong = [(e, r) for e, r in annotations + equations if _verdict(e, r) is False]
    return list(dict.fromkeys(f"{e.strip()} = {r.strip()}" for e, r in wrong))


def _claims(text: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(expression, claimed result) of every calculation in ``text``: the ``<<…>>`` annotations,
    then those written inline."""
    inline = _ANNOTATION.sub(" ", text)
    return _ANNOTATION.findall(text), _EQUATION.findall(inline) if "=" in inline else []


def _tally(claims: list[tuple[str, str]]) -> tuple[int, int]:
    verdicts = [v for v in (_verdict(e, r) for e, r in claims) if v is not None]
    return len(verdicts), verdicts.count(False)


def _verdict(expression: str, claimed: str) -> bool | None:
    """Whether the claimed result is right; None when either side is not a number."""
    claimed = claimed.strip().rstrip(".")
    value, result = evaluate(expression), _number(claimed)
    return None if value is None or result is None else _agrees(value, result, claimed)


def evaluate(expression: str) -> float | None:
    """The value of a calculation of numbers and + − × ÷ (and brackets), or None."""
    cleaned = expression.replace(",", "").replace("$", "").replace("×", "*").replace("÷", "/")
    cleaned = re.sub(r"(?<=[\d)\s])x(?=[\s\d(])", "*", cleaned)
    try:
        return _value(ast.parse(cleaned.strip(), mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return None


def _value(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _value(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _value(node.left), _value(node.right)
        if left is None or right is None:
            return None
        return _OPS[type(node.op)](left, right)
    return None


def _agrees(value: float, result: float, written: str) -> bool:
    """The claimed ``result`` is ``value``, allowing the rounding its written decimals show."""
    decimals = len(written.split(".")[1]) if "." in written else 0
    return abs(value - result) <= max(0.5 * 10.0**-decimals, 1e-9 * abs(value)) + 1e-12


def _final(text: str) -> tuple[float | None, str]:
    """The number after the last final-answer marker and the text before that marker."""
    markers = list(_MARKER.finditer(text))
    if not markers:
        return None, text
    last = markers[-1]
    found = _AFTER_MARKER.match(text, last.end())
    return (_number(found.group(1)) if found else None), text[: last.start()]


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None
