"""National identifiers, tax and bank numbers, payment cards: python-stdnum's validators over
runs of digits and capitals written with any separators.

A *run* is a stretch of alphanumeric groups joined by at most three separator characters
(space, ``.``, ``-``, ``/``, parentheses, a newline between two strings of a body). Within a
run, windows of consecutive groups are checked against every identifier of their length,
longest first. Identifiers whose check digits catch most random numbers (IBAN, cards, Chinese,
Italian, French, Romanian... ids) count on their own; those a random number passes too often
(a US SSN has no check digit; a Dutch BSN passes 1 in 11) count when written in their printed
grouping or named nearby ("SSN", "BSN", "Aadhaar"...). A number right after an order, parcel
or invoice word, or inside arithmetic, is none of these.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from modelyard.privacy import _re, cues
from modelyard.privacy.findings import Finding

RUN = _re.compile(
    r"[+(]{0,2}(?:[A-Z]{1,4}[ .\-]{1,2})?[0-9A-Za-z]*[0-9][0-9A-Za-z]*"
    r"(?:[ .\-/()\n]{1,3}(?:[0-9A-Za-z]*[0-9][0-9A-Za-z]*|[A-Z]{1,4}\b))*"
)
GROUP = re.compile(r"[0-9A-Za-z]+")
MIN_DIGITS = 6
"""Runs with fewer digits are skipped, unless 8 characters long (an Indian PAN has 4)."""
MAX_GROUPS = 10
LONG_RUN = 64
"""A run of more groups is cut into pieces of this many (overlapping by ``MAX_GROUPS``)."""
MAX_LENGTH = 34
CONTEXT = 40
"""Characters before a number searched for a word that names it (or an order, a parcel...)."""
OPERATOR = (r"(?:[*×÷+=^/]|\bx\b|\b(?:times|plus|minus|divided|multipl\w*|mal|geteilt|fois|"
            r"divisé|por|dividido|per|diviso|vezes|maal|razy|минус|плюс|умнож\w*|раздел\w*)\b|"
            r"乘以|除以|加|减|곱하기|나누기)")  # fmt: skip
OPERAND_BEFORE = re.compile(rf"[\d)]\s*{OPERATOR}\s*(?:\w+\s+)?$")
OPERAND_AFTER = re.compile(rf"\s*{OPERATOR}\s*(?:\w+\s+)?[\d(]")


@dataclass(frozen=True)
class Run:
    """A run of alphanumeric groups in the text: the groups and their positions."""

    start: int
    end: int
    groups: tuple[tuple[str, int, int], ...]

    def digits(self) -> int:
        return sum(c.isdigit() for g, _, _ in self.groups for c in g)


def runs(text: str) -> Iterator[Run]:
    """Every run holding at least ``MIN_DIGITS`` digits."""
    for m in _re.hits(RUN, text):
        start, end = m.span()
        groups = [(g.group(), g.start(), g.end()) for g in GROUP.finditer(text, start, end)]
        for i in range(0, len(groups), LONG_RUN):
            part = tuple(groups[max(0, i - MAX_GROUPS) : i + LONG_RUN])
            run = Run(part[0][1], part[-1][2], part)
            digits = run.digits()
            if digits >= MIN_DIGITS or (digits >= 4 and run.end - run.start >= 8):
                yield run


@dataclass(frozen=True)
class IdType:
    """One identifier: how to check it and how sure a valid check makes us."""

    kind: str
    check: Callable[[str], bool]
    lengths: tuple[int, ...]
    strong: bool
    """A valid check alone makes it one (else it also needs its grouping or a naming word)."""
    printed: str | None = None
    """The grouping it is printed in (a regular expression over the written text)."""
    raw: bool = False
    """Checked on the text as written (its separators carry meaning), not the bare groups."""
    shape: str = r"\d+"
    """What its bare groups look like (a cheap test before the check digits)."""

    @property
    def shaped(self) -> re.Pattern[str]:
        return _shape(self.shape)


@cache
def _shape(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _stdnum(name: str) -> Callable[[str], bool]:
    module = importlib.import_module("stdnum." + name)
    return module.is_valid  # type: ignore[no-any-return]


def _card(number: str) -> bool:
    """A payment card: 13-19 digits, a card network's prefix, the Luhn check."""
    if not number.isdigit() or number[0] not in "23456":
        return False
    two = int(number[:2])
    network = (
        number[0] == "4"
        or 51 <= two <= 55
        or 2221 <= int(number[:4]) <= 2720
        or two in (34, 37, 36, 38, 62, 65, 30)
        or number.startswith("6011")
        or 644 <= int(number[:3]) <= 649
        or 3528 <= int(number[:4]) <= 3589
        or two in (50, 56, 57, 58, 63, 67)
    )
    return network and _stdnum("luhn")(number)


