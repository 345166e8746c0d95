"""Policies exclude what they should and say why."""

from __future__ import annotations

import pytest

from modelyard.catalog import load_catalog
from modelyard.errors import PolicyError
from modelyard.policy import Policy, evaluate, parse_languages, parse_tokens

CATALOG = load_catalog()


def test_parse_tokens() -> None:
    assert parse_tokens("32k") == 32768
    assert parse_tokens("1M") == 1048576
    assert parse_tokens("20000") == 20000
    with pytest.raises(PolicyError, match="not a token count"):
        parse_tokens("lots")


def test_parse_languages_rejects_names() -> None:
    assert parse_languages("fr, de") == ("fr", "de")
    with pytest.raises(PolicyError, match="ISO 639"):
        parse_languages("french")


def test_unknown_policy_values_are_errors() -> None:
    with pytest.raises(PolicyError, match="license policy 'free'"):
        Policy(license="free")  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="unknown capability 'telepathy'"):
        Policy(capabilities=("telepathy",))


def test_llama_mau_cap_excludes_large_platforms() -> None:
    llama = CATALOG.models["llama-3.1-8b-instruct"]
    assert evaluate(llama, Policy(license="commercial"), CATALOG).allowed
    verdict = evaluate(llama, Policy(license="commercial", monthly_active_users=10**9), CATALOG)
    assert not verdict.allowed
    assert any("700,000,000" in r for r in verdict.reasons)
    permissive = evaluate(llama, Policy(license="permissive"), CATALOG)
    assert any("monthly active users" in r for r in permissive.reasons)


def test_context_and_capability_reasons() -> None:
    llama = CATALOG.models["llama-3.1-8b-instruct"]
    verdict = evaluate(llama, Policy(min_context=1_000_000, capabilities=("vision",)), CATALOG)
    assert "context 131,072 < 1,000,000 tokens" in verdict.reasons
    assert "lacks vision" in verdict.reasons
