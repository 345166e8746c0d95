"""National identifiers, tax and bank numbers, payment cards: python-stdnum's validators over
runs of digits and capitals written with any separators.

A *run* is a stretch of alphanumeric groups joined by at most three separator characters
(space, ``.``, ``-``, ``/``, parentheses, the mark between two strings of a body). Within a
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
    r"[+(]{0,2}(?:[A-Z]{1,6}[ .\-]{1,2})?[0-9A-Za-z]*[0-9][0-9A-Za-z]*"
    r"(?:[ .\-/()\x1f]{1,3}(?:[0-9A-Za-z]*[0-9][0-9A-Za-z]*|[A-Z]{1,4}\b))*"
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
OPERATOR = (
    r"(?:[*×÷+=^/]|\bx\b|\b(?:times|plus|minus|divided|multipl\w*|mal|geteilt|fois|"
    r"divisé|por|dividido|per|diviso|vezes|maal|razy|минус|плюс|умнож\w*|раздел\w*)\b|"
    r"乘以|除以|加|减|곱하기|나누기)"
)
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
    """Every run holding at least ``MIN_DIGITS`` digits; a run of more than ``LONG_RUN`` groups
    comes in overlapping pieces, read as they are needed."""
    for m in _re.hits(RUN, text):
        start, end = m.span()
        piece: list[tuple[str, int, int]] = []
        for g in GROUP.finditer(text, start, end):
            piece.append((g.group(), g.start(), g.end()))
            if len(piece) == LONG_RUN + MAX_GROUPS:
                yield from _kept(piece)
                _re.tick()
                piece = piece[-MAX_GROUPS:]
        if piece:
            yield from _kept(piece)


def _kept(groups: list[tuple[str, int, int]]) -> Iterator[Run]:
    run = Run(groups[0][1], groups[-1][2], tuple(groups))
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
    names: tuple[str, ...] = ()
    """Words that name it (which of several valid identifiers a number is)."""

    @property
    def shaped(self) -> re.Pattern[str]:
        return _shape(self.shape)


@cache
def _shape(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _stdnum(name: str) -> Callable[[str], bool]:
    module = importlib.import_module("stdnum." + name)
    return module.is_valid


CARD_NETWORKS: tuple[tuple[str, tuple[int, ...]], ...] = (
    (r"4", (13, 16, 19)),  # Visa
    (r"5[1-5]|222[1-9]|22[3-9]\d|2[3-6]\d\d|27[01]\d|2720", (16,)),  # Mastercard
    (r"3[47]", (15,)),  # American Express
    (r"6011|64[4-9]|65", (16, 17, 18, 19)),  # Discover
    (r"35(?:2[89]|[3-8]\d)", (16, 17, 18, 19)),  # JCB
    (r"62", (16, 17, 18, 19)),  # UnionPay
    (r"3(?:0[0-5]|[689])", (14, 15, 16, 17, 18, 19)),  # Diners Club
    (r"5[0678]|6[37]", (12, 13, 14, 15, 16, 17, 18, 19)),  # Maestro
)
"""(issuer prefix, lengths) of the card networks (ISO/IEC 7812 issuer ranges)."""


CARD_WORDS = ("card", "credit card", "debit card", "karte", "kreditkarte", "carte", "tarjeta",
              "carta", "cartão", "kaart", "karta", "kort", "карта", "卡号", "信用卡", "カード",
              "카드", "visa", "mastercard", "amex")  # fmt: skip
"""Words that name a card: a Luhn-valid number next to one is a card whatever its prefix."""


def _card(number: str) -> bool:
    """A payment card: a card network's prefix and length, and the Luhn check."""
    if not number.isdigit():
        return False
    network = any(
        re.match(prefix, number) and len(number) in lengths for prefix, lengths in CARD_NETWORKS
    )
    return network and _stdnum("luhn")(number)


NINO = re.compile(r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]")


def _nino(text: str) -> bool:
    """A UK National Insurance number: two prefix letters (the ones HMRC allocates), six
    digits, a suffix A-D (python-stdnum has no module for it)."""
    return NINO.fullmatch(text.upper()) is not None


SSN_DASHED = re.compile(r"(?!000)\d{3}-(?!00)\d{2}-(?!0000)\d{4}")


def _ssn_dashed(written: str) -> bool:
    """A number written as an SSN is written (``957-06-4740``) counts as one even in the areas
    the SSA never issues (666, 900-999), which test data and typos use: it is someone's
    number on the page, and redacting it costs nothing."""
    return SSN_DASHED.fullmatch(written) is not None


def _iban(text: str) -> bool:
    return text[:2].isalpha() and text[2:4].isdigit() and _stdnum("iban")(text)


def _vat(text: str) -> bool:
    return text[:2].isalpha() and _stdnum("eu.vat")(text)


SEP = r"[ .\-/]"