NINO = re.compile(r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]")


def _nino(text: str) -> bool:
    """A UK National Insurance number: two prefix letters (the ones HMRC allocates), six
    digits, a suffix A-D (python-stdnum has no module for it)."""
    return NINO.fullmatch(text.upper()) is not None


def _iban(text: str) -> bool:
    return text[:2].isalpha() and text[2:4].isdigit() and _stdnum("iban")(text)


def _vat(text: str) -> bool:
    return text[:2].isalpha() and _stdnum("eu.vat")(text)


SEP = r"[ .\-/]"


@cache
def id_types() -> tuple[IdType, ...]:
    """Every identifier checked, most specific first (the first valid one names a window)."""
    d3_2_4 = rf"\d{{3}}{SEP}\d{{2}}{SEP}\d{{4}}"
    types = [
        IdType("iban", _iban, tuple(range(15, 35)), True, shape=r"[A-Z]{2}\d{2}[A-Z0-9]+"),
        IdType("card", _card, tuple(range(13, 20)), True),
        IdType("cn_ric", _stdnum("cn.ric"), (18,), True, shape=r"\d{17}[\dX]"),
        IdType("mx_curp", _stdnum("mx.curp"), (18,), True, shape=r"[A-Z]{4}\d{6}[A-Z0-9]{8}"),
        IdType(
            "it_codicefiscale",
            _stdnum("it.codicefiscale"),
            (16,),
            True,
            shape=r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9A-Z]{3}[A-Z]",
        ),
        IdType("fr_nir", _stdnum("fr.nir"), (15,), True),
        IdType("ro_cnp", _stdnum("ro.cnp"), (13,), True),
        IdType("ch_ssn", _stdnum("ch.ssn"), (13,), True),
        IdType("si_emso", _stdnum("si.emso"), (13,), True),
        IdType("za_idnr", _stdnum("za.idnr"), (13,), True),
        IdType("kr_rrn", _stdnum("kr.rrn"), (13,), False, rf"\d{{6}}{SEP}\d{{7}}"),
        IdType("in_aadhaar", _stdnum("in_.aadhaar"), (12,), False, r"\d{4} \d{4} \d{4}"),
        IdType("jp_mynumber", _stdnum("jp.in_"), (12,), False, r"\d{4} \d{4} \d{4}"),
        IdType(
            "se_personnummer", _stdnum("se.personnummer"), (12,), False, r"\d{8}[-+]\d{4}", raw=True
        ),  # fmt: skip
        IdType("fi_hetu", _stdnum("fi.hetu"), (10,), True, raw=True, shape=r"\d{9}[0-9A-Z]"),
        IdType("no_fodselsnummer", _stdnum("no.fodselsnummer"), (11,), True),
        IdType("be_nn", _stdnum("be.nn"), (11,), True),
        IdType("tr_tckimlik", _stdnum("tr.tckimlik"), (11,), True),
        IdType("ee_ik", _stdnum("ee.ik"), (11,), True),
        IdType("lt_asmens", _stdnum("lt.asmens"), (11,), True),
        IdType("br_cpf", _stdnum("br.cpf"), (11,), False, r"\d{3}\.\d{3}\.\d{3}-\d{2}"),
        IdType("pl_pesel", _stdnum("pl.pesel"), (11,), False),
        IdType("de_idnr", _stdnum("de.idnr"), (11,), False, r"\d{2} \d{3} \d{3} \d{3}"),
        IdType("hr_oib", _stdnum("hr.oib"), (11,), False),
        IdType("gr_amka", _stdnum("gr.amka"), (11,), False),
        IdType("ar_cuit", _stdnum("ar.cuit"), (11,), False, r"\d{2}-\d{8}-\d"),
        IdType(
            "se_personnummer", _stdnum("se.personnummer"), (10,), False, r"\d{6}[-+]\d{4}", raw=True
        ),  # fmt: skip
        IdType("dk_cpr", _stdnum("dk.cpr"), (10,), False, r"\d{6}-\d{4}"),
        IdType("gb_nhs", _stdnum("gb.nhs"), (10,), False, r"\d{3}[ -]\d{3}[ -]\d{4}"),
        IdType("in_pan", _stdnum("in_.pan"), (10,), True, shape=r"[A-Z]{5}\d{4}[A-Z]"),
        IdType("at_vnr", _stdnum("at.vnr"), (10,), False, r"\d{4} \d{6}"),
        IdType("bg_egn", _stdnum("bg.egn"), (10,), False),
        IdType("cz_rc", _stdnum("cz.rc"), (9, 10), False, r"\d{6}/\d{3,4}"),
        IdType("is_kennitala", _stdnum("is_.kennitala"), (10,), False, r"\d{6}-\d{4}"),
        IdType("es_dni", _stdnum("es.dni"), (9,), True, shape=r"\d{8}[A-Z]"),
        IdType("es_nie", _stdnum("es.nie"), (9,), True, shape=r"[XYZ]\d{7}[A-Z]"),
        IdType("gb_nino", _nino, (9,), True, shape=r"[A-Z]{2}\d{6}[A-D]"),
        IdType("ie_pps", _stdnum("ie.pps"), (8, 9), True, shape=r"\d{7}[A-W][ABWTXZ]?"),
        IdType("us_ssn", _stdnum("us.ssn"), (9,), False, d3_2_4),
        IdType("us_itin", _stdnum("us.itin"), (9,), False, d3_2_4),
        IdType("nl_bsn", _stdnum("nl.bsn"), (9,), False, r"\d{4}\.\d{2}\.\d{3}"),
        IdType("pt_nif", _stdnum("pt.nif"), (9,), False, r"\d{3} \d{3} \d{3}"),
        IdType("ca_sin", _stdnum("ca.sin"), (9,), False, r"\d{3}[ -]\d{3}[ -]\d{3}"),
        IdType("il_idnr", _stdnum("il.idnr"), (9,), False),
        IdType("us_rtn", _stdnum("us.rtn"), (9,), False),
        IdType("vat_id", _vat, tuple(range(8, 16)), False, shape=r"[A-Z]{2}[0-9A-Z]{6,13}"),
    ]
    return tuple(types)


