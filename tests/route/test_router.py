"""Training, the router file and per-request decisions, on a subsample of the real labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelyard.policy import Policy
from modelyard.route import Candidate, NoCandidateError, Router, RouterFileError, TrainSpec, train
from modelyard.route.artifact import load
from modelyard.route.features import Featurizer

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"
ASK = [{"role": "user", "content": "Natalia sold clips to 48 of her friends. How many in all?"}]


@pytest.fixture(scope="module")
def router_file(
    shared_data: Path, featurizer: Featurizer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    spec = TrainSpec(shared_data / "routellm" / "gsm8k.jsonl", (WEAK, STRONG), limit=300)
    out = tmp_path_factory.mktemp("router") / "router.json"
    train(spec, out, featurizer)
    return out


def test_router_file_is_small_and_records_provenance(router_file: Path, shared_data: Path) -> None:
    import hashlib

    body = json.loads(router_file.read_text())
    assert router_file.stat().st_size < 100_000
    assert body["version"] == 5 and body["candidates"] == [WEAK, STRONG]
    data = (shared_data / "routellm" / "gsm8k.jsonl").read_bytes()
    assert body["data_sha256"] == hashlib.sha256(data).hexdigest()
    assert 0.0 <= body["threshold"] <= 1.0


def test_wrong_version_fails_loudly(router_file: Path, tmp_path: Path) -> None:
    body = json.loads(router_file.read_text())
    body["version"] = 99
    other = tmp_path / "old.json"
    other.write_text(json.dumps(body))
    with pytest.raises(RouterFileError, match="version 99"):
        load(other)


def test_untrained_backend_fails_loudly(router_file: Path, featurizer: Featurizer) -> None:
    with pytest.raises(RouterFileError, match="not for claude"):
        Router.load(router_file, candidates=[WEAK, "claude"])
    router = Router(load(router_file), featurizer)
    with pytest.raises(RouterFileError):
        router.decide(ASK, [Candidate("claude")])


def test_decision_names_a_model_and_why(router_file: Path, featurizer: Featurizer) -> None:
    router = Router(load(router_file), featurizer)
    cands = [Candidate(WEAK, local=True), Candidate(STRONG, 10.0, 30.0)]
    decision = router.decide(ASK, cands)
    assert decision.model in (WEAK, STRONG)
    assert set(decision.estimates) == {WEAK, STRONG}
    assert decision.reason.startswith("router, cheapest within ")
    assert decision.reason.endswith(" of best") and decision.order[0] == decision.model
    assert all(0 < e["quality"] < 1 and e["cost_usd"] >= 0 for e in decision.estimates.values())


def test_private_prompt_stays_local(router_file: Path, featurizer: Featurizer) -> None:
    router = Router(load(router_file), featurizer)
    cands = [Candidate(WEAK, local=True), Candidate(STRONG, 10.0, 30.0)]
    secret = [{"role": "user", "content": "Prove Fermat's last theorem. Mail me: a.b@corpmail.de"}]
    decision = router.decide(secret, cands)
    assert decision.model == WEAK and decision.private == ["email"]
    assert "self-hosted" in decision.excluded[STRONG][0]
    with pytest.raises(NoCandidateError, match="self-hosted"):
        router.decide(secret, [Candidate(STRONG, 10.0, 30.0)])


def test_hard_constraints_exclude(router_file: Path, featurizer: Featurizer) -> None:
    router = Router(load(router_file), featurizer)
    cands = [Candidate(WEAK, local=True, context_window=64), Candidate(STRONG, 10.0, 30.0)]
    decision = router.decide(ASK, cands, max_tokens=100)
    assert decision.model == STRONG and "context" in decision.excluded[WEAK][0]
    with pytest.raises(NoCandidateError, match="budget"):
        router.decide(ASK, [Candidate(STRONG, 10.0, 30.0)], budget=1e-9)
    with pytest.raises(NoCandidateError, match="lacks tools"):
        router.decide(ASK, [Candidate(STRONG, 10.0, 30.0)], policy=Policy(capabilities=("tools",)))


def test_long_prompt_is_counted_past_the_embedding_window(
    router_file: Path, featurizer: Featurizer
) -> None:
    router = Router(load(router_file), featurizer)
    long_ask = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "why " * 900},
    ]
    cands = [Candidate(WEAK, local=True, context_window=950), Candidate(STRONG, 10.0, 30.0)]
    decision = router.decide(long_ask, cands, max_tokens=50)
    # 900 word pieces + 3 for the system prompt + 2 × 4 template tokens + 50 to answer
    assert decision.model == STRONG and "needs 961 tokens" in decision.excluded[WEAK][0]


def test_assess_predicts_every_candidate_and_counts_every_message(
    router_file: Path, featurizer: Featurizer
) -> None:
    router = Router(load(router_file), featurizer)
    messages = [
        {"role": "system", "content": "You are a patient maths tutor."},
        {"role": "user", "content": "What is 3 + 4?"},
        {"role": "assistant", "content": "7"},
        {"role": "user", "content": ASK[0]["content"]},
    ]
    texts = [m["content"] for m in messages]
    assessment = router.assess(messages, texts)
    assert set(assessment.quality) == {WEAK, STRONG}
    assert all(0 < q < 1 for q in assessment.quality.values())
    pieces = sum(len(featurizer.embedder.token_ids(t)) for t in texts)
    assert assessment.tokens == pieces + 4 * len(messages)
    # the scored turn is the last user message: the same prediction as for it alone
    alone = router.assess([messages[-1]], [texts[-1]])
    assert alone.quality == pytest.approx(router.assess(messages[2:], texts[2:]).quality)


def test_private_kinds_given_are_not_rescanned(router_file: Path, featurizer: Featurizer) -> None:
    router = Router(load(router_file), featurizer)
    cands = [Candidate(WEAK, local=True), Candidate(STRONG, 10.0, 30.0)]
    mail = [{"role": "user", "content": "Mail the answer to a.b@corp-mail.de"}]
    assert router.decide(mail, cands).private == ["email"]
    assert router.decide(mail, cands, private=()).private == []  # the caller scanned: nothing
    assert router.decide(ASK, cands, private=("declared",)).model == WEAK


def test_rules_carry_the_threshold(router_file: Path, featurizer: Featurizer) -> None:
    router = Router(load(router_file), featurizer)
    rules = router.rules()
    assert rules.threshold == router.artifact.threshold and rules.languages is None
    assert router.predict(ASK[0]["content"]).shape == (2,)
