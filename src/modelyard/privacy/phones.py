"""Phone numbers: Google's libphonenumber (the ``phonenumbers`` port) decides what is a valid
number of which country, on the runs of digits ``identifiers.runs`` finds.

An international number (``+…`` or ``00…``) counts when valid. A national one (no country
code) counts when valid in a likely country and either named (a phone word nearby: "call",
"Handy", "téléphone", "电话"…), written in a phone's own shape (a trunk ``0`` and groups, or
North American ``(415) 555-2671``), or written inside Chinese, Japanese or Korean text. A
business's number is not private: toll-free, premium, shared-cost and universal-access numbers,
and numbers next to "hotline", "customer service" and the like, are skipped.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from modelyard.privacy import cues
from modelyard.privacy.findings import Finding
from modelyard.privacy.identifiers import Run, arithmetic, digit_span

CONTEXT = 40
MAX_GROUPS = 7
PUBLIC_TYPES = {
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.UAN,
}
REGIONS = (
    "US",
    "GB",
    "DE",
    "FR",
    "ES",
    "IT",
    "NL",
    "BR",
    "PT",
    "PL",
    "SE",
    "IN",
    "RU",
    "CA",
    "AU",
    "MX",
    "BE",
    "CH",
    "AT",
    "IE",
    "DK",
    "NO",
    "FI",
    "TR",
    "AR",
    "CO",
)
"""Countries tried, in this order, for a number written without its country code."""
SCRIPT_REGIONS = {"hangul": ("KR",), "kana": ("JP",), "han": ("CN", "TW", "HK", "JP")}
NANP = re.compile(r"\(?\d{3}\)?[ .\-]\d{3}[ .\-]\d{4}")
DATE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-](?:\d{2}|\d{4})|\d{4}[./-]\d{1,2}[./-]\d{1,2}")
TRUNK = re.compile(r"\(?0\d{1,5}\)?(?:[ .\-/]\d{2,8}){1,4}")


def find(
    text: str, all_runs: list[Run], taken: list[Finding], tick: Callable[[], None]
) -> list[Finding]:
    """Phone numbers in ``text``'s runs, outside the runs where something was already found
    (``tick`` is called for every run: it raises when the scan's time is up)."""
    starts = sorted(f.start for f in taken)
    found: list[Finding] = []
    for run in all_runs:
        tick()
        i = bisect.bisect_left(starts, run.start)
        if i < len(starts) and starts[i] < run.end:
            continue
        found.extend(_in_run(text, run))
    return found


def _in_run(text: str, run: Run) -> Iterator[Finding]:
    """A phone number beginning the run's numbers (a number cut out of the middle of a longer
    one is chance)."""
    groups = run.groups
    first, _ = digit_span(groups)
    end = _longest_at(text, run, first)
    if end is not None:
        yield Finding("phone", _start(text, groups[first][1]), groups[end - 1][2])


def _start(text: str, at: int) -> int:
    """Where a number beginning with the group at ``at`` begins, with its ``+`` or ``(``."""
    while at > 0 and text[at - 1] in "+(":
        at -= 1
    return at


def _longest_at(text: str, run: Run, i: int) -> int | None:
    groups = run.groups
    digits = 0
    windows = []
    for j in range(i, min(len(groups), i + MAX_GROUPS)):
        if not groups[j][0].isdigit():
            break
        digits += len(groups[j][0])
        if digits > 15:
            break
        if digits >= 7:
            windows.append(j + 1)
    for j in reversed(windows):
        start, end = _start(text, groups[i][1]), groups[j - 1][2]
        if _is_phone(text, start, end):
            return j
    return None


def _is_phone(text: str, start: int, end: int) -> bool:
    written = text[start:end]
    if (
        DATE.fullmatch(written)
        or arithmetic(text, start, end)
        or cues.near("reference", text, start, end, CONTEXT // 2)
    ):
        return False
    if cues.near("public", text, start, end, 2 * CONTEXT, CONTEXT // 2):
        return False
    if written.startswith(("+", "00")):
        return _personal(_parse(written, None))
    return _national(text, start, end, written)


def _personal(number: phonenumbers.PhoneNumber | None) -> bool:
    """A valid number of a kind a person has (not toll-free, premium, shared-cost...)."""
    return number is not None and phonenumbers.number_type(number) not in PUBLIC_TYPES


def _national(text: str, start: int, end: int, written: str) -> bool:
    """A national number, personal in one of the countries it may be from."""
    script = _script(text, start, end)
    if sum(c.isdigit() for c in written) < 9 and not written.lstrip("(").startswith("0"):
        return False  # shorter numbers without a trunk prefix are local extensions, or not phones
    shaped = NANP.fullmatch(written) or TRUNK.fullmatch(written)
    if not (script or shaped or cues.near("phone", text, start, end, CONTEXT, 8)):
        return False
    regions = SCRIPT_REGIONS[script] if script else REGIONS
    if NANP.fullmatch(written) and not script:
        regions = ("US", "CA")
    return any(_personal(_parse(written, region)) for region in regions)


def _parse(written: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(written, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _script(text: str, start: int, end: int) -> str | None:
    """The CJK script written right around a number, if any (it says which country)."""
    around = text[max(0, start - 12) : start] + text[end : end + 12]
    if any("\uac00" <= c <= "\ud7af" for c in around):
        return "hangul"
    if any("\u3040" <= c <= "\u30ff" for c in around):
        return "kana"
    if any("\u4e00" <= c <= "\u9fff" for c in around):
        return "han"
    return None