@cache
def by_length() -> dict[int, tuple[IdType, ...]]:
    table: dict[int, list[IdType]] = {}
    for t in id_types():
        for n in t.lengths:
            table.setdefault(n, []).append(t)
    return {n: tuple(ts) for n, ts in table.items()}


def find(text: str, all_runs: list[Run], tick: Callable[[], None]) -> list[Finding]:
    """Identifiers in ``text``, from its ``runs``; ``tick`` is called for every run (it raises
    when the scan's time is up)."""
    found = []
    for run in all_runs:
        tick()
        found.extend(_in_run(text, run))
    return found


def _in_run(text: str, run: Run) -> Iterator[Finding]:
    groups = run.groups
    i = 0
    while i < len(groups):
        hit = _longest_at(text, groups, i)
        if hit is None:
            i += 1
            continue
        kind, j = hit
        yield Finding(kind, groups[i][1], groups[j - 1][2])
        i = j


def _longest_at(
    text: str, groups: tuple[tuple[str, int, int], ...], i: int
) -> tuple[str, int] | None:
    table = by_length()
    compact = ""
    windows = []
    for j in range(i, min(len(groups), i + MAX_GROUPS)):
        compact += groups[j][0]
        if len(compact) > MAX_LENGTH:
            break
        windows.append((compact, j + 1))
    for compact, j in reversed(windows):
        start, end = groups[i][1], groups[j - 1][2]
        for t in table.get(len(compact), ()):
            upper = compact.upper()
            if (
                t.shaped.fullmatch(upper)
                and _is(t, upper, text[start:end])
                and _counts(t, text, start, end)
            ):
                return t.kind, j
    return None


def _is(t: IdType, compact: str, written: str) -> bool:
    try:
        return t.check(written if t.raw else compact)
    except Exception:  # a validator that trips on odd input has not recognised it
        return False


def _counts(t: IdType, text: str, start: int, end: int) -> bool:
    """Whether a valid ``t`` at text[start:end] is someone's identifier here."""
    if arithmetic(text, start, end):
        return False
    named = cues.near("identifier", text, start, end, CONTEXT)
    if not named and cues.near("reference", text, start, end, CONTEXT // 2):
        return False
    if t.strong or named:
        return True
    return t.printed is not None and re.fullmatch(t.printed, text[start:end]) is not None


def arithmetic(text: str, start: int, end: int) -> bool:
    """Whether the number at text[start:end] is an operand: another number and an operator
    (or an arithmetic word) right before or after it."""
    return bool(
        OPERAND_BEFORE.search(text[max(0, start - 16) : start])
        or OPERAND_AFTER.match(text, end, min(len(text), end + 20))
    )
