"""LLM-as-judge scorers: a 1–10 single grade (MT-Bench style) and a pairwise verdict judged in
both orders, where the two orders disagreeing counts as a tie (FastChat, Arena-Hard practice).

The prompts follow the structure of FastChat's ``single-v1`` and ``pair-v2`` judge prompts
(Apache-2.0); the judge runs at temperature 0 through the same cached client as the targets.
"""

from __future__ import annotations

import re

from modelyard.errors import EvalError
from modelyard.eval.schema import Score
from modelyard.eval.scorers._registry import JudgeFn, ScoreContext, ScoreFn, scorer

SINGLE_SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the response provided by an "
    "AI assistant to the user question displayed below. Consider helpfulness, relevance, "
    "accuracy, depth, creativity and level of detail.{reference_hint} Begin your evaluation by "
    "providing a short explanation. Be as objective as possible. After providing your "
    "explanation, you must rate the response on a scale of 1 to 10 by strictly following this "
    'format: "[[rating]]", for example: "Rating: [[5]]".'
)
PAIR_SYSTEM = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two "
    "AI assistants to the user question displayed below. Choose the assistant that follows the "
    "user's instructions and answers the user's question better. Avoid any position biases and "
    "ensure that the order in which the responses were presented does not influence your "
    "decision. Do not allow the length of the responses to influence your evaluation. Be as "
    "objective as possible. After providing your explanation, output your final verdict by "
    'strictly following this format: "[[A]]" if assistant A is better, "[[B]]" if assistant B '
    'is better, and "[[C]]" for a tie.'
)
_RATING = (re.compile(r"\[\[(\d+\.?\d*)\]\]"), re.compile(r"\[(\d+\.?\d*)\]"))
_VERDICT = re.compile(r"\[\[([ABC])\]\]")


def parse_rating(text: str) -> float | None:
    """The 1–10 rating in a judge reply (``[[n]]``, else ``[n]``), or None."""
    for pattern in _RATING:
        found = pattern.findall(text)
        if found and 1 <= float(found[-1]) <= 10:
            return float(found[-1])
    return None


def _require(judge: JudgeFn | None) -> JudgeFn:
    if judge is None:
        raise EvalError("this scorer needs a judge model: pass --judge MODEL")
    return judge


def single_messages(question: str, answer: str, reference: str | None) -> list[dict[str, str]]:
    """The judge conversation for grading one answer (with a reference answer if given)."""
    hint = " Compare the assistant's answer with the reference answer." if reference else ""
    body = f"[Question]\n{question}\n\n"
    if reference:
        body += f"[The Start of Reference Answer]\n{reference}\n[The End of Reference Answer]\n\n"
    body += f"[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]"
    return [
        {"role": "system", "content": SINGLE_SYSTEM.format(reference_hint=hint)},
        {"role": "user", "content": body},
    ]


@scorer("judge", binary=False, needs_judge=True)
def judge() -> ScoreFn:
    """The judge model grades the reply 1–10 (item reference, if any, as the reference answer)."""

    async def score(ctx: ScoreContext) -> Score:
        ref = ctx.item.reference if isinstance(ctx.item.reference, str) else None
        reply = await _require(ctx.judge)(single_messages(ctx.item.text(), ctx.output, ref))
        rating = parse_rating(reply)
        return Score(
            value=rating,
            answer=None if rating is None else str(rating),
            explanation=reply[-1500:]
            if rating is not None
            else f"judge gave no [[rating]]: {reply[-500:]}",
        )

    return score


def pair_messages(question: str, first: str, second: str) -> list[dict[str, str]]:
    """The judge conversation comparing two answers, ``first`` shown as assistant A."""
    body = (
        f"[User Question]\n{question}\n\n[The Start of Assistant A's Answer]\n{first}\n"
        f"[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\n{second}\n"
        "[The End of Assistant B's Answer]"
    )
    return [{"role": "system", "content": PAIR_SYSTEM}, {"role": "user", "content": body}]


def parse_verdict(text: str) -> str | None:
    """``A``, ``B`` or ``C`` (tie) from a judge reply, or None."""
    found = _VERDICT.findall(text)
    return found[-1] if found else None


def combine(first_order: str | None, second_order: str | None) -> tuple[float, str]:
    """Model's value from (model as A) and (model as B) verdicts; disagreement is a tie."""
    model_first = {"A": "win", "B": "loss", "C": "tie"}.get(first_order or "", "none")
    model_second = {"B": "win", "A": "loss", "C": "tie"}.get(second_order or "", "none")
    if model_first != model_second:
        return 0.5, f"inconsistent across orders ({model_first}/{model_second}): tie"
    return {"win": 1.0, "loss": 0.0, "tie": 0.5, "none": 0.5}[model_first], model_first


@scorer("pairwise", binary=False, needs_judge=True)
def pairwise(*, baseline: str | None = None) -> ScoreFn:
    """Judge the reply against the baseline model's reply in both orders: 1 win, 0.5 tie, 0 loss."""

    async def score(ctx: ScoreContext) -> Score:
        base = baseline or next(iter(ctx.outputs), ctx.model)
        if base == ctx.model or base not in ctx.outputs:
            return Score(value=0.5, explanation=f"{ctx.model} is the baseline")
        ask = _require(ctx.judge)
        question, other = ctx.item.text(), ctx.outputs[base]
        g1 = parse_verdict(await ask(pair_messages(question, ctx.output, other)))
        g2 = parse_verdict(await ask(pair_messages(question, other, ctx.output)))
        value, why = combine(g1, g2)
        return Score(
            value=value,
            answer=why,
            explanation=f"vs {base}: {why}",
            metadata={"baseline": base, "model_as_a": g1, "model_as_b": g2},
        )

    return score
