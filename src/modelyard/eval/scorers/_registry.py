"""The scorer registry: factories registered by name, rebuilt from a ``ScorerSpec``."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from modelyard.errors import EvalError
from modelyard.eval.schema import Item, Score, ScorerSpec

JudgeFn = Callable[[list[dict[str, str]]], Awaitable[str]]
"""Sends messages to the judge model and returns its reply text."""


@dataclass
class ScoreContext:
    """Everything a scorer may look at for one model's reply to one item."""

    item: Item
    output: str
    model: str = ""
    judge: JudgeFn | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    """Every model's reply to this item (pairwise judging compares them)."""
    unsafe_code: bool = False
    """The user allowed model-written code to run without isolation (``--unsafe-code``)."""


ScoreFn = Callable[[ScoreContext], Awaitable[Score]]


@dataclass(frozen=True)
class ScorerInfo:
    """A registered scorer factory and what the statistics may assume about its values."""

    name: str
    factory: Callable[..., ScoreFn]
    binary: bool
    """Values are 0/1, so McNemar's test applies."""
    needs_judge: bool
    """Calls the judge model (`--judge`)."""
    summary: str
    runs_code: bool = False
    """Runs model-written code (in the sandbox)."""


_SCORERS: dict[str, ScorerInfo] = {}


def scorer(
    name: str, *, binary: bool = True, needs_judge: bool = False, runs_code: bool = False
) -> Callable[[Callable[..., ScoreFn]], Callable[..., ScoreFn]]:
    """Register a scorer factory under ``name``.

    Args:
        name: the name suites use in ``scorer:``.
        binary: the scorer returns only 0 or 1.
        needs_judge: the scorer calls the judge model.
        runs_code: the scorer runs model-written code (the run checks the sandbox first).
    """

    def register(factory: Callable[..., ScoreFn]) -> Callable[..., ScoreFn]:
        summary = (factory.__doc__ or "").strip().splitlines()[0]
        _SCORERS[name] = ScorerInfo(name, factory, binary, needs_judge, summary, runs_code)
        return factory

    return register


def scorer_names() -> list[str]:
    """Registered scorer names, sorted."""
    return sorted(_SCORERS)


def scorer_info(spec: ScorerSpec) -> ScorerInfo:
    """The registry entry for ``spec``; a ``module:function`` name is a custom scorer.

    Raises:
        EvalError: the name is neither registered nor a custom scorer path.
    """
    if spec.name in _SCORERS:
        return _SCORERS[spec.name]
    if ":" in spec.name:
        return ScorerInfo(spec.name, _custom_factory(spec.name), False, False, "custom")
    raise EvalError(
        f"scorer {spec.name!r} is not known; use one of {', '.join(scorer_names())} "
        "or a custom 'module:function'"
    )


def create_scorer(spec: ScorerSpec) -> ScoreFn:
    """Build the scoring function ``spec`` names, with its arguments.

    Raises:
        EvalError: unknown scorer or arguments its factory does not take.
    """
    info = scorer_info(spec)
    try:
        return info.factory(**spec.args)
    except TypeError as exc:
        raise EvalError(f"scorer {spec.name!r}: bad arguments {spec.args}: {exc}") from exc


def _custom_factory(path: str) -> Callable[..., ScoreFn]:
    module_name, _, attr = path.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise EvalError(
            f"custom scorer {path!r} cannot be imported: {exc}; it must be an importable "
            "'module:function' taking (output, item)"
        ) from exc

    def factory(**args: Any) -> ScoreFn:
        async def score(ctx: ScoreContext) -> Score:
            value = fn(ctx.output, ctx.item, **args)
            if inspect.isawaitable(value):
                value = await value
            return _as_score(value, path)

        return score

    return factory


def _as_score(value: Any, path: str) -> Score:
    if isinstance(value, Score):
        return value
    if isinstance(value, bool | int | float):
        return Score(value=float(value), explanation=f"custom scorer {path}")
    raise EvalError(
        f"custom scorer {path} returned {type(value).__name__}; return a Score or number"
    )
