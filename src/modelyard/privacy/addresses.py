"""Postal addresses: a street line in the order its language writes it, or what follows an
address label.

- A **street line** is a house number with a street word ("42 Willow Lane", "Lindenstraße 12",
  "8 rue des Lilas", "Via Roma 12", "ul. Długa 8", "Bağdat Caddesi No: 215", "建国路88号",
  "2丁目8番1号", "테헤란로 152"), a house number followed by a postcode and a town
  ("Am Eichenhain 7a, 82131 Gauting"), or a Japanese postcode after its mark (``〒150-0001``).
- After an **address label** followed by a colon ("Adresse:", "पता:", "العنوान:") or said to be
  the writer's ("my address is"), the rest of the line is an address when it holds a house or
  postcode number (not a year).
- A street line next to a public place or a company ("Tour Eiffel, 5 Avenue Anatole France",
  "Acme S.L., C/ Colón 22") is that place's address, not someone's home, unless an address label
  or a delivery says otherwise ("ship to", "I live at").
"""

from __future__ import annotations

import re
from collections.abc import Callable

from modelyard.privacy import _re, cues
from modelyard.privacy.findings import Finding

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
POSTCODE = (
    r"(?:[A-Z]{1,2}-)?(?:\d{5}|\d{4}\s?[A-Z]{2}|(?:1[0-8]|2[1-9]|[3-9]\d)\d{2}|\d{2}-\d{3}"
    r"|\d{3}\s\d{2}|\d{6})"
)
"""Postcodes: five digits (DE FR ES IT US…), NL ``1015 CJ``, four digits that are not a year
(AT CH BE DK NO), PL ``00-514``, SE CZ ``114 51``, six digits (IN RU CN)."""
STREET_TR = r"Caddesi|Cad\.|Sokak|Sokağı|Sk\.|Bulvarı|Blv\.|Mahallesi|Mah\."
ADDRESS = _re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?,?\s{{1,2}}(?:\p{{Lu}}[\pL'’\-]+\s{{1,2}}){{1,3}}(?:{STREET_EN})\b\.?"
    rf"|\b\p{{Lu}}[\pL\-]*(?:{STREET_SUFFIX})\s{{1,2}}\d{{1,4}}[a-zA-Z]?\b"
    rf"|\b\p{{Lu}}[\pL\-]+\s(?:Straße|Strasse|Str\.|Weg|Gasse|Platz|Allee)\s{{1,2}}\d{{1,4}}[a-zA-Z]?\b"
    rf"|\b\d{{1,4}}(?:\s?(?:bis|ter))?,?\s{{1,2}}(?i:{STREET_PREFIX})\s{{1,2}}[\pL'’\-]+(?:\s[\pL'’\-]+){{0,4}}"
    rf"|(?i:{STREET_PREFIX})\s{{1,2}}{NAME_WORDS}[\pL'’\-]+,?\s{{1,2}}(?:д\.\s?)?\d{{1,4}}[a-zA-Z]?\b"
    rf"|\b\p{{Lu}}[\pL]+\s(?:{STREET_TR})[\s,]{{1,2}}(?:No\s?:?\s?)?\d{{1,4}}"
    rf"|\b\p{{Lu}}[\pL'’.\-]+(?:\s[\pL'’.\-]+){{0,3}}\s\d{{1,4}}[a-zA-Z]?(?:[/-]\d{{1,4}})?,\s{{1,2}}{POSTCODE}\s\p{{Lu}}\pL+"
    r"|\p{Han}+(?:路|街|道|大道|巷|胡同|弄)\d{1,5}号"
    r"|\d{1,2}丁目\d{1,4}(?:番地?|-)\d{1,4}号?"
    r"|〒\s?\d{3}-?\d{4}"
    r"|\p{Hangul}+(?:로|길)\s?\d{1,5}(?:-\d{1,4})?"
)
LINE = 100
"""Characters after an address label read as the address."""
NUMBER = re.compile(r"(?<!\d)(\d{1,6})(?!\d)")
YEAR = re.compile(r"1[89]\d\d|20\d\d")
PUBLIC_CONTEXT = 80
"""Characters before a street line searched for a public place or a company."""


def find(text: str, labels: list[tuple[int, int]], tick: Callable[[], None]) -> list[Finding]:
    """Addresses in ``text``; ``labels``: where the address labels are (``cues.anywhere``)."""
    found = []
    for m in _re.hits(ADDRESS, text):
        tick()
        if not _public(text, *m.span()):
            found.append(Finding("address", *m.span()))
    for start, end in labels:
        tick()
        span = _after_label(text, start, end)
        if span is not None:
            found.append(Finding("address", *span))
    return found


def _public(text: str, start: int, end: int) -> bool:
    """A public place's or a company's address, with no label or delivery making it someone's."""
    lo = max(0, start - PUBLIC_CONTEXT)
    place = next(cues.find("venue", text, lo, start), None) or next(
        cues.find("business", text, lo, start), None
    )
    return place is not None and next(cues.find("live", text, lo, end), None) is None


def _after_label(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The rest of the line after an address label (with a colon, or the writer's), if it
    holds a house or postcode number."""
    if cues.near("not_postal", text, end, end, 24):
        return None  # "IP address", "e-mail address"
    colon = text[end : end + 3].lstrip().startswith((":", "："))
    if not colon and not cues.near("self", text, start, end, 12):
        return None  # "we address this problem", "ship to all outlets"
    stop = min(len(text), end + LINE)
    for mark in ("\n", "\x1f", ". ", "? ", "! ", "。"):
        cut = text.find(mark, end, stop)
        stop = cut if cut >= 0 else stop
    line = text[end:stop]
    numbers = [m.group(1) for m in NUMBER.finditer(line)]
    if not any(not YEAR.fullmatch(n) for n in numbers):
        return None
    start = end + len(line) - len(line.lstrip(" :：-"))
    return (start, stop) if start < stop else None
