"""The identifiers the scanner knows: for each, its kind, its check (python-stdnum's validator
or a published algorithm), its lengths, and when a valid check is enough to count it
(``identifiers.py`` finds the runs of digits they are checked on)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache


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
    business: bool = False
    """A company's number (VAT, company register): found so that nothing else claims it, but
    not private (``public_id``)."""

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


def _snils(number: str) -> bool:
    """A Russian SNILS: nine digits and two check digits, the weighted sum modulo 101 (Pension
    Fund of Russia's published rule; python-stdnum has no module for it)."""
    if not number.isdigit() or len(number) != 11:
        return False
    total = sum(int(d) * (9 - i) for i, d in enumerate(number[:9])) % 101
    return int(number[9:]) == (0 if total == 100 else total)


def _saudi_id(number: str) -> bool:
    """A Saudi national id (1…) or residence id (2…): ten digits with the Luhn check."""
    return number.isdigit() and number[0] in "12" and _stdnum("luhn")(number)


TAIWAN_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"


def _taiwan_id(number: str) -> bool:
    """A Taiwanese national id: a letter for the place of registration, 1 or 2 for the sex,
    seven digits and a check digit (Ministry of the Interior's published weights)."""
    if len(number) != 10 or number[0] not in TAIWAN_LETTERS or number[1] not in "12":
        return False
    code = 10 + TAIWAN_LETTERS.index(number[0])
    digits = [code // 10, code % 10, *map(int, number[1:])]
    weights = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)
    return sum(d * w for d, w in zip(digits, weights, strict=True)) % 10 == 0


def _iban(text: str) -> bool:
    return text[:2].isalpha() and text[2:4].isdigit() and _stdnum("iban")(text)


def _vat(text: str) -> bool:
    return text[:2].isalpha() and _stdnum("eu.vat")(text)


def _inn(length: int) -> Callable[[str], bool]:
    """A Russian INN of one length: 12 digits a person's, 10 a company's."""
    return lambda number: len(number) == length and _stdnum("ru.inn")(number)


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
        t(
            "il_idnr",
            _stdnum("il.idnr"),
            (9,),
            False,
            names=("teudat zehut", "israeli id", "תעודת זהות", "תעודת הזהות", "מספר זהות", "ת.ז"),
        ),
        t("us_rtn", _stdnum("us.rtn"), (9,), False, names=("routing", "aba")),
        t("gb_utr", _stdnum("gb.utr"), (10,), False, names=("utr", "unique taxpayer reference")),
        t(
            "de_stnr",
            _stdnum("de.stnr"),
            (10, 11, 12, 13),
            False,
            r"\d{2,3}/\d{3,4}/\d{4,5}",
            raw=True,
            names=("steuernummer", "st.-nr", "stnr"),
        ),
        t("ru_inn", _inn(12), (12,), False, names=("инн", "inn")),
        t(
            "ru_snils",
            _snils,
            (11,),
            False,
            r"\d{3}-\d{3}-\d{3}[ -]\d{2}",
            names=("снилс", "snils"),
        ),
        t(
            "th_pin",
            _stdnum("th.pin"),
            (13,),
            False,
            r"\d-\d{4}-\d{5}-\d{2}-\d",
            names=("บัตรประชาชน", "เลขประจำตัวประชาชน", "รหัสประชาชน", "thai id"),
        ),
        t(
            "my_nric",
            _stdnum("my.nric"),
            (12,),
            False,
            r"\d{6}-\d{2}-\d{4}",
            names=("mykad", "nric", "ic number", "kad pengenalan"),
        ),
        t("id_nik", _stdnum("id.nik"), (16,), False, names=("nik", "ktp")),
        t("pk_cnic", _stdnum("pk.cnic"), (13,), False, r"\d{5}-\d{7}-\d", names=("cnic",)),
        t("ua_rntrc", _stdnum("ua.rntrc"), (10,), False, names=("рнокпп", "ідентифікаційний код")),
        t(
            "au_tfn",
            _stdnum("au.tfn"),
            (8, 9),
            False,
            r"\d{3} \d{3} \d{2,3}",
            names=("tfn", "tax file"),
        ),
        t("nz_ird", _stdnum("nz.ird"), (8, 9), False, r"\d{2,3}-\d{3}-\d{3}", names=("ird",)),
        t(
            "cl_rut",
            _stdnum("cl.rut"),
            (8, 9),
            False,
            r"\d{1,2}\.\d{3}\.\d{3}-[\dkK]",
            shape=r"\d{7,8}[\dK]",
            names=("rut", "run"),
        ),
        t("ec_ci", _stdnum("ec.ci"), (10,), False, names=("cédula", "cedula")),
        t(
            "sa_nid",
            _saudi_id,
            (10,),
            False,
            names=("الهوية", "رقم الهوية", "هوية", "الإقامة", "iqama", "national id"),
        ),
        t("tw_nid", _taiwan_id, (10,), True, shape=r"[A-Z][12]\d{8}"),
        t("mx_rfc", _stdnum("mx.rfc"), (13,), True, shape=r"[A-ZÑ&]{4}\d{6}[A-Z0-9]{3}"),
        *business_types(),
    ]
    return tuple(types)


