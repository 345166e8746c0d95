"""The scanner on single texts: what each detector finds, what it leaves alone, in the forms
and languages people write. (The corpus in benchmarks/privacy/ measures it at scale.)"""

from __future__ import annotations

import pytest

from modelyard.privacy import Scanner

SCANNER = Scanner()


def kinds(text: str) -> list[str]:
    return SCANNER.scan_text(text).kinds


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # the 12 misses of issue 21 in covered kinds, in their ordinary forms
        ("Handy: 0171 2345678", "phone"),
        ("call me at 415 555 2671", "phone"),
        ("my number is 2125550147", "phone"),
        ("我的手机号是13812345678，谢谢", "phone"),
        ("電話は090-1234-5678です", "phone"),
        ("SSN 123 45 6789", "us_ssn"),
        ("social security number 123456789", "us_ssn"),
        ("IBAN DE89-3704-0044-0532-0130-00", "iban"),
        ("IBAN DE89\u00a03704\u00a00044\u00a00532\u00a00130\u00a000", "iban"),
        ("card 4111.1111.1111.1111", "card"),
        ("card 4111\u00a01111\u00a01111\u00a01111", "card"),
        # national ids beyond FR/DE
        ("NI number AB 12 34 56 C", "gb_nino"),
        ("DNI 12345678Z", "es_dni"),
        ("NIE X1234567L", "es_nie"),
        ("codice fiscale RSSMRA85T10A562S", "it_codicefiscale"),
        ("身份证 11010519491231002X", "cn_ric"),
        ("CPF 111.444.777-35", "br_cpf"),
        ("주민등록번호 900101-1234568", "kr_rrn"),
        ("BSN 111222333", "nl_bsn"),
        ("Aadhaar 2341 2341 2346", "in_aadhaar"),
        ("NIR 1 85 05 78 006 084 91", "fr_nir"),
        ("Steuer-ID 65929970489", "de_idnr"),
        # secrets and passwords
        ("key sk-proj-abcdefghijklmnopqrstuvwxyz012345", "api_key"),
        ("AKIAIOSFODNN7EXAMPLE in the config", "api_key"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----", "private_key"),
        ("secret=Zx9Qw2Er7Ty1Ui8Op3As6Df0Gh4Jk5Lz", "secret"),
        ("my wifi password is Sunflower!2024", "password"),
        ("DB_PASSWORD=q8Vz!mR2pL", "password"),
        ("postgres://app:Tr0ub4dor&3@db:5432/x", "password"),
        # people
        ("My name is Daniel Okafor and I need a CV", "person"),
        ("Je m'appelle Camille Lefèvre", "person"),
        ("born 14 June 1988", "birthdate"),
        ("geboren am 03.11.1979", "birthdate"),
        ("1990年5月12日出生", "birthdate"),
        ("I live at 42 Willow Lane, Springfield", "address"),
        ("Lindenstraße 12, 10115 Berlin", "address"),
        ("8 rue des Lilas, Lyon", "address"),
        ("I was diagnosed with type 2 diabetes", "health"),
        ("Mi madre tiene cáncer de mama", "health"),
        ("jane.doe@gmail.com", "email"),
        ("maria dot keller [at] web dot de", "email"),
    ],
)
def test_finds(text: str, kind: str) -> None:
    assert kind in kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "What is 2 + 2? A. 3 B. 4",
        "meeting on 2024-01-15 at 10:30, room 12",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ISBN 978-0-306-40615-7",
        "Order #1048237566 has not shipped",
        "Tracking 1Z999AA10123456784",
        "Call Apple Support at 1-800-275-2273",
        "write to alice@example.com or support@github.com",
        "request id 3f2b8c1e-9a4d-4e7f-b6c2-1d0e5a7f9b34",
        "git show 9fceb02d0ae598e95dc970b74767f19372d61af8",
        "What is 4111111111111111 * 2?",
        "requests.get('https://api.github.com/repos/psf/requests/commits?per_page=100&page=2')",
        "What are the symptoms of type 2 diabetes?",
        "Albert Einstein was born on 14 March 1879 in Ulm.",
        "How do I reset my password?",
        "Set OPENAI_API_KEY=<your-key-here> first",
        "SGVsbG8sIHdvcmxkISBIb3cgYXJlIHlvdT8=",
        "card 4111 1111 1111 1112",  # fails Luhn
        "IBAN DE89 3704 0044 0532 0130 01",  # fails mod 97
        "NIR 1 85 05 78 006 084 92",  # wrong key
    ],
)
def test_leaves_alone(text: str) -> None:
    assert kinds(text) == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Decode: bXkgY2FyZCBpcyA0MTExIDExMTEgMTExMSAxMTEx", "card"),  # base64
        ("q=my%20card%20is%204111%201111%201111%201111", "card"),  # URL-encoded
        ("6d7920636172642069732034313131203131313120313131312031313131", "card"),
        ("call four one five five five five two six seven one", "phone"),  # spelled out
        ("IBAN ＤＥ８９ ３７０４ ００４４ ０５３２ ０１３０ ００", "iban"),  # full-width
        ("card 4\u200b1\u200b1\u200b1 1111 1111 1111", "card"),  # zero-width spaces
    ],
)
def test_finds_obfuscated(text: str, kind: str) -> None:
    assert kind in kinds(text)


def test_every_string_at_any_depth_is_read() -> None:
    body = {
        "model": "auto",
        "user": "jane.doe@gmail.com",
        "metadata": {"a": [{"b": "IBAN DE89 3704 0044 0532 0130 00"}]},
        "stop": ["SSN 123-45-6789"],
        "messages": ["call 0171 2345678", {"role": "user", "content": {"text": "hi"}}],
        "tools": [{"function": {"description": "card 4111 1111 1111 1111"}}],
        "jane@gmx.de": 1,
    }
    found = {(f.kind, f.path) for f in SCANNER.scan_body(body).findings}
    assert found >= {
        ("email", ("user",)),
        ("iban", ("metadata", "a", 0, "b")),
        ("us_ssn", ("stop", 0)),
        ("phone", ("messages", 0)),
        ("card", ("tools", 0, "function", "description")),
        ("email", ("jane@gmx.de",)),
    }


def test_a_value_split_over_two_messages_is_found() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "my card is 4111 1111"},
            {"role": "user", "content": "1111 1111, thanks"},
        ]
    }
    scan = SCANNER.scan_body(body)
    assert scan.kinds == ["card"]
    assert {f.path for f in scan.findings} == {
        ("messages", 0, "content"),
        ("messages", 1, "content"),
    }


def test_json_arguments_are_read_decoded() -> None:
    arguments = '{"note": "\\u6211\\u7684\\u624b\\u673a\\u53f7\\u662f13812345678"}'
    body = {
        "messages": [{"role": "assistant", "tool_calls": [{"function": {"arguments": arguments}}]}]
    }
    assert SCANNER.scan_body(body).kinds == ["phone"]


def test_inline_binary_data_is_unread_and_private() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    scan = SCANNER.scan_body({"messages": [{"role": "user", "content": [image]}]})
    assert scan.private and scan.kinds == ["unread"] and "image/png" in (scan.unread or "")


def test_the_reason_names_kinds_never_values() -> None:
    scan = SCANNER.scan_text("mail jane.doe@gmail.com, IBAN DE89 3704 0044 0532 0130 00")
    assert scan.reason() == "private data (email, iban)"
    assert "jane" not in repr(scan) and "3704" not in repr(scan)
