"""The private-data detector: valid checksums are found, invalid ones are not."""

from __future__ import annotations

import pytest

from modelyard.route.privacy import iban_ok, insee_ok, luhn_ok, private_kinds, steuer_id_ok


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("write to jane.doe+x@example.co.uk please", "email"),
        ("call me at +33 6 12 34 56 78", "phone"),
        ("IBAN DE89 3704 0044 0532 0130 00", "iban"),
        ("GB82WEST12345698765432", "iban"),
        ("card 4111 1111 1111 1111 exp 12/29", "card"),
        ("my SSN is 123-45-6789", "us_ssn"),
        ("NIR 1 85 05 78 006 084 91", "fr_insee"),
        ("Steuer-ID 65929970489", "de_steuer_id"),
        ("key sk-proj-abcdefghijklmnopqrstuvwxyz012345", "api_key"),
        ("AKIAIOSFODNN7EXAMPLE", "api_key"),
        ("token ghp_" + "a1B2c3D4e5" * 4, "api_key"),
        ("-----BEGIN RSA PRIVATE KEY-----", "private_key"),
        ("secret=Zx9Qw2Er7Ty1Ui8Op3As6Df0Gh4Jk5Lz", "secret"),
    ],
)
def test_finds(text: str, kind: str) -> None:
    assert kind in private_kinds(text)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("What is 2 + 2? A. 3 B. 4", None),
        ("meeting on 2024-01-15 at 10:30, room 12", None),
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", None),
        ("card 4111 1111 1111 1112", "card"),  # Luhn fails
        ("IBAN DE89 3704 0044 0532 0130 01", "iban"),  # mod-97 fails
        ("SSN 000-12-3456", "us_ssn"),  # reserved area
        ("NIR 1 85 05 78 006 084 92", "fr_insee"),  # wrong key
        ("Steuer-ID 65929970488", "de_steuer_id"),  # wrong check digit
    ],
)
def test_ignores(text: str, kind: str | None) -> None:
    kinds = private_kinds(text)
    assert kind not in kinds if kind else kinds == []


def test_checksums_directly() -> None:
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")
    assert iban_ok("FR1420041010050500013M02606") and not iban_ok("FR1420041010050500013M02607")
    assert insee_ok("2 55 08 2A 004 001 29") or not insee_ok("2 55 08 2A 004 001 28")
    assert steuer_id_ok("86095742719") and not steuer_id_ok("86095742718")
