"""Valid identifiers for the blind corpus, drawn at random and checked by python-stdnum.

Each generator builds a candidate the way the issuing country does (birth date, sex digit,
region code, serial) and keeps drawing until stdnum's own validator accepts it, so every
private number in the corpus carries a real checksum. Nothing here reads modelyard.
"""

from __future__ import annotations

import datetime as dt
import importlib
import random
import string
from collections.abc import Callable

import phonenumbers

DIGITS = string.digits
UPPER = string.ascii_uppercase


def digits(rng: random.Random, n: int, first: str = DIGITS) -> str:
    return rng.choice(first) + "".join(rng.choice(DIGITS) for _ in range(n - 1))


def birth_date(rng: random.Random, lo: int = 1940, hi: int = 2012) -> dt.date:
    start = dt.date(lo, 1, 1).toordinal()
    return dt.date.fromordinal(rng.randrange(start, dt.date(hi, 12, 31).toordinal()))


def until_valid(module: str, make: Callable[[], str], tries: int = 20000) -> str:
    mod = importlib.import_module(f"stdnum.{module}")
    for _ in range(tries):
        candidate = make()
        if mod.is_valid(candidate):
            return candidate
    raise RuntimeError(f"no valid {module} drawn in {tries} tries")


def group(text: str, sizes: list[int], sep: str = " ") -> str:
    out, pos = [], 0
    for size in sizes:
        out.append(text[pos : pos + size])
        pos += size
    if pos < len(text):
        out.append(text[pos:])
    return sep.join(part for part in out if part)


# --- national identity numbers -------------------------------------------------------


def fr_nir(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng)
        dept = rng.choice(["75", "69", "13", "33", "59", "67", "31", "44", "35", "06"])
        commune, order = digits(rng, 3), digits(rng, 3)
        body = f"{rng.choice('12')}{b.year % 100:02d}{b.month:02d}{dept}{commune}{order}"
        key = 97 - int(body) % 97
        return body + f"{key:02d}"

    n = until_valid("fr.nir", make)
    return group(n, [1, 2, 2, 2, 3, 3, 2])


def de_idnr(rng: random.Random) -> str:
    return until_valid("de.idnr", lambda: digits(rng, 11, "123456789"))


def es_dni(rng: random.Random) -> str:
    from stdnum.es import dni

    body = digits(rng, 8)
    return body + dni.calc_check_digit(body)


def es_nie(rng: random.Random) -> str:
    from stdnum.es import nie

    body = rng.choice("XYZ") + digits(rng, 7)
    return body + nie.calc_check_digit(body)


def it_cf(rng: random.Random) -> str:
    from stdnum.it import codicefiscale

    months = "ABCDEHLMPRST"

    def make() -> str:
        b = birth_date(rng)
        day = b.day + rng.choice([0, 40])
        town = rng.choice("ABCDEFGHLMZ") + digits(rng, 3)
        body = (
            "".join(rng.choice("BCDFGHLMNPRSTVZ") for _ in range(6))
            + f"{b.year % 100:02d}{months[b.month - 1]}{day:02d}{town}"
        )
        return body + codicefiscale.calc_check_digit(body)

    return until_valid("it.codicefiscale", make)


def cn_ric(rng: random.Random) -> str:
    from stdnum.cn import ric

    def make() -> str:
        area = rng.choice(["110101", "310104", "440106", "510107", "330106", "420102", "320102"])
        b = birth_date(rng, 1955, 2005)
        body = f"{area}{b:%Y%m%d}{digits(rng, 3)}"
        return body + ric.calc_check_digit(body + "0")

    return until_valid("cn.ric", make)


def br_cpf(rng: random.Random) -> str:
    n = until_valid("br.cpf", lambda: digits(rng, 11))
    return f"{n[:3]}.{n[3:6]}.{n[6:9]}-{n[9:]}"


