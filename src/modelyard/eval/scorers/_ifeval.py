"""Instruction-following checks for a deterministic subset of (M-)IFEval instruction ids.

Ids are matched without their language prefix (``fr:keywords:existence`` → ``keywords:existence``).
Strict accuracy only (no "loose" variants). An item scores 1 when every supported instruction
is followed; unsupported instructions are listed in the metadata and do not count; an item
with no supported instruction is not scored (value None). ``SUPPORTED`` lists the checked ids.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from modelyard.eval.schema import Score
from modelyard.eval.scorers._json import parse_json
from modelyard.eval.scorers._language import SUPPORTED as DETECTABLE
from modelyard.eval.scorers._language import detect_language
from modelyard.eval.scorers._registry import ScoreContext, ScoreFn, scorer

Check = Callable[[str, dict[str, Any]], bool]
_AT_LEAST = {"at least", "au moins", "al menos", "以上"}
_LESS_THAN = {"less than", "moins de", "未満"}
_AT_MOST = {"como máximo"}


def _compare(count: int, relation: str | None, target: int) -> bool:
    if relation in _LESS_THAN:
        return count < target
    if relation in _AT_MOST:
        return count <= target
    if relation in _AT_LEAST:
        return count >= target
    raise ValueError(f"unknown relation {relation!r}")


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def _count_word(text: str, word: str) -> int:
    return len(re.findall(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE))


def _sections(text: str, splitter: str) -> int:
    return len(re.split(rf"\s?{re.escape(splitter)}\s?\d+\s?", text)) - 1


def _accented(text: str) -> bool:
    return any(unicodedata.decomposition(c).split()[1:2] and c.isalpha() for c in text)


CHECKS: dict[str, Check] = {
    "punctuation:no_comma": lambda t, k: "," not in t and "，" not in t,
    "punctuation:no_period": lambda t, k: "。" not in t,
    "length_constraints:number_words": lambda t, k: _compare(
        len(_words(t)), k["relation"], k["num_words"]
    ),
    "length_constraints:number_sentences": lambda t, k: _compare(
        len([s for s in re.split(r"[.!?。！？]+", t) if s.strip()]),
        k["relation"],
        k["num_sentences"],
    ),
    "length_constraints:number_paragraphs": lambda t, k: (
        len([p for p in re.split(r"\s?\*\*\*\s?", t) if p.strip()]) == k["num_paragraphs"]
    ),
    "length_constraints:number_letters": lambda t, k: _compare(
        len(re.sub(r"\s", "", t)), k["relation"], k["num_letters"]
    ),
    "keywords:existence": lambda t, k: all(_count_word(t, w) for w in k["keywords"]),
    "keywords:forbidden_words": lambda t, k: (
        not any(_count_word(t, w) for w in k["forbidden_words"])
    ),
    "keywords:frequency": lambda t, k: _compare(
        _count_word(t, k["keyword"]), k["relation"], k["frequency"]
    ),
    "keywords:letter_frequency": lambda t, k: _compare(
        t.casefold().count(k["letter"].casefold()), k["let_relation"], k["let_frequency"]
    ),
    "detectable_format:number_highlighted_sections": lambda t, k: (
        len(re.findall(r"\*[^\n\*]+\*", t)) >= k["num_highlights"]
    ),
    "detectable_format:title": lambda t, k: re.search(r"<<[^\n]+>>", t) is not None,
    "detectable_format:number_bullet_lists": lambda t, k: (
        len(re.findall(r"^\s*[\*\-]\s", t, re.M)) == k["num_bullets"]
    ),
    "detectable_format:number_numbered_lists": lambda t, k: (
        len(re.findall(r"^\s*\d+[.)．]\s?", t, re.M)) == k["num_items"]
    ),
    "detectable_format:json_format": lambda t, k: parse_json(t)[1] is None,
    "detectable_format:multiple_sections": lambda t, k: (
        _sections(t, k["section_spliter"]) >= k["num_sections"]
    ),
    "startend:quotation": lambda t, k: (
        len(t.strip()) > 1
        and (t.strip()[0], t.strip()[-1]) in {('"', '"'), ("«", "»"), ("「", "」"), ("“", "”")}
    ),
    "startend:end_checker": lambda t, k: (
        t.strip().casefold().endswith(k["end_phrase"].strip().casefold())
    ),
    "detectable_content:postscript": lambda t, k: (
        re.search(rf"\s*{re.escape(k['postscript_marker'])}", t, re.I) is not None
    ),
    "detectable_content:number_placeholders": lambda t, k: (
        len(re.findall(r"\[.*?\]", t)) >= k["num_placeholders"]
    ),
    "detectable_content:no_digits": lambda t, k: re.search(r"\d", t) is None,
    "change_case:capital_word_frequency": lambda t, k: _compare(
        sum(w.isupper() for w in _words(t)), k["capital_relation"], k["capital_frequency"]
    ),
    "combination:repeat_prompt": lambda t, k: (
        t.strip().casefold().startswith(k["prompt_to_repeat"].strip().casefold())
    ),
    "combination:two_responses": lambda t, k: (
        lambda parts: len(parts) == 2 and parts[0] != parts[1]
    )([p.strip() for p in t.split("******") if p.strip()]),
    "special_character:no_accents": lambda t, k: not _accented(t),
    "special_character:ethel_or_cedilla": lambda t, k: k["forbidden_char"] not in t.casefold(),
    "letters:no_hiragana": lambda t, k: re.search(r"[\u3040-\u309f]", t) is None,
    "letters:no_katakana": lambda t, k: re.search(r"[\u30a0-\u30ff]", t) is None,
    "language:response_language": lambda t, k: detect_language(t)[0] == k["language"],
}
for _lang in ("english", "french", "spanish"):
    CHECKS[f"change_case:{_lang}_lowercase"] = lambda t, k: t == t.lower()
    CHECKS[f"change_case:{_lang}_capital"] = lambda t, k: t == t.upper()
SUPPORTED = sorted(CHECKS)


def _supported(base: str, kwargs: dict[str, Any]) -> bool:
    if base == "language:response_language":
        return kwargs.get("language") in DETECTABLE
    return base in CHECKS


def check_instructions(text: str, ids: list[str], kwargs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-instruction verdicts: ``{"followed": {id: bool}, "unsupported": [id, ...]}``."""
    followed, unsupported = {}, []
    for inst, args in zip(ids, kwargs, strict=True):
        base = inst.split(":", 1)[1] if inst.count(":") >= 2 else inst
        args = {k: v for k, v in (args or {}).items() if v is not None}
        if not _supported(base, args):
            unsupported.append(inst)
            continue
        followed[inst] = bool(CHECKS[base](text, args))
    return {"followed": followed, "unsupported": unsupported}


@scorer("ifeval")
def ifeval() -> ScoreFn:
    """All supported instructions in the reference ({instruction_id_list, kwargs}) are followed."""

    async def score(ctx: ScoreContext) -> Score:
        ref = ctx.item.reference or {}
        verdicts = check_instructions(ctx.output, ref["instruction_id_list"], ref["kwargs"])
        followed = verdicts["followed"]
        if not followed:
            return Score(
                value=None, metadata=verdicts, explanation="no supported instruction to check"
            )
        missed = [k for k, ok in followed.items() if not ok]
        return Score(
            value=float(not missed),
            metadata=verdicts,
            explanation=f"missed {missed}"
            if missed
            else f"followed all {len(followed)} supported instructions",
        )

    return score