PUBLIC_ID = "public_id"


def business_types() -> list[IdType]:
    """Company, VAT and register numbers: a valid one that is named, printed in its grouping or
    next to a company's legal form is a business's number (``public_id``), and no person's id
    or phone number is read into it."""

    def b(
        check: str,
        lengths: tuple[int, ...],
        names: tuple[str, ...],
        printed: str | None = None,
        shape: str = r"\d+",
    ) -> IdType:
        return IdType(PUBLIC_ID, _stdnum(check), lengths, False, printed, shape=shape,
                      names=names, business=True)  # fmt: skip

    return [
        IdType(
            PUBLIC_ID,
            _vat,
            tuple(range(8, 16)),
            False,
            shape=r"[A-Z]{2}[0-9A-Z]{6,13}",
            names=("vat", "ust-idnr", "ust-id", "tva", "iva", "btw", "mwst", "partita iva"),
            business=True,
        ),
        b("br.cnpj", (14,), ("cnpj",), printed=r"\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}"),
        b("fr.siret", (14,), ("siret",), printed=r"\d{3} \d{3} \d{3} \d{5}"),
        b("fr.siren", (9,), ("siren", "rcs"), printed=r"\d{3} \d{3} \d{3}"),
        b("es.cif", (9,), ("cif",), shape=r"[A-HJ-NP-SUVW]\d{7}[0-9A-J]"),
        b("it.iva", (11,), ("p.iva", "p. iva", "partita iva", "iva")),
        b("pl.nip", (10,), ("nip",), printed=r"\d{3}-\d{3}-\d{2}-\d{2}"),
        b("pl.regon", (9, 14), ("regon",)),
        b("ru.inn", (10,), ("инн", "inn")),
        b("ru.ogrn", (13, 15), ("огрн", "огрнип", "ogrn")),
        b("cn.uscc", (18,), ("统一社会信用代码", "信用代码", "uscc"), shape=r"[0-9A-Z]{18}"),
        b("jp.cn", (13,), ("法人番号", "corporate number")),
        b("kr.brn", (10,), ("사업자등록번호", "사업자번호", "brn"), printed=r"\d{3}-\d{2}-\d{5}"),
        b("in_.gstin", (15,), ("gstin", "gst"), shape=r"\d{2}[A-Z]{5}\d{4}[A-Z][0-9A-Z]Z[0-9A-Z]"),
        b("au.abn", (11,), ("abn",), printed=r"\d{2} \d{3} \d{3} \d{3}"),
        b("au.acn", (9,), ("acn",)),
        b("us.ein", (9,), ("ein", "fein", "employer identification"), printed=r"\d{2}-\d{7}"),
        b("dk.cvr", (8,), ("cvr",)),
        b("se.orgnr", (10,), ("org.nr", "orgnr", "organisationsnummer")),
        b("no.orgnr", (9,), ("org.nr", "orgnr", "organisasjonsnummer")),
        b("fi.ytunnus", (8,), ("y-tunnus",), printed=r"\d{7}-\d"),
        b("ch.uid", (12,), ("uid", "che"), shape=r"CHE\d{9}"),
        b("tr.vkn", (10,), ("vergi no", "vergi numarası", "vkn")),
        b("gb.vat", (9, 12), ("vat",)),
    ]


@cache
def by_length() -> dict[int, tuple[IdType, ...]]:
    table: dict[int, list[IdType]] = {}
    for t in id_types():
        for n in t.lengths:
            table.setdefault(n, []).append(t)
    return {n: tuple(ts) for n, ts in table.items()}