def kr_rrn(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng, 1950, 2010)
        sex = rng.choice("12") if b.year < 2000 else rng.choice("34")
        return f"{b.year % 100:02d}{b.month:02d}{b.day:02d}{sex}{digits(rng, 6)}"

    n = until_valid("kr.rrn", make)
    return f"{n[:6]}-{n[6:]}"


def nl_bsn(rng: random.Random) -> str:
    return until_valid("nl.bsn", lambda: digits(rng, 9, "1234567"))


def in_aadhaar(rng: random.Random) -> str:
    from stdnum import verhoeff

    def make() -> str:
        body = digits(rng, 11, "23456789")
        return body + verhoeff.calc_check_digit(body)

    return group(until_valid("in_.aadhaar", make), [4, 4, 4])


def us_ssn(rng: random.Random) -> str:
    def make() -> str:
        return f"{rng.randrange(1, 665):03d}{rng.randrange(1, 99):02d}{rng.randrange(1, 9999):04d}"

    n = until_valid("us.ssn", make)
    return f"{n[:3]}-{n[3:5]}-{n[5:]}"


def pl_pesel(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng, 1950, 2012)
        month = b.month + (20 if b.year >= 2000 else 0)
        return f"{b.year % 100:02d}{month:02d}{b.day:02d}{digits(rng, 5)}"

    return until_valid("pl.pesel", make)


def se_personnummer(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng)
        return f"{b.year % 100:02d}{b.month:02d}{b.day:02d}-{digits(rng, 4)}"

    return until_valid("se.personnummer", make)


def se_personnummer_long(rng: random.Random) -> str:
    """The 12-digit form (century included) used by Skatteverket and most web forms."""
    short = se_personnummer(rng)
    century = "19" if int(short[:2]) > 25 else "20"
    return century + short


def fi_hetu(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng)
        sign = "-" if b.year < 2000 else "A"
        body = f"{b.day:02d}{b.month:02d}{b.year % 100:02d}{sign}{rng.randrange(2, 899):03d}"
        return body + "0123456789ABCDEFHJKLMNPRSTUVWXY"[rng.randrange(31)]

    return until_valid("fi.hetu", make)


def dk_cpr(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng, 1940, 1999)
        return f"{b.day:02d}{b.month:02d}{b.year % 100:02d}-{rng.choice('0123')}{digits(rng, 3)}"

    return until_valid("dk.cpr", make)


def no_fnr(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng, 1940, 1999)
        return (
            f"{b.day:02d}{b.month:02d}{b.year % 100:02d}{rng.randrange(0, 499):03d}{digits(rng, 2)}"
        )

    return until_valid("no.fodselsnummer", make)


def be_nn(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng, 1940, 1999)
        return f"{b.year % 100:02d}{b.month:02d}{b.day:02d}{digits(rng, 3)}{digits(rng, 2)}"

    n = until_valid("be.nn", make)
    return f"{n[:2]}.{n[2:4]}.{n[4:6]}-{n[6:9]}.{n[9:]}"


def ch_ahv(rng: random.Random) -> str:
    n = until_valid("ch.ssn", lambda: "756" + digits(rng, 10))
    return f"{n[:3]}.{n[3:7]}.{n[7:11]}.{n[11:]}"


def mx_curp(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng, 1950, 1999)
        state = rng.choice(["DF", "JC", "NL", "PL", "VZ", "GT"])
        name = rng.choice(UPPER) + rng.choice("AEIOU") + rng.choice(UPPER) + rng.choice(UPPER)
        cons = "".join(rng.choice("BCDFGHJKLMNPRSTVZ") for _ in range(3))
        return f"{name}{b:%y%m%d}{rng.choice('HM')}{state}{cons}0{rng.choice(DIGITS)}"

    return until_valid("mx.curp", make)


