"""Reply-language check with a small, transparent detector for en, fr, de, es, zh and ja.

How it decides: kana (hiragana/katakana) means Japanese; Han characters without kana mean
Chinese; otherwise Latin-script text is scored by counts of very common function words per
language, plus language-specific letters (ß, ñ, ¿, ç...); a word or letter that several
languages share counts 1/k for each of the k languages, and a tie answers "unknown".
Limits: only these six languages; under 5 words it answers "unknown"; code, lists of names or
mixed-language replies can fool it;
it does not tell close variants apart (pt may look like es, nl like de) and never returns other
languages, so a Portuguese reply to a Spanish check may pass.
"""

from __future__ import annotations

import re

from modelyard.eval.schema import Score
from modelyard.eval.scorers._registry import ScoreContext, ScoreFn, scorer

SUPPORTED = ("en", "fr", "de", "es", "zh", "ja")
_STOPWORDS = {
    "en": "the and is are of to in that it was for with you this have not be on as at by but or "
    "what which there their will would can your from they we an",
    "fr": "le la les des est et un une que qui dans pour pas sur avec il elle nous vous du au ce "
    "sont mais de en vos votre très aussi cette ces son sa ses leur être été je tu ne plus",
    "de": "der die das und ist nicht ein eine zu den mit sich auf für von dem des ich sie es auch "
    "wir sind im ist war werden wird bei oder aber wie nach einen einem dass du",
    "es": "el la los las es y un una que de en por para con no se lo del al su como pero más "
    "está son muy sus este esta también hay yo usted ser fue",
}
_MARKS = {"de": "ßäöü", "es": "ñ¿¡áíóúé", "fr": "çàèùâêîôûœëé"}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def detect_language(text: str) -> tuple[str, str]:
    """The language code of ``text`` (one of SUPPORTED or "unknown") and why."""
    kana, han = len(_KANA.findall(text)), len(_HAN.findall(text))
    letters = max(1, len(re.findall(r"\w", text)))
    if kana >= 3 and kana / letters > 0.05:
        return "ja", f"{kana} kana characters"
    if han >= 3 and han / letters > 0.3:
        return "zh", f"{han} Han characters and no kana"
    words = [w.casefold() for w in _WORD.findall(text)]
    if len(words) < 5:
        return "unknown", f"only {len(words)} words"
    scores = {lang: round(_profile_score(words, text.casefold(), lang), 2) for lang in _STOPWORDS}
    ranked = sorted(scores, key=lambda k: -scores[k])
    best = ranked[0]
    if scores[best] < 1.5 or scores[best] == scores[ranked[1]]:
        return "unknown", f"no language profile stands out ({scores})"
    return best, f"function-word and letter scores {scores}"


def _sharing(table: dict[str, str], split: bool) -> dict[str, dict[str, float]]:
    """Per language, each marker's weight: 1 divided by how many languages share it."""
    sets = {lang: set(v.split()) if split else set(v) for lang, v in table.items()}
    return {
        lang: {m: 1 / sum(m in other for other in sets.values()) for m in markers}
        for lang, markers in sets.items()
    }


_WORD_WEIGHTS = _sharing(_STOPWORDS, split=True)
_MARK_WEIGHTS = _sharing(_MARKS, split=False)


def _profile_score(words: list[str], folded: str, lang: str) -> float:
    weights = _WORD_WEIGHTS[lang]
    marks = sum(folded.count(c) * w for c, w in _MARK_WEIGHTS.get(lang, {}).items())
    return sum(weights.get(w, 0.0) for w in words) + 0.5 * marks


@scorer("language")
def language(*, expected: str | None = None) -> ScoreFn:
    """The reply is written in the expected language (argument, else the item's language)."""

    async def score(ctx: ScoreContext) -> Score:
        want = expected or ctx.item.language
        if want not in SUPPORTED:
            return Score(
                value=None,
                explanation=f"language {want!r} is not supported by the "
                f"detector ({', '.join(SUPPORTED)})",
            )
        found, why = detect_language(ctx.output)
        return Score(
            value=float(found == want),
            answer=found,
            explanation=f"detected {found} ({why}); expected {want}",
        )

    return score
