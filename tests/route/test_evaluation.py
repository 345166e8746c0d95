"""Cross-validation on a subsample: every method gets per-fold numbers; the report renders."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelyard.route import TrainSpec, evaluate
from modelyard.route.datasets import read_labels
from modelyard.route.features import Featurizer
from modelyard.route.report import render

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"


def test_contaminated_rows_are_dropped(shared_data: Path) -> None:
    labels = read_labels(shared_data / "routellm" / "gsm8k.jsonl")
    assert len(labels) == 1307
    assert np.allclose(labels.select_models([STRONG]).scores.mean(), 0.8577, atol=1e-4)


def test_two_model_eval(shared_data: Path, featurizer: Featurizer) -> None:
    spec = TrainSpec(shared_data / "routellm" / "gsm8k.jsonl", (WEAK, STRONG), limit=400)
    result = evaluate(spec, folds=3, featurizer=featurizer)
    assert set(result.folds) >= {"router", "length", "knn", "tfidf-lr", "random", "oracle"}
    assert len(result.folds["router"]) == 3
    assert abs(result.spread["random"]["apgr"]["mean"] - 0.5) < 1e-9
    assert result.spread["oracle"]["apgr"]["mean"] > result.spread["router"]["apgr"]["mean"]
    assert "<svg" in render(result)
    assert "cascade" not in result.folds and result.notes == []  # no replies in this file


def test_many_model_eval_with_prices(shared_data: Path, featurizer: Featurizer) -> None:
    root = shared_data / "llmrouter"
    spec = TrainSpec(root / "train.jsonl", prices=root / "default_llm.json", limit=300)
    result = evaluate(spec, folds=2, featurizer=featurizer)
    assert len(result.data["models"]) == 9
    best = result.spread["best_single"]["cost_at_95"]["mean"]
    assert best > 0
    assert result.calibrated[0]["cost"] > 0


def test_the_seed_chooses_another_split_of_the_same_rows(
    shared_data: Path, featurizer: Featurizer
) -> None:
    spec = TrainSpec(shared_data / "routellm" / "gsm8k.jsonl", (WEAK, STRONG), limit=200)
    runs = [evaluate(spec, folds=2, featurizer=featurizer, seed=seed) for seed in (0, 1, 0)]
    assert [r.data["seed"] for r in runs] == [0, 1, 0]
    oracle = [[f["apgr"] for f in r.folds["oracle"]] for r in runs]
    assert oracle[0] == oracle[2] and oracle[0] != oracle[1]
