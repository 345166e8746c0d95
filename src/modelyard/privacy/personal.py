"""Facts about a person: birth dates, postal addresses, health, and names.

- A **birth date** is a full date (day, month, year; numeric, written out in a European
  language, or CJK ``1990年5月12日``) next to a birth word, of someone who can be alive (born in
  the last ``LIFESPAN_YEARS`` years: data protection law covers the living).
- A **postal address** is a street line: a house number with a street word in the order its
  language writes it ("42 Willow Lane", "Lindenstraße 12", "8 rue des Lilas", "Via Roma 12",
  "ul. Długa 8", "建国路88号", "2丁目8番1号", "테헤란로 152").
- **Health** data is a medical word (condition, treatment, medicine) in a sentence that is about
  the writer or someone close ("I", "my son", "Patient …").
- A **name** is what follows a self-introduction ("my name is", "je m'appelle", "我叫") or a
  label ("Name:", "Dear", "Herr"), or the capitalised words right before an address or a birth
  date ("Marco Bianchi, Via Roma 12").
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

from modelyard.privacy import _re, cues
from modelyard.privacy.findings import Finding

LIFESPAN_YEARS = 110
YEAR = r"(?:1[89]\d\d|20\d\d)"
MONTH_WORD = r"\pL+\.?"
DATE = _re.compile(
    rf"\b\d{{1,2}}[./\-]\d{{1,2}}[./\-]{YEAR}\b|\b{YEAR}[./\-]\d{{1,2}}[./\-]\d{{1,2}}\b"
    rf"|\b\d{{1,2}}\.?\s{{1,2}}(?:de\s+)?{MONTH_WORD}\s{{1,2}}(?:de\s+)?{YEAR}\b"
    rf"|\b{MONTH_WORD}\s{{1,2}}\d{{1,2}}(?:st|nd|rd|th)?,?\s{{1,2}}{YEAR}\b"
    rf"|{YEAR}\s?[年년]\s?\d{{1,2}}\s?[月월]\s?\d{{1,2}}\s?[日일]?"
)
STREET_EN = (
    r"Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Place|Pl"
    r"|Way|Terrace|Close|Crescent|Parkway|Pkwy|Square|Sq|Highway|Hwy|Row|Gardens|Walk"
)
STREET_SUFFIX = (
    r"straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee|straat"
    r"|laan|plein|gracht|kade|singel|dijk|steeg|gatan|vägen|gränd|torget|gade|vej"
)
STREET_PREFIX = (
    r"rue|avenue|av\.|boulevard|bd|place|chemin|allée|impasse|quai|route|cours"
    r"|calle|c/|avenida|avda\.?|plaza|paseo|camino|carrera|carretera|via|viale"
    r"|piazza|corso|largo|vicolo|rua|praça|travessa|estrada|alameda|ul\.|ulica"
    r"|al\.|aleja|ул\.|улица|пр\.|проспект|пер\.|переулок|наб\.|бульвар"
)
PARTICLES = "da|das|do|dos|de|del|della|delle|di|du|des|la|le|van|von|der|den|ten|ter|y|e|al|el"
"""Lower-case words inside names and street names ("Pieter de Vries", "Rua das Flores")."""
NAME_WORDS = rf"(?:(?:\p{{Lu}}[\pL'’\-]+\.?|{PARTICLES})\s{{1,2}}){{0,4}}"
ADDRESS = _re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?,?\s{{1,2}}(?:\p{{Lu}}[\pL'’\-]+\s{{1,2}}){{1,3}}(?:{STREET_EN})\b\.?"
    rf"|\b\p{{Lu}}[\pL\-]*(?:{STREET_SUFFIX})\s{{1,2}}\d{{1,4}}[a-zA-Z]?\b"
    rf"|\b\p{{Lu}}[\pL\-]+\s(?:Straße|Strasse|Str\.|Weg|Gasse|Platz|Allee)\s{{1,2}}\d{{1,4}}[a-zA-Z]?\b"
    rf"|\b\d{{1,4}}(?:\s?(?:bis|ter))?,?\s{{1,2}}(?i:{STREET_PREFIX})\s{{1,2}}[\pL'’\-]+(?:\s[\pL'’\-]+){{0,4}}"
    rf"|(?i:{STREET_PREFIX})\s{{1,2}}{NAME_WORDS}[\pL'’\-]+,?\s{{1,2}}(?:д\.\s?)?\d{{1,4}}[a-zA-Z]?\b"
    r"|\p{Han}+(?:路|街|道|大道|巷|胡同|弄)\d{1,5}号"
    r"|\d{1,2}丁目\d{1,4}(?:番地?|-)\d{1,4}号?"
    r"|\p{Hangul}+(?:로|길)\s?\d{1,5}(?:-\d{1,4})?"
)
UPPER = "A-ZÀ-ÖØ-ÞĀ-ŽА-ЯЁ"
CAPITALISED = re.compile(
    rf"(?:[{UPPER}][\w'’\-]+\.?\s{{1,2}}(?:(?:{PARTICLES})\s{{1,2}})?){{1,3}}[{UPPER}][\w'’\-]+"
)
CJK_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}|[\uac00-\ud7af]{2,4}")
SENTENCE = 160
"""Characters around a health word searched for who it is about."""


def find(
    text: str, everywhere: dict[str, list[tuple[int, int]]], tick: Callable[[], None]
) -> list[Finding]:
    """Birth dates, addresses, health facts and names in ``text``.

    Args:
        everywhere: ``cues.anywhere(text)``, the health, password, intro and label words.
        tick: Called as the work goes on; it raises when the scan's time is up.
    """
    births = birth_dates(text, tick)
    addresses = [Finding("address", *m.span()) for m in _re.hits(ADDRESS, text)]
    tick()
    found = births + addresses + health(text, everywhere["health"], tick)
    found += names(text, everywhere, [(f.start, f.end) for f in births + addresses], tick)
    return found


def birth_dates(text: str, tick: Callable[[], None]) -> list[Finding]:
    this_year = datetime.date.today().year
    found = []
    for m in _re.hits(DATE, text):
        tick()
        start, end = m.span()
        years = [int(y) for y in re.findall(r"1[89]\d\d|20\d\d", m.group())]
        if not years or not this_year - LIFESPAN_YEARS <= years[-1] <= this_year:
            continue
        if cues.near("birth", text, start, end, before=48, after=16):
            found.append(Finding("birthdate", start, end))
    return found


def health(text: str, words: list[tuple[int, int]], tick: Callable[[], None]) -> list[Finding]:
    """Health words in sentences about the writer or someone close to them."""
    found = []
    for start, end in words:
        tick()
        lo, hi = _sentence(text, start, end)
        if next(cues.find("self", text, lo, hi), None) or next(
            cues.find("relation", text, lo, hi), None
        ):
            found.append(Finding("health", start, end))
    return found


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    lo = max(0, start - SENTENCE)
    hi = min(len(text), end + SENTENCE)
    for stop in ".!?\n。！？":
        cut = text.rfind(stop + " " if stop in ".!?" else stop, lo, start)
        lo = max(lo, cut + 1) if cut >= 0 else lo
        cut = text.find(stop + " " if stop in ".!?" else stop, end, hi)
        hi = min(hi, cut) if cut >= 0 else hi
    return lo, hi


def names(
    text: str,
    everywhere: dict[str, list[tuple[int, int]]],
    anchors: list[tuple[int, int]],
    tick: Callable[[], None],
) -> list[Finding]:
    """Names after introductions and labels, and before an address or a birth date."""
    found = []
    for _, end in everywhere["intro"] + everywhere["name_label"]:
        tick()
        span = _name_after(text, end)
        if span is not None:
            found.append(Finding("person", *span))
    for start, _ in anchors:
        span = _name_before(text, start)
        if span is not None:
            found.append(Finding("person", *span))
    return found


def _name_after(text: str, end: int) -> tuple[int, int] | None:
    at = end
    while at < len(text) and text[at] in " :：,\t":
        at += 1
    m = CAPITALISED.match(text, at, min(len(text), at + 80))
    if m is not None:
        return m.span()
    m = CJK_NAME.match(text, at, min(len(text), at + 4))
    if m is not None:
        return m.start(), _cjk_name_end(text, m.start(), m.end())
    return None


def _cjk_name_end(text: str, start: int, end: int) -> int:
    """A CJK name is 2-4 characters; cut it before a particle or the next word's start."""
    for stop in (
        "です",
        "이고",
        "입니다",
        "이에요",
        "예요",
        "是",
        "，",
        "、",
        "。",
        "は",
        "이",
        "가",
    ):
        cut = text.find(stop, start + 2, end + len(stop))
        if cut >= 0:
            return cut
    return end


def _name_before(text: str, start: int) -> tuple[int, int] | None:
    """Capitalised words (or 2-4 CJK characters) ending right before ``start``, separated from
    it by a comma, a colon or "was born"."""
    head = text[max(0, start - 64) : start]
    m = re.search(
        r"([A-ZÀ-ÖØ-ÞĀ-ŽА-ЯЁ][\w'’\-]+(?:\s{1,2}[A-ZÀ-ÖØ-ÞĀ-ŽА-ЯЁ][\w'’\-]+){1,3})"
        r"(?:\s*[,:(]\s*|\s+(?:was born|wurde|est née?|nació|è nat[oa])\s+\w*\s*)$",
        head,
    )
    if m is None:
        m = re.search(r"([\u4e00-\u9fff]{2,4}|[\uac00-\ud7af]{2,4})[，、,:：]\s*$", head)
    if m is None:
        return None
    offset = start - len(head)
    return offset + m.start(1), offset + m.end(1)