def cl_rut(rng: random.Random) -> str:
    from stdnum.cl import rut

    body = str(rng.randrange(5_000_000, 25_000_000))
    n = body + rut.calc_check_digit(body)
    return f"{int(body):,}".replace(",", ".") + "-" + n[-1]


def za_idnr(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng, 1950, 2004)
        return f"{b:%y%m%d}{digits(rng, 4)}0{rng.choice('89')}{rng.choice(DIGITS)}"

    return until_valid("za.idnr", make)


def tr_tckimlik(rng: random.Random) -> str:
    return until_valid("tr.tckimlik", lambda: digits(rng, 11, "123456789"))


def il_idnr(rng: random.Random) -> str:
    return until_valid("il.idnr", lambda: digits(rng, 9, "0123"))


def ca_sin(rng: random.Random) -> str:
    n = until_valid("ca.sin", lambda: digits(rng, 9, "1234567"))
    return group(n, [3, 3, 3])


def au_tfn(rng: random.Random) -> str:
    return group(until_valid("au.tfn", lambda: digits(rng, 9, "123456789")), [3, 3, 3])


def gr_amka(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng)
        return f"{b:%d%m%y}{digits(rng, 5)}"

    return until_valid("gr.amka", make)


def ro_cnp(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng, 1950, 1999)
        return f"{rng.choice('12')}{b:%y%m%d}{rng.randrange(1, 46):02d}{digits(rng, 4)}"

    return until_valid("ro.cnp", make)


def cz_rc(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng, 1954, 2010)
        month = b.month + rng.choice([0, 50])
        return f"{b.year % 100:02d}{month:02d}{b.day:02d}/{digits(rng, 4)}"

    return until_valid("cz.rc", make)


def ie_pps(rng: random.Random) -> str:
    return until_valid(
        "ie.pps", lambda: digits(rng, 7) + rng.choice(UPPER) + rng.choice("AW ")
    ).rstrip()


def pt_nif(rng: random.Random) -> str:
    return until_valid("pt.nif", lambda: digits(rng, 9, "12"))


def jp_mynumber(rng: random.Random) -> str:
    n = until_valid("jp.in_", lambda: digits(rng, 12, "123456789"))
    return group(n, [4, 4, 4])


def at_svnr(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng)
        return f"{rng.randrange(100, 999)}{rng.choice(DIGITS)}{b:%d%m%y}"

    n = until_valid("at.vnr", make)
    return f"{n[:4]} {n[4:]}"


def ee_ik(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng, 1950, 1999)
        return f"{rng.choice('34')}{b:%y%m%d}{digits(rng, 4)}"

    return until_valid("ee.ik", make)


def bg_egn(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng, 1950, 1999)
        return f"{b:%y%m%d}{digits(rng, 4)}"

    return until_valid("bg.egn", make)


def ar_dni(rng: random.Random) -> str:
    return f"{rng.randrange(20_000_000, 45_000_000):,}".replace(",", ".")


def uk_nino(rng: random.Random) -> str:
    first = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    return (
        f"{first}{second} {digits(rng, 2)} {digits(rng, 2)} {digits(rng, 2)} {rng.choice('ABCD')}"
    )


# --- tax, health and other personal numbers -----------------------------------------


def in_pan(rng: random.Random) -> str:
    def make() -> str:
        letters = "".join(rng.choice(UPPER) for _ in range(3))
        return f"{letters}P{rng.choice(UPPER)}{digits(rng, 4)}{rng.choice(UPPER)}"

    return until_valid("in_.pan", make)


def gb_utr(rng: random.Random) -> str:
    return until_valid("gb.utr", lambda: digits(rng, 10, "123456789"))


def gb_nhs(rng: random.Random) -> str:
    n = until_valid("gb.nhs", lambda: digits(rng, 10, "4"))
    return group(n, [3, 3, 4])


def us_itin(rng: random.Random) -> str:
    def make() -> str:
        return f"9{digits(rng, 2)}{rng.choice(['70', '78', '88', '91', '94'])}{digits(rng, 4)}"

    n = until_valid("us.itin", make)
    return f"{n[:3]}-{n[3:5]}-{n[5:]}"


