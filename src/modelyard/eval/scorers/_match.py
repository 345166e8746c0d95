"""Deterministic text scorers: exact, normalized, contains, regex and numeric answers."""

from __future__ import annotations

import re
import string
import unicodedata
from typing import Any

from modelyard.eval.schema import Score
from modelyard.eval.scorers._registry import ScoreContext, ScoreFn, scorer

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_PUNCT = re.compile(f"[{re.escape(string.punctuation)}。、，！？：；「」『』«»“”‘’]")


def references(ref: Any) -> list[str]:
    """An item's reference as a list of accepted strings."""
    if ref is None:
        return []
    if isinstance(ref, list):
        return [str(r) for r in ref]
    return [str(ref)]


def normalize_text(text: str) -> str:
    """NFKC, case-folded, punctuation dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_PUNCT.sub(" ", text).split())


def _verdict(ok: bool, answer: str, refs: list[str], how: str) -> Score:
    verb = "matches" if ok else "does not match"
    return Score(value=float(ok), answer=answer, explanation=f"{how}: answer {verb} {refs!r}")


@scorer("exact")
def exact(*, strip: bool = True) -> ScoreFn:
    """The reply equals a reference exactly (surrounding whitespace ignored unless strip=False)."""

    async def score(ctx: ScoreContext) -> Score:
        answer = ctx.output.strip() if strip else ctx.output
        refs = references(ctx.item.reference)
        return _verdict(answer in refs, answer, refs, "exact")

    return score


@scorer("normalized")
def normalized() -> ScoreFn:
    """The reply equals a reference after case, punctuation and whitespace normalization."""

    async def score(ctx: ScoreContext) -> Score:
        answer = normalize_text(ctx.output)
        refs = references(ctx.item.reference)
        ok = answer in {normalize_text(r) for r in refs}
        return _verdict(ok, answer, refs, "normalized")

    return score


@scorer("contains")
def contains(*, ignore_case: bool = True, all: bool = False) -> ScoreFn:
    """The reply contains any (or, with all=True, every) reference string."""

    async def score(ctx: ScoreContext) -> Score:
        fold = str.casefold if ignore_case else str
        text = fold(ctx.output)
        refs = references(ctx.item.reference)
        hits = [r for r in refs if fold(r) in text]
        ok = len(hits) == len(refs) if all else bool(hits)
        return Score(
            value=float(ok and bool(refs)),
            answer=", ".join(hits) or None,
            explanation=f"found {len(hits)} of {len(refs)} reference strings",
        )

    return score


@scorer("regex")
def regex(*, pattern: str | None = None, flags: str = "") -> ScoreFn:
    """The reply matches ``pattern`` (default: the item's reference), searched anywhere."""
    flag_bits = re.IGNORECASE * ("i" in flags) | re.DOTALL * ("s" in flags) | re.M * ("m" in flags)

    async def score(ctx: ScoreContext) -> Score:
        pat = pattern or str(ctx.item.reference)
        found = re.search(pat, ctx.output, flag_bits)
        return Score(
            value=float(found is not None),
            answer=found.group(0) if found else None,
            explanation=f"pattern {pat!r} {'found' if found else 'not found'}",
        )

    return score


def extract_number(text: str, prefix: str | None = None) -> tuple[str | None, str]:
    """The final numeric answer in ``text`` and how it was found.

    Looks after GSM8K's ``####`` first, then after the last ``prefix`` (a localized
    "Answer"), and otherwise takes the last number in the text.
    """
    text = unicodedata.normalize("NFKC", text)
    for marker, how in (("####", "after ####"), (prefix, f"after {prefix!r}")):
        if marker and marker in text:
            found = _NUMBER.findall(text.rsplit(marker, 1)[1])
            if found:
                return found[0].replace(",", ""), how
    found = _NUMBER.findall(text)
    return (found[-1].replace(",", ""), "last number") if found else (None, "no number")


def _same_number(a: str, b: str) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-6
    except ValueError:
        return False


@scorer("numeric")
def numeric(*, prefix: str | None = None) -> ScoreFn:
    """The final number in the reply equals the reference (GSM8K ####, MGSM localized prefix)."""

    async def score(ctx: ScoreContext) -> Score:
        answer, how = extract_number(ctx.output, prefix)
        refs = [extract_number(r)[0] or r for r in references(ctx.item.reference)]
        ok = answer is not None and any(_same_number(answer, r) for r in refs)
        return Score(
            value=float(ok),
            answer=answer,
            metadata={"extracted": how},
            explanation=f"number {how}: {answer} vs reference {', '.join(refs)}",
        )

    return score
