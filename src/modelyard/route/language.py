"""The language of a prompt, and per-language rules on which candidates may or should answer it.

The detector is a few dictionary lookups, cheap enough for every request: Hangul means Korean,
kana Japanese, Han characters without kana Chinese, Cyrillic Russian, Arabic script Arabic
(when that script holds over 30% of the letters). Latin-script text is scored by its very common
function words per language, plus language-specific letters (ß, ñ, ç, ã...); a word or letter
that several languages share counts 1/k for each of the k languages. The best score must reach
1 and beat the runner-up by a quarter, else the language is unknown. Limits: only the first
``MAX_CHARS`` characters are read; Cyrillic is always "ru" and Arabic script always "ar"
(Ukrainian, Persian and Urdu are not told apart); one or two words are often unknown; a prompt
mixing languages gets the one with the most function words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MAX_CHARS = 600
"""Only the start of the text is read: enough to tell, and the cost stays flat."""
SCRIPT_SHARE = 0.3
"""Share of the letters a non-Latin script needs to decide the language."""
MIN_SCORE = 1.0
MARGIN = 1.25
"""The best Latin-script score must be at least this many times the runner-up's."""

_STOPWORDS = {  # "a" is in none: it is as common in English as in French, Spanish or Portuguese
    "en": "the and is are of to in that it was for with you this have has not be on as at by but "
    "or what which there their will would can your from they we an how why does do about write "
    "make sure any only using use should must please give my me than if all don more",
    "fr": "le la les des est et un une que qui dans pour pas sur avec il elle nous vous du au ce "
    "sont mais en très aussi cette ces son sa ses leur être été je tu ne plus comment pourquoi "
    "quel quelle bonjour merci combien chaque à d l qu y votre",
    "de": "der die das und ist nicht ein eine zu den mit sich auf für von dem des ich sie es auch "
    "wir sind im war werden wird bei oder aber wie nach einen einem dass du was warum hallo danke "
    "viel viele jeden hat er wenn dann mehr als",
    "es": "el la los las es y un una que de en por para con no se lo del al su como pero más está "
    "son muy sus este esta también hay yo usted ser fue qué cómo hola gracias cuántos cada tu",
    "it": "il lo la i gli le di che è e un una per non con sono come ma più anche questo questa "
    "della del nel alla al si ho ha cosa perché ciao grazie quanti ogni l",
    "pt": "o os as de que é e um uma para não com em do da dos das no na por mais como mas "
    "também isso este esta são você ele ela olá obrigado quantos cada",
    "nl": "de het een en van is dat niet op te zijn met voor die er aan ook als maar om bij dit "
    "wat hoe waarom hallo dank ik je we wordt naar",
}
_MARKS = {"de": "ßäöü", "es": "ñ¿¡áíóú", "fr": "çœèêâîûù", "it": "àèìòù", "pt": "ãõçâêáíóú"}
_SCRIPTS = (  # checked in this order: kana before Han, since Japanese mixes both
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")),
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("zh", re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff\u0750-\u077f]")),
)
_OTHER_SCRIPT = re.compile("|".join(p.pattern for _, p in _SCRIPTS))
_WORD = re.compile(r"[^\W\d_]+")
LATIN = tuple(_STOPWORDS)
SUPPORTED = (*LATIN, *(code for code, _ in _SCRIPTS))
"""Every language the detector can answer."""
GROUPS = {"european": ("de", "es", "fr", "it", "nl", "pt"), "cjk": ("zh", "ja", "ko")}
"""Language groups a rule may name (English is in none: every candidate is expected to handle
it; write `en` for a rule of its own)."""


def _weights() -> dict[str, tuple[tuple[int, float], ...]]:
    """Per function word: (language index, 1 / number of languages sharing it)."""
    sets = [set(words.split()) for words in _STOPWORDS.values()]
    vocabulary = set().union(*sets)
    return {
        w: tuple((i, 1 / sum(w in s for s in sets)) for i, s in enumerate(sets) if w in s)
        for w in vocabulary
    }


def _mark_weights() -> dict[str, tuple[tuple[int, float], ...]]:
    """Per language-specific letter: (language index, 0.5 / number of languages sharing it)."""
    letters = {c for marks in _MARKS.values() for c in marks}
    return {
        c: tuple(
            (LATIN.index(lang), 0.5 / sum(c in m for m in _MARKS.values()))
            for lang, marks in _MARKS.items()
            if c in marks
        )
        for c in letters
    }