def fr_nif(rng: random.Random) -> str:
    n = until_valid("fr.nif", lambda: digits(rng, 13, "0123"))
    return group(n, [2, 2, 3, 3, 3])


def es_nif_person(rng: random.Random) -> str:
    return es_dni(rng)


def mx_rfc(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng, 1950, 1999)
        letters = rng.choice(UPPER) + rng.choice("AEIOU") + rng.choice(UPPER) + rng.choice(UPPER)
        return f"{letters}{b:%y%m%d}{''.join(rng.choice(UPPER + DIGITS) for _ in range(3))}"

    return until_valid("mx.rfc", make)


def de_stnr(rng: random.Random) -> str:
    n = until_valid("de.stnr", lambda: f"{rng.choice(['21', '93', '14', '48'])}{digits(rng, 9)}")
    return f"{n[:2]}/{n[2:5]}/{n[5:]}"


# --- banking and cards ----------------------------------------------------------------

_BBAN = {
    "DE": lambda rng: digits(rng, 8, "123456789") + digits(rng, 10),
    "FR": lambda rng: digits(rng, 10) + digits(rng, 11) + digits(rng, 2),
    "ES": lambda rng: digits(rng, 20),
    "IT": lambda rng: rng.choice(UPPER) + digits(rng, 10) + digits(rng, 12),
    "NL": lambda rng: rng.choice(["ABNA", "INGB", "RABO", "SNSB"]) + digits(rng, 10),
    "GB": lambda rng: rng.choice(["NWBK", "BARC", "LOYD", "HBUK"]) + digits(rng, 14),
    "PL": lambda rng: digits(rng, 24),
    "BE": lambda rng: digits(rng, 12),
    "PT": lambda rng: digits(rng, 21),
    "AT": lambda rng: digits(rng, 16),
    "CH": lambda rng: digits(rng, 17),
    "SE": lambda rng: digits(rng, 20),
    "TR": lambda rng: digits(rng, 6) + "0" + digits(rng, 15),
}


def iban(rng: random.Random, country: str) -> str:
    from stdnum import iban as ib

    def make() -> str:
        bban = _BBAN[country](rng)
        return country + ib.calc_check_digits(country + "00" + bban) + bban

    return until_valid("iban", make)


def iban_spaced(rng: random.Random, country: str, sep: str = " ") -> str:
    return group(iban(rng, country), [4] * 8, sep)


def luhn_number(rng: random.Random, prefix: str, length: int) -> str:
    from stdnum import luhn

    body = prefix + digits(rng, length - len(prefix) - 1)
    return body + luhn.calc_check_digit(body)


def card(rng: random.Random, brand: str) -> str:
    prefix, length = {
        "visa": (rng.choice(["4", "45", "49"]), 16),
        "mc": (rng.choice(["51", "53", "55", "2221", "2720"]), 16),
        "amex": (rng.choice(["34", "37"]), 15),
        "discover": ("6011", 16),
        "jcb": ("3528", 16),
    }[brand]
    return luhn_number(rng, prefix, length)


def us_routing(rng: random.Random) -> str:
    return until_valid("us.rtn", lambda: rng.choice(["0", "1", "2", "3"]) + digits(rng, 8))


def imei(rng: random.Random) -> str:
    return luhn_number(rng, "35" + digits(rng, 6), 15)


# --- passports (ICAO 9303 check digits) -----------------------------------------------


def mrz_check(field: str) -> str:
    values = {c: i for i, c in enumerate(DIGITS)} | {c: 10 + i for i, c in enumerate(UPPER)}
    values["<"] = 0
    weights = [7, 3, 1]
    return str(sum(values[c] * weights[i % 3] for i, c in enumerate(field)) % 10)


