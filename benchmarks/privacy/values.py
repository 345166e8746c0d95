"""Valid private values for the corpus: identifiers with correct check digits, in the formats
people write them, drawn from a seeded generator.

Check digits come from python-stdnum's own ``calc_check_digit(s)`` where it has one and from
rejection sampling (draw, keep what ``is_valid`` accepts) elsewhere, so every identifier is one
a real issuer could have issued. Formats (separators, grouping) are written here by hand.
"""

from __future__ import annotations

import importlib
import random
import string
from collections.abc import Callable

import phonenumbers
from stdnum import iban, luhn
from stdnum.cn import ric
from stdnum.es import dni, nie
from stdnum.it import codicefiscale

NBSP = "\u00a0"


def _digits(rng: random.Random, n: int, first: str = "0123456789") -> str:
    return rng.choice(first) + "".join(rng.choice(string.digits) for _ in range(n - 1))


def _sample(rng: random.Random, draw: Callable[[], str], valid: Callable[[str], bool]) -> str:
    for _ in range(100_000):
        value = draw()
        if valid(value):
            return value
    raise RuntimeError("no valid value drawn")


def _date(rng: random.Random, first: int = 1950, last: int = 2004) -> tuple[int, int, int]:
    return rng.randint(first, last), rng.randint(1, 12), rng.randint(1, 28)


def group(value: str, sizes: list[int], sep: str) -> str:
    """``value`` cut into groups of ``sizes`` joined by ``sep`` (the rest in a last group)."""
    out, i = [], 0
    for size in sizes:
        out.append(value[i : i + size])
        i += size
    if i < len(value):
        out.append(value[i:])
    return sep.join(p for p in out if p)


def card(rng: random.Random) -> str:
    prefix = rng.choice(["4", "51", "53", "55", "2221", "4000", "6011", "35"])
    body = prefix + _digits(rng, 15 - len(prefix))
    return body + luhn.calc_check_digit(body)


def amex(rng: random.Random) -> str:
    body = rng.choice(["34", "37"]) + _digits(rng, 12)
    return body + luhn.calc_check_digit(body)


BBAN = {
    "DE": lambda r: _digits(r, 18),
    "FR": lambda r: _digits(r, 23),
    "ES": lambda r: _digits(r, 20),
    "IT": lambda r: r.choice(string.ascii_uppercase) + _digits(r, 22),
    "NL": lambda r: r.choice(["ABNA", "INGB", "RABO"]) + _digits(r, 10),
    "GB": lambda r: r.choice(["NWBK", "BARC", "HBUK"]) + _digits(r, 14),
    "BE": lambda r: _digits(r, 12),
    "PL": lambda r: _digits(r, 24),
    "PT": lambda r: _digits(r, 21),
    "AT": lambda r: _digits(r, 16),
    "CH": lambda r: _digits(r, 17),
    "SE": lambda r: _digits(r, 20),
}


def iban_value(rng: random.Random, country: str | None = None) -> str:
    cc = country or rng.choice(sorted(BBAN))

    def draw() -> str:
        bban = BBAN[cc](rng)
        return cc + iban.calc_check_digits(cc + "00" + bban) + bban

    return _sample(rng, draw, iban.is_valid)


def ssn(rng: random.Random) -> str:
    area = rng.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"


def stdnum_sample(rng: random.Random, module: object, draw: Callable[[], str]) -> str:
    return _sample(rng, draw, module.is_valid)  # type: ignore[attr-defined]


def _mod(name: str) -> object:
    return importlib.import_module("stdnum." + name)


