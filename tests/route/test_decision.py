"""The one routing decision (route/decision.py): every hard constraint, then the order."""

from __future__ import annotations

import pytest

from modelyard.route.decision import (
    CONSTRAINTS,
    Candidate,
    Facts,
    Rules,
    decide,
    verdict_json,
)
from modelyard.route.language import LanguageRule, LanguageRules

LOCAL = Candidate("local", 0.0, 0.0, local=True, context_window=8_192, capabilities=())
API = Candidate("api", 1.0, 2.0, context_window=128_000, capabilities=("tools", "json_mode"))
BIG = Candidate("big", 10.0, 30.0, context_window=200_000, capabilities=("tools", "vision"))


@pytest.mark.parametrize(
    ("candidate", "facts", "reasons"),
    [
        (LOCAL, Facts(100), []),
        (API, Facts(100, private=("iban",)), ["private data must stay on a self-hosted backend"]),
        (LOCAL, Facts(100, private=("iban",)), []),
        (LOCAL, Facts(8_000, max_tokens=500), ["needs 8,500 tokens, context is 8,192"]),
        (LOCAL, Facts(7_000, max_tokens=1_192), []),  # exactly fills the window
        (LOCAL, Facts(100, needs=("tools",)), ["lacks tools"]),
        (API, Facts(100, needs=("tools", "vision")), ["lacks vision"]),
        (
            Candidate("mystery", capabilities=None),
            Facts(100, needs=("tools",)),
            ["lacks tools (capabilities unknown: set them in auto.candidates)"],
        ),
        (LOCAL, Facts(100, min_context=32_000), ["context below the policy's 32,000 tokens"]),
        (
            BIG,
            Facts(1_000, max_tokens=1_000, budget=0.01),
            ["estimated $0.040000 exceeds the remaining budget $0.010000"],
        ),
        (BIG, Facts(1_000, max_tokens=1_000, budget=0.04), []),
        (API, Facts(100, allowed=frozenset({"local"})), ["the key may not use it"]),
        (
            Candidate("gpl", local=True, barred=("license gpl-3.0 is not permissive",)),
            Facts(100),
            ["license gpl-3.0 is not permissive"],
        ),
        (  # every failure is reported, in CONSTRAINTS order
            Candidate("tiny", 5.0, 5.0, context_window=100, barred=("barred",)),
            Facts(200, private=("email",), needs=("tools",), budget=0.0, allowed=frozenset()),
            [
                "barred",
                "private data must stay on a self-hosted backend",
                "needs 456 tokens, context is 100",
                "lacks tools",
                "estimated $0.002280 exceeds the remaining budget $0.000000",
                "the key may not use it",
            ],
        ),
    ],
)
def test_each_constraint(candidate: Candidate, facts: Facts, reasons: list[str]) -> None:
    decision = decide(facts, [candidate])
    assert decision.excluded.get(candidate.name, []) == reasons
    assert decision.order == ([] if reasons else [candidate.name])


def test_language_allow_list_is_a_constraint() -> None:
    rules = Rules(languages=LanguageRules({"cjk": LanguageRule(allow=("big",))}))
    decision = decide(Facts(50, language="ja"), [LOCAL, BIG], rules)
    assert decision.excluded == {"local": ["language ja (cjk): not in its allow list"]}
    assert decision.order == ["big"] and decision.language == "ja"
    assert decide(Facts(50, language="fr"), [LOCAL, BIG], rules).order == ["local", "big"]


def test_no_rule_for_languages_reports_no_language() -> None:
    assert decide(Facts(50, language="fr"), [LOCAL]).language is None


def test_constraints_are_one_list() -> None:
    names = [c.__name__ for c in CONSTRAINTS]
    assert len(names) == len(set(names)) == 8


@pytest.mark.parametrize(
    ("facts", "rules", "order", "reason"),
    [
        (Facts(10), Rules(), ["local", "api", "big"], "cheapest allowed"),
        (Facts(10, pinned="big"), Rules(), ["big", "local", "api"], "pinned to session"),
        (Facts(10, pinned="gone"), Rules(), ["local", "api", "big"], "cheapest allowed"),
        (
            Facts(10, quality={"local": 0.5, "api": 0.85, "big": 0.9}),
            Rules(threshold=0.1),
            ["api", "local", "big"],
            "router, cheapest within 0.100 of best",
        ),
        (
            Facts(10, quality={"local": 0.85, "api": 0.1, "big": 0.9}),
            Rules(threshold=0.1),
            ["local", "api", "big"],
            "router, cheapest within 0.100 of best",
        ),
        (  # threshold 0: only the best
            Facts(10, quality={"local": 0.85, "api": 0.8, "big": 0.9}),
            Rules(threshold=0.0),
            ["big", "local", "api"],
            "router, cheapest within 0.000 of best",
        ),
        (  # the cascade asks the cheapest first, whatever the predictions
            Facts(10, quality={"local": 0.1, "api": 0.1, "big": 0.9}),
            Rules(threshold=0.0, cascade=True),
            ["local", "api", "big"],
            "cascade, cheapest first",
        ),
        (
            Facts(10, private=("card",)),
            Rules(),
            ["local"],
            "private data, self-hosted only; cheapest allowed",
        ),
        (
            Facts(10, private=("key",)),
            Rules(),
            ["local"],
            "key is private, self-hosted only; cheapest allowed",
        ),
    ],
)
def test_order_and_reason(facts: Facts, rules: Rules, order: list[str], reason: str) -> None:
    decision = decide(facts, [BIG, API, LOCAL], rules)
    assert decision.order == order and decision.reason == reason
    assert decision.model == order[0]