def passport_number(rng: random.Random, country: str) -> str:
    if country in ("USA", "GBR"):
        return digits(rng, 9, "12345")
    if country == "D":
        return "C" + "".join(rng.choice("CFGHJKLMNPRTVWXYZ" + DIGITS) for _ in range(8))
    if country == "FRA":
        return digits(rng, 2) + "".join(rng.choice(UPPER) for _ in range(2)) + digits(rng, 5)
    return "".join(rng.choice(UPPER) for _ in range(2)) + digits(rng, 7)


def mrz_lines(rng: random.Random, country: str, surname: str, given: str, sex: str) -> str:
    number = passport_number(rng, country).ljust(9, "<")
    born = birth_date(rng, 1950, 2000).strftime("%y%m%d")
    expiry = f"{rng.randrange(27, 35)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
    line1 = f"P<{country.ljust(3, '<')}{surname}<<{given}".ljust(44, "<")[:44]
    part = f"{number}{mrz_check(number)}{country.ljust(3, '<')}{born}{mrz_check(born)}{sex}"
    part += f"{expiry}{mrz_check(expiry)}" + "<" * 14 + "0"
    composite = part[0:10] + part[13:20] + part[21:43]
    return line1 + "\n" + part + mrz_check(composite)


# --- phone numbers: drawn until phonenumbers accepts them, written the local way ------

_PHONE_DRAW = {
    "US": lambda rng: (
        f"{rng.choice(['415', '212', '312', '617', '206', '512'])}{digits(rng, 7, '23456789')}"
    ),
    "GB": lambda rng: "07" + rng.choice(["4", "5", "7", "8", "9"]) + digits(rng, 8),
    "DE": lambda rng: (
        "01" + rng.choice(["51", "52", "60", "62", "70", "71", "76"]) + digits(rng, 7)
    ),
    "FR": lambda rng: "0" + rng.choice("67") + digits(rng, 8),
    "ES": lambda rng: rng.choice("67") + digits(rng, 8),
    "IT": lambda rng: "3" + rng.choice(["33", "35", "38", "40", "47", "49"]) + digits(rng, 7),
    "NL": lambda rng: "06" + digits(rng, 8, "12345"),
    "PL": lambda rng: rng.choice(["50", "51", "60", "66", "69", "79"]) + digits(rng, 7),
    "SE": lambda rng: "07" + rng.choice("0236") + digits(rng, 7),
    "BR": lambda rng: rng.choice(["11", "21", "31", "41"]) + "9" + digits(rng, 8, "6789"),
    "MX": lambda rng: rng.choice(["55", "33", "81"]) + digits(rng, 8),
    "CN": lambda rng: "1" + rng.choice(["38", "39", "58", "86", "36"]) + digits(rng, 8),
    "JP": lambda rng: "0" + rng.choice(["90", "80", "70"]) + digits(rng, 8, "123456789"),
    "KR": lambda rng: "010" + digits(rng, 8, "23456789"),
    "IN": lambda rng: rng.choice("6789") + digits(rng, 9),
    "RU": lambda rng: "9" + rng.choice(["12", "16", "26", "03", "85"]) + digits(rng, 7),
    "TR": lambda rng: "5" + rng.choice(["32", "33", "42", "05", "55"]) + digits(rng, 7),
    "AU": lambda rng: "04" + digits(rng, 8),
    "AR": lambda rng: "911" + digits(rng, 8, "2345679"),
    "ZA": lambda rng: "0" + rng.choice(["72", "82", "83", "61"]) + digits(rng, 7),
    "EG": lambda rng: "01" + rng.choice("0125") + digits(rng, 8),
    "SA": lambda rng: "05" + rng.choice("0345") + digits(rng, 7),
    "DK": lambda rng: rng.choice("2345") + digits(rng, 7),
    "PT": lambda rng: "9" + rng.choice("1236") + digits(rng, 7),
    "IL": lambda rng: "05" + rng.choice("0234") + digits(rng, 7),
}