@cache
def id_types() -> tuple[IdType, ...]:
    """Every identifier checked, most specific first (the first valid one names a window,
    unless a later one is named next to it)."""
    d3_2_4 = rf"\d{{3}}{SEP}\d{{2}}{SEP}\d{{4}}"
    t = IdType
    types = [
        t("iban", _iban, tuple(range(15, 35)), True, shape=r"[A-Z]{2}\d{2}[A-Z0-9]+"),
        t("card", _card, tuple(range(12, 20)), True),
        t("card", _stdnum("luhn"), tuple(range(13, 20)), False, names=CARD_WORDS),
        t("cn_ric", _stdnum("cn.ric"), (18,), True, shape=r"\d{17}[\dX]"),
        t("mx_curp", _stdnum("mx.curp"), (18,), True, shape=r"[A-Z]{4}\d{6}[A-Z0-9]{8}"),
        t(
            "it_codicefiscale",
            _stdnum("it.codicefiscale"),
            (16,),
            True,
            shape=r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9A-Z]{3}[A-Z]",
        ),
        t("fr_nir", _stdnum("fr.nir"), (15,), True),
        t("ro_cnp", _stdnum("ro.cnp"), (13,), True),
        t("ch_ssn", _stdnum("ch.ssn"), (13,), True),
        t("si_emso", _stdnum("si.emso"), (13,), True),
        t("za_idnr", _stdnum("za.idnr"), (13,), True),
        t(
            "kr_rrn",
            _stdnum("kr.rrn"),
            (13,),
            False,
            rf"\d{{6}}{SEP}\d{{7}}",
            names=("주민등록번호", "주민번호", "rrn", "resident registration"),
        ),
        t(
            "in_aadhaar",
            _stdnum("in_.aadhaar"),
            (12,),
            False,
            r"\d{4} \d{4} \d{4}",
            names=("aadhaar", "aadhar", "uidai"),
        ),
        t(
            "jp_mynumber",
            _stdnum("jp.in_"),
            (12,),
            False,
            names=("マイナンバー", "個人番号", "my number"),
        ),
        t(
            "se_personnummer",
            _stdnum("se.personnummer"),
            (10, 12),
            False,
            r"\d{6,8}[-+]\d{4}",
            raw=True,
            names=("personnummer",),
        ),
        t("fi_hetu", _stdnum("fi.hetu"), (10,), True, raw=True, shape=r"\d{9}[0-9A-Z]"),
        t("no_fodselsnummer", _stdnum("no.fodselsnummer"), (11,), True),
        t("be_nn", _stdnum("be.nn"), (11,), True),
        t("tr_tckimlik", _stdnum("tr.tckimlik"), (11,), True),
        t("ee_ik", _stdnum("ee.ik"), (11,), True),
        t("lt_asmens", _stdnum("lt.asmens"), (11,), True),
        t("br_cpf", _stdnum("br.cpf"), (11,), False, r"\d{3}\.\d{3}\.\d{3}-\d{2}", names=("cpf",)),
        t("pl_pesel", _stdnum("pl.pesel"), (11,), False, names=("pesel",)),
        t(
            "de_idnr",
            _stdnum("de.idnr"),
            (11,),
            False,
            r"\d{2} \d{3} \d{3} \d{3}",
            names=(
                "steuer-id",
                "steuer id",
                "steueridentifikationsnummer",
                "idnr",
                "identifikationsnummer",
                "tax id",
            ),
        ),
        t("hr_oib", _stdnum("hr.oib"), (11,), False, names=("oib",)),
        t("gr_amka", _stdnum("gr.amka"), (11,), False, names=("amka",)),
        t("ar_cuit", _stdnum("ar.cuit"), (11,), False, r"\d{2}-\d{8}-\d", names=("cuit", "cuil")),
        t("dk_cpr", _stdnum("dk.cpr"), (10,), False, r"\d{6}-\d{4}", names=("cpr", "cpr-nummer")),
        t("gb_nhs", _stdnum("gb.nhs"), (10,), False, r"\d{3}[ -]\d{3}[ -]\d{4}", names=("nhs",)),
        t("in_pan", _stdnum("in_.pan"), (10,), True, shape=r"[A-Z]{5}\d{4}[A-Z]"),
        t(
            "at_vnr",
            _stdnum("at.vnr"),
            (10,),
            False,
            r"\d{4} \d{6}",
            names=("svnr", "versicherungsnummer", "sozialversicherungsnummer"),
        ),
        t("bg_egn", _stdnum("bg.egn"), (10,), False, names=("egn", "егн")),
        t("cz_rc", _stdnum("cz.rc"), (9, 10), False, r"\d{6}/\d{3,4}", names=("rodné číslo",)),
        t(
            "is_kennitala",
            _stdnum("is_.kennitala"),
            (10,),
            False,
            r"\d{6}-\d{4}",
            names=("kennitala",),
        ),
        t("es_dni", _stdnum("es.dni"), (9,), True, shape=r"\d{8}[A-Z]"),
        t("es_nie", _stdnum("es.nie"), (9,), True, shape=r"[XYZ]\d{7}[A-Z]"),
        t("gb_nino", _nino, (9,), True, shape=r"[A-Z]{2}\d{6}[A-D]"),
        t("ie_pps", _stdnum("ie.pps"), (8, 9), True, shape=r"\d{7}[A-W][ABWTXZ]?"),
        t(
            "us_ssn",
            _stdnum("us.ssn"),
            (9,),
            False,
            d3_2_4,
            names=("ssn", "social security", "social"),
        ),
        t("us_itin", _stdnum("us.itin"), (9,), False, d3_2_4, names=("itin",)),
        t("us_ssn", _ssn_dashed, (9,), True, raw=True),
        t(
            "nl_bsn",
            _stdnum("nl.bsn"),
            (9,),
            False,
            r"\d{4}\.\d{2}\.\d{3}",
            names=("bsn", "burgerservicenummer", "sofinummer"),
        ),
        t(
            "pt_nif",
            _stdnum("pt.nif"),
            (9,),
            False,
            r"\d{3} \d{3} \d{3}",
            names=("nif", "contribuinte"),
        ),
        t(
            "ca_sin",
            _stdnum("ca.sin"),
            (9,),
            False,
            r"\d{3}[ -]\d{3}[ -]\d{3}",
            names=("sin", "social insurance"),
        ),
        t("il_idnr", _stdnum("il.idnr"), (9,), False, names=("teudat zehut", "israeli id")),
        t("us_rtn", _stdnum("us.rtn"), (9,), False, names=("routing", "aba")),
        t(
            "vat_id",
            _vat,
            tuple(range(8, 16)),
            False,
            shape=r"[A-Z]{2}[0-9A-Z]{6,13}",
            names=("vat", "ust-idnr", "tva", "iva", "btw", "mwst", "partita iva", "nip"),
        ),
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
    found: list[Finding] = []
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
    """The longest identifier starting at group ``i``: its kind and where it ends. A window
    inside a longer run must begin or end the run's numbers (and, for a weakly checked
    identifier, be all of them): a valid number cut out of a longer one is chance."""
    table = by_length()
    first, last = digit_span(groups)
    compact = ""
    windows = []
    for j in range(i, min(len(groups), i + MAX_GROUPS)):
        compact += groups[j][0]
        if len(compact) > MAX_LENGTH:
            break
        windows.append((compact, j + 1))
    for compact, j in reversed(windows):
        starts, ends = i <= first, j > last
        if not (starts or ends):
            continue
        start, end = groups[i][1], groups[j - 1][2]
        upper = compact.upper()
        valid = [
            t
            for t in table.get(len(compact), ())
            if (t.strong or (starts and ends))
            and t.shaped.fullmatch(upper)
            and _is(t, upper, text[start:end])
        ]
        kind = _named(text, start, end, valid)
        if kind is not None:
            return kind, j
    return None


