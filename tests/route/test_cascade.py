"""The cascade's reply scorer on RouteLLM's GSM8K replies: joined, trained, calibrated, saved."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from modelyard.route import EvalSpec, TrainSpec, evaluate, train
from modelyard.route.artifact import load
from modelyard.route.calibrate import Target
from modelyard.route.cascade import ALWAYS, NEVER, calibrate, outcome
from modelyard.route.datasets import LabelError, join_replies, read_labels
from modelyard.route.features import Featurizer
from modelyard.route.report import render
from tests.route.conftest import MODEL_CACHE

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"


@pytest.fixture(scope="module")
def gsm8k(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = shared_data / "routellm"
    out = tmp_path_factory.mktemp("cascade") / "gsm8k.jsonl"
    return join_replies(root / "gsm8k.jsonl", root / "raw" / "gsm8k_responses.csv", out)


def test_replies_are_joined_by_row(gsm8k: Path) -> None:
    labels = read_labels(gsm8k)
    assert set(labels.responses) == {STRONG, WEAK} and len(labels.responses[WEAK]) == 1307
    assert labels.prompts[0].user.startswith("James decides to run 3 sprints")
    assert labels.responses[WEAK][0].rstrip().endswith("540 meters.\n#### 540")
    picked = labels.select_models([WEAK]).subset(np.array([5, 2]))
    assert picked.responses == {WEAK: [labels.responses[WEAK][5], labels.responses[WEAK][2]]}


def test_a_reply_for_another_prompt_is_refused(shared_data: Path, tmp_path: Path) -> None:
    rows = (shared_data / "routellm" / "gsm8k.jsonl").read_text().splitlines()
    shifted = json.loads(rows[1]) | {"id": "gsm8k.test.0"}
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps(shifted) + "\n")
    raw = shared_data / "routellm" / "raw" / "gsm8k_responses.csv"
    with pytest.raises(LabelError, match=r"labels\.jsonl:1: no row of .*gsm8k_responses\.csv"):
        join_replies(labels, raw, tmp_path / "out.jsonl")


def test_responses_must_be_an_object(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "p", "labels": {"a": 1}}\n{"prompt": "q", "labels": {"a": 0}, '
                    '"responses": "text"}\n')  # fmt: skip
    with pytest.raises(LabelError, match=r"bad\.jsonl:2: responses: must be an object"):
        read_labels(path)


def test_calibration_escalates_the_doubted_replies_first() -> None:
    cheap = np.array([1, 1, 1, 0, 0, 1, 1, 1, 0, 1], float)
    dear = np.ones(10)
    costs = np.tile([0.0, 1.0], (10, 1))
    right = np.where(cheap == 1, 0.9, 0.2)  # a scorer that tells them apart
    threshold = calibrate(right, cheap, dear, costs, Target("quality", 0.95))
    assert 0.2 < threshold <= 0.9
    assert outcome(right, threshold, cheap, dear, costs) == pytest.approx(
        outcome(right, 0.5, cheap, dear, costs)
    )
    assert outcome(right, threshold, cheap, dear, costs).cost == pytest.approx(0.3)
    assert calibrate(right, cheap, cheap, costs, Target("quality", 1.2)) == ALWAYS
    assert calibrate(right, cheap, dear, costs, Target("cost", 0.0)) == NEVER
    assert calibrate(right, cheap, dear, costs, Target("cost", 300.0)) > 0.2  # 0.3 per request


def test_trained_scorer_tells_right_from_wrong_on_held_out_replies(gsm8k: Path) -> None:
    from modelyard.route import cascade

    labels = read_labels(gsm8k).select_models([WEAK, STRONG])
    train_rows, test_rows = np.arange(0, 900), np.arange(900, len(labels))
    y = labels.scores
    replies = labels.responses[WEAK]
    costs = np.tile([0.0, 1.0], (len(labels), 1))
    seen = [replies[i] for i in train_rows]
    target = Target("quality", 0.95)
    scorer = cascade.train(
        WEAK, seen, y[train_rows, 0], y[train_rows, 1], costs[train_rows], target
    )
    right = scorer.probabilities(cascade.features([replies[i] for i in test_rows]))
    by_doubt = y[test_rows, 0][np.argsort(right)]  # the cheap model's labels, most doubted first
    assert by_doubt[:100].mean() < 0.35 and by_doubt[-100:].mean() > 0.8
    point = outcome(right, scorer.threshold, y[test_rows, 0], y[test_rows, 1], costs[test_rows])
    assert point.cost < 0.6 and point.quality > 0.9 * y[test_rows, 1].mean()


def test_router_file_keeps_the_scorer(
    gsm8k: Path, tmp_path: Path, featurizer: Featurizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YARD_MODEL_CACHE", str(MODEL_CACHE))  # the featurizer fixture's cache
    spec = TrainSpec(gsm8k, (WEAK, STRONG), limit=300)
    art = train(spec, tmp_path / "router.json")
    again = load(tmp_path / "router.json", candidates=[WEAK, STRONG])
    (scorer,) = again.cascade
    assert scorer.candidate == WEAK and scorer.threshold == pytest.approx(art.cascade[0].threshold)
    text = read_labels(gsm8k).responses[WEAK][0]
    assert scorer.probability(text) == pytest.approx(art.cascade[0].probability(text), abs=1e-5)
    assert again.scorer(STRONG) is None


def test_cross_validation_scores_the_cascade(gsm8k: Path, featurizer: Featurizer) -> None:
    spec = TrainSpec(gsm8k, (WEAK, STRONG), limit=600)
    result = evaluate(EvalSpec(spec, folds=3), featurizer=featurizer)
    (split,) = result.splits
    cascade = split["methods"]["cascade"]["figures"]
    router = split["methods"]["router"]["figures"]
    assert 0 < cascade["q95_cost"]["value"] < 1
    # the reply tells more than the prompt: more quality for each GPT-4 call, over every budget
    assert cascade["auc"]["value"] > router["auc"]["value"]
    assert len(result.curves["cascade"]) == len(result.curves["router"])
    assert "its cost counts the cheap call" in render(result)


def test_a_scorer_for_other_reply_features_is_refused() -> None:
    from modelyard.route import cascade

    x = np.random.default_rng(0).normal(size=(40, len(cascade.REPLY_FEATURES)))
    scorer = cascade.fit("cheap", x, (x[:, 0] > 0).astype(float))
    raw = scorer.to_dict()
    again = cascade.ReplyScorer.from_dict(raw)
    np.testing.assert_allclose(again.probabilities(x), scorer.probabilities(x), atol=1e-5)
    with pytest.raises(ValueError, match="reply features"):
        cascade.ReplyScorer.from_dict({**raw, "features": ["length"]})


def test_a_constant_feature_does_not_break_the_scorer() -> None:
    from modelyard.route import cascade

    x = np.zeros((30, len(cascade.REPLY_FEATURES)))
    x[:, 1] = np.arange(30)
    scorer = cascade.fit("cheap", x, (np.arange(30) > 15).astype(float))
    assert np.isfinite(scorer.probabilities(x)).all() and (scorer.scale > 0).all()