def phone(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    for _ in range(5000):
        raw = _PHONE_DRAW[region](rng)
        try:
            num = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return num
    raise RuntimeError(f"no valid {region} phone drawn")


def phone_national(rng: random.Random, region: str) -> str:
    fmt = phonenumbers.PhoneNumberFormat.NATIONAL
    return phonenumbers.format_number(phone(rng, region), fmt)


def phone_intl(rng: random.Random, region: str) -> str:
    fmt = phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(phone(rng, region), fmt)


def phone_digits(rng: random.Random, region: str) -> str:
    """The national number with every separator removed, as many people type it."""
    fmt = phonenumbers.PhoneNumberFormat.NATIONAL
    text = phonenumbers.format_number(phone(rng, region), fmt)
    return "".join(c for c in text if c.isdigit())


def phone_resep(rng: random.Random, region: str, sep: str) -> str:
    """The national number written with another separator (dots, dashes, slashes)."""
    fmt = phonenumbers.PhoneNumberFormat.NATIONAL
    text = phonenumbers.format_number(phone(rng, region), fmt)
    for old in " -()":
        text = text.replace(old, sep)
    while sep + sep in text:
        text = text.replace(sep + sep, sep)
    return text.strip(sep)


# --- secrets --------------------------------------------------------------------------


def token(rng: random.Random, n: int, alphabet: str = string.ascii_letters + DIGITS) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def password(rng: random.Random) -> str:
    words = ["Sommer", "tiger", "Kaffee", "maple", "Soleil", "luna", "Dragon", "perro", "Blue"]
    return (
        rng.choice(words) + rng.choice(["!", "#", "$", "_", "."]) + digits(rng, rng.choice([2, 4]))
    )


def aws_key_id(rng: random.Random) -> str:
    return "AKIA" + token(rng, 16, UPPER + "234567")


def aws_secret(rng: random.Random) -> str:
    return token(rng, 40, string.ascii_letters + DIGITS + "/+")


def ipv4_public(rng: random.Random) -> str:
    first = rng.choice([31, 37, 46, 62, 77, 78, 79, 84, 87, 89, 91, 93, 95, 109, 176, 188, 217])
    return f"{first}.{rng.randrange(0, 256)}.{rng.randrange(0, 256)}.{rng.randrange(1, 255)}"


def ipv6_public(rng: random.Random) -> str:
    prefix = rng.choice(["2a02:810d", "2003:e2", "2a01:cb00", "2600:1700"])
    rest = ":".join(f"{rng.randrange(0, 65536):x}" for _ in range(5))
    return f"{prefix}:{rest}"


def jwt(rng: random.Random, email: str) -> str:
    import base64
    import json

    def b64(obj: dict[str, object]) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    head = b64({"alg": "HS256", "typ": "JWT"})
    body = b64({"sub": digits(rng, 8), "email": email, "iat": 1764000000 + rng.randrange(10**6)})
    return f"{head}.{body}.{token(rng, 43, string.ascii_letters + DIGITS + '-_')}"


def github_token(rng: random.Random) -> str:
    return "ghp_" + token(rng, 36)


def slack_token(rng: random.Random) -> str:
    return f"xoxb-{digits(rng, 12)}-{digits(rng, 13)}-{token(rng, 24)}"


def openai_key(rng: random.Random) -> str:
    return "sk-proj-" + token(rng, 48, string.ascii_letters + DIGITS + "-_")


def stripe_key(rng: random.Random) -> str:
    return "sk_live_" + token(rng, 24)


def ssh_private_key(rng: random.Random) -> str:
    alphabet = string.ascii_letters + DIGITS + "+/"
    lines = [token(rng, 70, alphabet) for _ in range(5)]
    return "\n".join(
        ["-----BEGIN OPENSSH PRIVATE KEY-----", *lines, "-----END OPENSSH PRIVATE KEY-----"]
    )


# --- numbers stdnum does not cover, from their published algorithms --------------------


def ru_snils(rng: random.Random) -> str:
    body = digits(rng, 9, "123456789")
    total = sum(int(d) * (9 - i) for i, d in enumerate(body)) % 101
    check = 0 if total == 100 else total
    return f"{body[:3]}-{body[3:6]}-{body[6:]} {check:02d}"


def tw_id(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVXYWZIO"
    letter = rng.choice(letters[:22])
    code = 10 + letters.index(letter)
    body = rng.choice("12") + digits(rng, 7)
    nums = [code // 10, code % 10, *map(int, body)]
    weights = [1, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    check = (10 - sum(n * w for n, w in zip(nums, weights, strict=True)) % 10) % 10
    return f"{letter}{body}{check}"


def sa_national_id(rng: random.Random) -> str:
    return luhn_number(rng, rng.choice("12"), 10)


def de_ausweis(rng: random.Random) -> str:
    serial = rng.choice("LMNPRT") + "".join(
        rng.choice("CFGHJKLMNPRTVWXYZ" + DIGITS) for _ in range(8)
    )
    return serial + mrz_check(serial)


def de_kvnr(rng: random.Random) -> str:
    letter = rng.choice(UPPER)
    body = digits(rng, 8, "123456789")
    nums = [*map(int, f"{UPPER.index(letter) + 1:02d}"), *map(int, body)]
    total = 0
    for i, n in enumerate(nums):
        p = n * (1 if i % 2 == 0 else 2)
        total += p // 10 + p % 10
    return f"{letter}{body}{total % 10}"


def ru_inn_person(rng: random.Random) -> str:
    return until_valid("ru.inn", lambda: rng.choice(["77", "78", "50", "66"]) + digits(rng, 10))


def th_pin(rng: random.Random) -> str:
    n = until_valid("th.pin", lambda: digits(rng, 13, "1234578"))
    return f"{n[0]}-{n[1:5]}-{n[5:10]}-{n[10:12]}-{n[12]}"


def id_nik(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng, 1960, 2004)
        day = b.day + rng.choice([0, 40])
        area = rng.choice(["317101", "327301", "357801", "517101"])
        return f"{area}{day:02d}{b:%m%y}{digits(rng, 4, '0')}"

    return until_valid("id.nik", make)


def my_nric(rng: random.Random) -> str:
    def make() -> str:
        b = birth_date(rng, 1960, 2004)
        return f"{b:%y%m%d}-{rng.choice(['14', '10', '08', '01'])}-{digits(rng, 4)}"

    return until_valid("my.nric", make)


def hr_oib(rng: random.Random) -> str:
    return until_valid("hr.oib", lambda: digits(rng, 11, "123456789"))


def unionpay(rng: random.Random) -> str:
    return luhn_number(rng, "62" + rng.choice(["2202", "2848", "1700", "1483"]), 19)


def mir_card(rng: random.Random) -> str:
    return luhn_number(rng, "220" + rng.choice("01234"), 16)


# --- look-alike numbers: public, product and document identifiers --------------------


def isbn13(rng: random.Random) -> str:
    from stdnum import isbn

    n = until_valid("isbn", lambda: "978" + rng.choice("0123") + digits(rng, 9))
    return isbn.format(n)


def isbn10(rng: random.Random) -> str:
    from stdnum import isbn

    n = until_valid("isbn", lambda: rng.choice("013") + digits(rng, 8) + rng.choice(DIGITS + "X"))
    return isbn.format(n)


def ean13(rng: random.Random, prefix: str = "40") -> str:
    from stdnum import ean

    body = prefix + digits(rng, 12 - len(prefix))
    return body + ean.calc_check_digit(body)


def isin(rng: random.Random, country: str = "US") -> str:
    from stdnum import isin as mod

    body = country + digits(rng, 9)
    return body + mod.calc_check_digit(body)


def company_id(rng: random.Random, module: str) -> str:
    """A valid public company/VAT number for the given stdnum module, formatted its way."""
    makers: dict[str, Callable[[], str]] = {
        "de.vat": lambda: "DE" + digits(rng, 9, "123456789"),
        "fr.siren": lambda: digits(rng, 9, "3456789"),
        "fr.siret": lambda: digits(rng, 14, "3456789"),
        "fr.tva": lambda: "FR" + digits(rng, 11),
        "es.cif": lambda: rng.choice("ABG") + digits(rng, 7) + rng.choice(DIGITS),
        "it.iva": lambda: digits(rng, 11, "01"),
        "br.cnpj": lambda: digits(rng, 8) + "0001" + digits(rng, 2),
        "nl.btw": lambda: "NL" + digits(rng, 9) + "B01",
        "pl.nip": lambda: digits(rng, 10, "5678"),
        "pl.regon": lambda: digits(rng, 9, "1234567"),
        "se.orgnr": lambda: "55" + digits(rng, 8),
        "cn.uscc": lambda: (
            "91"
            + rng.choice(["110", "310", "440"])
            + digits(rng, 3)
            + "MA"
            + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
        ),
        "jp.cn": lambda: digits(rng, 13, "123456789"),
        "kr.brn": lambda: digits(rng, 3, "123456789") + digits(rng, 2) + digits(rng, 5),
        "in_.gstin": lambda: (
            rng.choice(["27", "29", "07"])
            + "AAACR"
            + digits(rng, 4)
            + rng.choice(UPPER)
            + "1Z"
            + rng.choice(DIGITS + UPPER)
        ),
        "ru.inn": lambda: "77" + digits(rng, 8),
        "ru.ogrn": lambda: "10" + digits(rng, 11),
        "tr.vkn": lambda: digits(rng, 10, "123456789"),
        "gb.vat": lambda: "GB" + digits(rng, 9),
        "au.abn": lambda: digits(rng, 11, "123456789"),
        "ch.uid": lambda: "CHE" + digits(rng, 9),
        "at.uid": lambda: "ATU" + digits(rng, 8),
        "be.vat": lambda: "BE0" + digits(rng, 9, "4"),
        "us.ein": lambda: rng.choice(["12", "20", "45", "94"]) + digits(rng, 7),
        "dk.cvr": lambda: digits(rng, 8, "123456789"),
    }
    n = until_valid(module, makers[module])
    mod = importlib.import_module(f"stdnum.{module}")
    fmt = getattr(mod, "format", None)
    return fmt(n) if fmt else n


def ups_tracking(rng: random.Random) -> str:
    body = token(rng, 6, UPPER + DIGITS) + rng.choice(["01", "02", "03"]) + digits(rng, 7)
    total = 0
    for i, c in enumerate(body):
        v = int(c) if c.isdigit() else (ord(c) - 63) % 10
        total += v * (2 if i % 2 else 1)
    return "1Z" + body + str((10 - total % 10) % 10)


def nfe_key(rng: random.Random) -> str:
    body = f"35{rng.randrange(20, 27)}{rng.randrange(1, 13):02d}" + digits(rng, 14) + "55"
    body += f"{rng.randrange(1, 5):03d}{digits(rng, 9)}1{digits(rng, 8)}"
    weights = [2, 3, 4, 5, 6, 7, 8, 9]
    total = sum(int(d) * weights[i % 8] for i, d in enumerate(reversed(body)))
    check = 11 - total % 11
    return group(body + str(0 if check >= 10 else check), [4] * 11)


def ocr_reference(rng: random.Random) -> str:
    return luhn_number(rng, digits(rng, 3, "123456789"), rng.choice([10, 12, 16]))


def uuid4(rng: random.Random) -> str:
    import uuid

    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hexstr(rng: random.Random, n: int) -> str:
    return token(rng, n, "0123456789abcdef")