def digit_span(groups: tuple[tuple[str, int, int], ...]) -> tuple[int, int]:
    """The first and last group of a run that hold a digit (letters-only groups around a
    number are words: "SSN 123-45-6789")."""
    holding = [k for k, (g, _, _) in enumerate(groups) if any(c.isdigit() for c in g)]
    return (holding[0], holding[-1]) if holding else (0, len(groups) - 1)


def _named(text: str, start: int, end: int, valid: list[IdType]) -> str | None:
    """Which of the ``valid`` identifiers the number at text[start:end] is, if any counts:
    one named right before it first, else the first that counts."""
    counting = [t for t in valid if _counts(t, text, start, end)]
    for t in counting:
        if t.names and cues.near_words(t.names, text, start, end, CONTEXT):
            return t.kind
    return counting[0].kind if counting else None


def _is(t: IdType, compact: str, written: str) -> bool:
    try:
        return t.check(written if t.raw else compact)
    except Exception:  # a validator that trips on odd input has not recognised it
        return False


def _counts(t: IdType, text: str, start: int, end: int) -> bool:
    """Whether a valid ``t`` at text[start:end] is someone's identifier here: not an operand,
    not an order or parcel number; and, if weakly checked, named or in its printed grouping
    (but not where a phone number is announced: a 3-3-4 NHS number is also a US phone's)."""
    if arithmetic(text, start, end):
        return False
    named = cues.near("identifier", text, start, end, CONTEXT)
    if not named and cues.near("reference", text, start, end, CONTEXT // 2):
        return False
    if t.strong or named:
        return True
    printed = t.printed is not None and re.fullmatch(t.printed, text[start:end]) is not None
    return printed and not cues.near("phone", text, start, end, CONTEXT)


def arithmetic(text: str, start: int, end: int) -> bool:
    """Whether the number at text[start:end] is an operand: another number and an operator
    (or an arithmetic word) right before or after it."""
    return bool(
        OPERAND_BEFORE.search(text[max(0, start - 16) : start])
        or OPERAND_AFTER.match(text, end, min(len(text), end + 20))
    )