def test_equal_prices_keep_the_given_order() -> None:
    twins = [Candidate("b", 1.0, 1.0), Candidate("a", 1.0, 1.0), Candidate("c", 0.5, 0.5)]
    assert decide(Facts(10), twins).order == ["c", "b", "a"]


def test_language_preference_only_among_good_enough() -> None:
    rules = Rules(0.1, LanguageRules({"european": LanguageRule(prefer=("big",))}))
    good = {"local": 0.8, "api": 0.8, "big": 0.85}
    picked = decide(Facts(10, language="fr", quality=good), [LOCAL, API, BIG], rules)
    assert picked.order[0] == "big"
    assert (
        picked.reason == "router, cheapest within 0.100 of best; language fr (european): prefer big"
    )
    poor = {"local": 0.9, "api": 0.9, "big": 0.5}
    kept = decide(Facts(10, language="fr", quality=poor), [LOCAL, API, BIG], rules)
    assert kept.order[0] == "local" and "prefer" not in kept.reason
    plain = decide(Facts(10, language="fr"), [LOCAL, API, BIG], rules)
    assert plain.order[0] == "big" and plain.reason == "language fr (european): prefer big"


def test_a_single_allowed_candidate_needs_no_router() -> None:
    decision = decide(Facts(10, quality={"local": 0.1, "big": 0.9}, private=("ssn",)), [LOCAL, BIG],
                      Rules(threshold=0.05))  # fmt: skip
    assert decision.order == ["local"]
    assert decision.reason == "private data, self-hosted only; cheapest allowed"
    assert decision.estimates == {"local": {"cost_usd": 0.0, "quality": 0.1}}


def test_everyone_excluded() -> None:
    decision = decide(Facts(100, private=("email",)), [API, BIG])
    assert decision.order == [] and decision.model is None and decision.reason == ""
    assert decision.why_none() == (
        "api: private data must stay on a self-hosted backend; "
        "big: private data must stay on a self-hosted backend"
    )


def test_estimates_and_the_ledger_verdict() -> None:
    facts = Facts(1_000, max_tokens=100, needs=("tools",), quality={"api": 0.7, "big": 0.93})
    decision = decide(facts, [API, BIG, LOCAL], Rules(threshold=0.2))
    assert decision.estimates["api"] == {"cost_usd": pytest.approx(0.0012), "quality": 0.7}
    assert decision.estimates["big"]["cost_usd"] == pytest.approx(0.013)
    assert decision.excluded == {"local": ["lacks tools"]}
    verdict = verdict_json(decision, facts, "wordpiece")
    assert verdict["chosen"] == "big" and verdict["needs"] == ["tools"]
    assert verdict["prompt_tokens"] == 1_000 and verdict["token_count"] == "wordpiece"
    assert verdict["reason"] == decision.reason and verdict["excluded"] == decision.excluded
    empty = verdict_json(decide(Facts(1, private=("x",)), [API]), Facts(1), "estimate")
    assert empty["chosen"] is None


def test_cost_is_per_request() -> None:
    assert BIG.cost(1_000_000, 1_000_000) == pytest.approx(40.0)
    assert LOCAL.cost(10**9, 10**9) == 0.0


def test_decide_is_pure() -> None:
    facts = Facts(10, quality={"local": 0.5, "api": 0.9, "big": 0.9})
    candidates = [BIG, API, LOCAL]
    first = decide(facts, candidates, Rules(0.05))
    again = decide(facts, candidates, Rules(0.05))
    assert first == again and candidates == [BIG, API, LOCAL]


def test_of_equally_cheap_candidates_the_best_predicted_goes_first() -> None:
    free = [Candidate(n, local=True) for n in ("smol", "qwen", "llama")]
    predicted = {"smol": 0.3, "qwen": 0.8, "llama": 0.6, "big": 0.9}
    decision = decide(Facts(10, quality=predicted), [*free, BIG], Rules(threshold=0.5))
    assert decision.order == ["qwen", "llama", "smol", "big"]
    # and the calibrated rule does the same row by row
    import numpy as np

    from modelyard.route.calibrate import choose

    picks = choose(np.array([[0.3, 0.8, 0.6, 0.9]]), np.array([[0.0, 0.0, 0.0, 1.0]]), 0.5)
    assert picks.tolist() == [1]