_WORD_WEIGHTS = _weights()
_MARK_WEIGHTS = _mark_weights()
_MARK = re.compile(f"[{''.join(_MARK_WEIGHTS)}]")


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the language ``text`` is written in, or None when unsure.

    Args:
        text: Any text; only its first ``MAX_CHARS`` characters are read.

    Returns:
        One of ``SUPPORTED``, or None.
    """
    text = text[:MAX_CHARS]
    words = _WORD.findall(text.casefold())
    if not words:
        return None
    if not text.isascii() and _OTHER_SCRIPT.search(text):
        letters = sum(map(len, words))
        for code, pattern in _SCRIPTS:
            if len(pattern.findall(text)) > SCRIPT_SHARE * letters:
                return code
    return _latin(words, text)


def _latin(words: list[str], text: str) -> str | None:
    """The Latin-script language whose function words and letters score clearly best."""
    scores = [0.0] * len(LATIN)
    for word in words:
        for i, weight in _WORD_WEIGHTS.get(word, ()):
            scores[i] += weight
    if not text.isascii():
        for mark in _MARK.findall(text.casefold()):
            for i, weight in _MARK_WEIGHTS[mark]:
                scores[i] += weight
    ranked = sorted(range(len(LATIN)), key=scores.__getitem__, reverse=True)
    best, second = scores[ranked[0]], scores[ranked[1]]
    if best < MIN_SCORE or best < MARGIN * second:
        return None
    return LATIN[ranked[0]]


@dataclass(frozen=True)
class LanguageRule:
    """Which candidates may answer a language (``allow``) and which should (``prefer``)."""

    allow: tuple[str, ...] | None = None
    """Only these candidates may answer; None: any."""
    prefer: tuple[str, ...] = ()
    """Among the candidates left and good enough, these win over cheaper others."""


@dataclass(frozen=True)
class Applied:
    """The rule that applies to one request: its language, the key it matched, the rule."""

    language: str
    key: str
    """The rule's key: the language itself or its group."""
    rule: LanguageRule

    @property
    def label(self) -> str:
        """``language fr``, or ``language fr (european)`` when a group's rule applies."""
        group = f" ({self.key})" if self.key != self.language else ""
        return f"language {self.language}{group}"

    def excludes(self, name: str) -> str | None:
        """Why candidate ``name`` may not answer, or None when the rule lets it."""
        if self.rule.allow is None or name in self.rule.allow:
            return None
        return f"{self.label}: not in its allow list"

    def preferred(self, names: Iterable[str]) -> str | None:
        """The first of ``names`` (good enough, in the order to try) the rule prefers, or None."""
        return next((n for n in names if n in self.rule.prefer), None)


class LanguageRules:
    """Rules per language code or group; a language's own rule wins over its group's."""

    def __init__(self, rules: Mapping[str, LanguageRule]) -> None:
        """Keep ``rules``.

        Raises:
            ValueError: a key is neither a supported language nor a group.
        """
        unknown = [k for k in rules if k not in SUPPORTED and k not in GROUPS]
        if unknown:
            raise ValueError(f"unknown language {unknown[0]!r}; {known_keys()}")
        self.rules = dict(rules)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def rule_for(self, language: str | None) -> Applied | None:
        """The rule for ``language`` (its own, else its group's), or None."""
        if language is None:
            return None
        keys = [language, *(g for g, codes in GROUPS.items() if language in codes)]
        key = next((k for k in keys if k in self.rules), None)
        return Applied(language, key, self.rules[key]) if key else None

    def apply(self, text: str) -> tuple[str | None, Applied | None]:
        """The language of ``text`` and the rule for it (None, None when no rule is set)."""
        if not self.rules:
            return None, None
        language = detect_language(text)
        return language, self.rule_for(language)


def known_keys() -> str:
    """What a rule's key may be, for error messages."""
    groups = ", ".join(f"{g} ({' '.join(c)})" for g, c in GROUPS.items())
    return f"write a language code ({', '.join(SUPPORTED)}) or a group: {groups}"