def national(rng: random.Random, kind: str) -> str:
    """A valid national identifier of ``kind`` in its compact form."""
    y, m, d = _date(rng)
    ymd = f"{y % 100:02d}{m:02d}{d:02d}"
    dmy = f"{d:02d}{m:02d}{y % 100:02d}"
    draws: dict[str, tuple[object, Callable[[], str]]] = {
        "nl_bsn": (_mod("nl.bsn"), lambda: _digits(rng, 9, "1234567")),
        "in_aadhaar": (_mod("in_.aadhaar"), lambda: _digits(rng, 12, "23456789")),
        "br_cpf": (_mod("br.cpf"), lambda: _digits(rng, 11, "123456789")),
        "kr_rrn": (_mod("kr.rrn"), lambda: ymd + rng.choice("12") + _digits(rng, 6)),
        "de_idnr": (_mod("de.idnr"), lambda: _digits(rng, 11, "123456789")),
        "fr_nir": (
            _mod("fr.nir"),
            lambda: rng.choice("12") + f"{y % 100:02d}{m:02d}" + _digits(rng, 8) + _digits(rng, 2),
        ),
        "pl_pesel": (_mod("pl.pesel"), lambda: ymd + _digits(rng, 5)),
        "se_personnummer": (_mod("se.personnummer"), lambda: ymd + "-" + _digits(rng, 4)),
        "dk_cpr": (_mod("dk.cpr"), lambda: dmy + _digits(rng, 4)),
        "fi_hetu": (
            _mod("fi.hetu"),
            lambda: dmy + "-" + _digits(rng, 3) + rng.choice("0123456789ABCDEFHJKLMNPRSTUVWXY"),
        ),
        "no_fodselsnummer": (_mod("no.fodselsnummer"), lambda: dmy + _digits(rng, 5)),
        "ro_cnp": (_mod("ro.cnp"), lambda: rng.choice("1256") + ymd + _digits(rng, 6)),
        "be_nn": (_mod("be.nn"), lambda: ymd + _digits(rng, 5)),
        "pt_nif": (_mod("pt.nif"), lambda: rng.choice("12") + _digits(rng, 8)),
        "ch_ssn": (_mod("ch.ssn"), lambda: "756" + _digits(rng, 10)),
        "gb_nhs": (_mod("gb.nhs"), lambda: _digits(rng, 10, "3456789")),
        "us_itin": (
            _mod("us.itin"),
            lambda: (
                "9" + _digits(rng, 2) + rng.choice(["70", "78", "88", "90", "94"]) + _digits(rng, 4)
            ),
        ),
        "in_pan": (
            _mod("in_.pan"),
            lambda: (
                "".join(rng.choice(string.ascii_uppercase) for _ in range(3))
                + "P"
                + rng.choice(string.ascii_uppercase)
                + _digits(rng, 4)
                + rng.choice(string.ascii_uppercase)
            ),
        ),
    }
    if kind == "cn_ric":

        def draw_ric() -> str:
            region = rng.choice(["110101", "110105", "310104", "310115", "440305", "330106"])
            body = f"{region}{y}{m:02d}{d:02d}{_digits(rng, 3)}"
            return body + ric.calc_check_digit(body + "0")  # it expects a check digit's place

        return _sample(rng, draw_ric, ric.is_valid)
    if kind == "es_dni":
        body = _digits(rng, 8)
        return body + dni.calc_check_digit(body)
    if kind == "es_nie":
        body = rng.choice("XYZ") + _digits(rng, 7)
        return body + nie.calc_check_digit(body)
    if kind == "it_codicefiscale":
        letters = "".join(rng.choice("BCDFGLMNPRSTVZ") for _ in range(6))
        month = "ABCDEHLMPRST"[m - 1]
        place = rng.choice(["A562", "F205", "H501", "L219"])
        body = f"{letters}{y % 100:02d}{month}{d + rng.choice([0, 40]):02d}{place}"
        return body + codicefiscale.calc_check_digit(body)
    if kind == "us_ssn":
        return ssn(rng)
    if kind == "gb_nino":
        first = rng.choice("ABCEGHJKLMNPRSTWXYZ")
        second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
        return first + second + _digits(rng, 6) + rng.choice("ABCD")
    module, draw = draws[kind]
    return stdnum_sample(rng, module, draw)


PHONE_REGIONS = [
    "US",
    "GB",
    "DE",
    "FR",
    "ES",
    "IT",
    "NL",
    "BR",
    "PL",
    "SE",
    "CN",
    "JP",
    "KR",
    "IN",
    "RU",
    "PT",
]


def phone(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    """A valid mobile (or, where no mobile example exists, fixed-line) number of ``region``."""
    base = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    base = base or phonenumbers.example_number(region)
    national_number = str(base.national_number)

    def draw() -> phonenumbers.PhoneNumber:
        tail = _digits(rng, 4)
        return phonenumbers.PhoneNumber(
            country_code=base.country_code,
            national_number=int(national_number[:-4] + tail),
        )

    for _ in range(1000):
        number = draw()
        if phonenumbers.is_valid_number(number):
            return number
    raise RuntimeError(f"no valid {region} number drawn")


PHONE_FORMATS = {
    "e164": phonenumbers.PhoneNumberFormat.E164,
    "international": phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    "national": phonenumbers.PhoneNumberFormat.NATIONAL,
}


def phone_text(number: phonenumbers.PhoneNumber, how: str) -> str:
    """``number`` written ``how``: e164, international, national, or national with its
    separators replaced (``national-bare``, ``national-dots``, ``national-nbsp``)."""
    if how in PHONE_FORMATS:
        return phonenumbers.format_number(number, PHONE_FORMATS[how])
    national_text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    digits = "".join(c for c in national_text if c.isdigit())
    if how == "national-bare":
        return digits
    sep = {"national-dots": ".", "national-nbsp": NBSP, "national-dash": "-"}[how]
    return sep.join(
        p for p in national_text.replace("(", " ").replace(")", " ").replace("-", " ").split() if p
    )


def api_key(rng: random.Random, kind: str) -> str:
    alnum = string.ascii_letters + string.digits

    def r(n: int, chars: str = alnum) -> str:
        return "".join(rng.choice(chars) for _ in range(n))

    return {
        "openai": "sk-proj-" + r(48),
        "anthropic": "sk-ant-api03-" + r(40),
        "aws": "AKIA" + r(16, string.ascii_uppercase + string.digits),
        "github": "ghp_" + r(36),
        "slack": "xoxb-" + r(11, string.digits) + "-" + r(12, string.digits) + "-" + r(24),
        "google": "AIza" + r(35, alnum + "_-"),
        "hf": "hf_" + r(34),
        "stripe": "sk_live_" + r(24),
        "generic": r(40, alnum + "+/"),
    }[kind]


SPELLED = {
    "en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
    "de": ["null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"],
    "fr": ["zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"],
    "es": ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"],
}


def spell(digits: str, lang: str = "en") -> str:
    """Each digit of ``digits`` as a word (other characters dropped)."""
    words = SPELLED[lang]
    return " ".join(words[int(c)] for c in digits if c.isdigit())
