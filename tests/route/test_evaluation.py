"""`yard route eval`: train/test, cross-validation and leave-one-task-out on real labels, every
threshold chosen on training rows, figures with paired bootstrap intervals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from modelyard.errors import YardError
from modelyard.route import EvalSpec, TrainSpec, evaluate
from modelyard.route.datasets import read_labels
from modelyard.route.features import Featurizer
from modelyard.route.report import render

STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"
FIGURES = {"q95_cost", "q95_quality", "q95_share", "q90_cost", "q90_share", "cheapest_quality"}


def test_contaminated_rows_are_dropped(shared_data: Path) -> None:
    labels = read_labels(shared_data / "routellm" / "gsm8k.jsonl")
    assert len(labels) == 1307 and labels.dropped == {"contaminated": 12}
    assert np.allclose(labels.select_models([STRONG]).scores.mean(), 0.8577, atol=1e-4)


@pytest.fixture(scope="module")
def llmrouter_split(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """400 LLMRouter rows to train on and 200 others to test on."""
    rows = (shared_data / "llmrouter" / "train.jsonl").read_text().split("\n")[:-1]
    picked = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))[:600]]
    folder = tmp_path_factory.mktemp("split")
    (folder / "train.jsonl").write_text("\n".join(picked[:400]) + "\n")
    (folder / "test.jsonl").write_text("\n".join(picked[400:]) + "\n")
    return folder / "train.jsonl", folder / "test.jsonl"


@pytest.fixture(scope="module")
def split_result(shared_data: Path, llmrouter_split: tuple[Path, Path], featurizer: Featurizer):
    train, test = llmrouter_split
    spec = TrainSpec(train, prices=shared_data / "llmrouter" / "default_llm.json")
    return evaluate(EvalSpec(spec, test=(test,)), featurizer)


def test_train_test_split_reports_every_method_with_intervals(split_result) -> None:
    (split,) = split_result.splits
    assert split["rows"] == 200 and split_result.data["mode"] == "split"
    assert split_result.data["cost_unit"] == "USD per request"
    expected = {"router", "tfidf-lr", "knn", "length", "best_single", "cheapest_single",
                "random_mix", "oracle"}  # fmt: skip
    assert set(split["methods"]) == expected
    for name, method in split["methods"].items():
        figs = method["figures"]
        assert set(figs) >= FIGURES, name
        for key in FIGURES:
            lo, hi = figs[key]["ci"]
            assert lo <= figs[key]["value"] + 1e-9 and figs[key]["value"] <= hi + 1e-9, (name, key)
    assert {"auc", "curve_cost_95", "curve_cost_90"} <= set(split["methods"]["router"]["figures"])


def test_shares_are_of_the_best_single_model_chosen_on_training_rows(split_result) -> None:
    (split,) = split_result.splits
    best = split["methods"]["best_single"]
    model = best["chosen"]["q95"]
    assert split_result.data["models"][model] == "llama-3.1-nemotron-51b-instruct"
    quality = split["quality"][split_result.data["models"][model]]
    assert best["figures"]["q95_quality"]["value"] == pytest.approx(quality, abs=1e-4)
    assert best["figures"]["q95_share"]["value"] == pytest.approx(1.0)
    router = split["methods"]["router"]["figures"]
    share = router["q95_quality"]["value"] / quality
    assert router["q95_share"]["value"] == pytest.approx(share, abs=1e-4)
    oracle = split["methods"]["oracle"]["figures"]
    assert oracle["q95_share"]["value"] > 1.0  # per-row best beats any single model


def test_verdicts_pair_the_router_with_every_baseline_at_every_target(split_result) -> None:
    (split,) = split_result.splits
    pairs = {(v["baseline"], v["target"]) for v in split["verdicts"]}
    bases = {"best_single", "cheapest_single", "random_mix", "tfidf-lr", "knn", "length"}
    assert pairs == {(b, t) for b in bases for t in ("q95", "q90", "cheapest")}
    assert {v["outcome"] for v in split["verdicts"]} <= {"win", "loss", "trade-off", "tie"}
    losses = {v["baseline"] for v in split["verdicts"] if v["outcome"] == "loss"}
    assert set(split["beaten_by"]) == losses
    assert split["two_model"] is None  # nine models: no APGR


def test_random_mix_sits_on_the_line_between_two_models(split_result) -> None:
    (split,) = split_result.splits
    mix = split["methods"]["random_mix"]
    assert "×" in mix["chosen"]["q95"]
    cheapest = split["methods"]["cheapest_single"]["figures"]
    # the cheapest single model meeting 95% on train costs at least what the mix does there
    assert mix["figures"]["q95_cost"]["value"] <= cheapest["q95_cost"]["value"] * 1.5


def test_json_and_report_carry_the_figures(split_result) -> None:
    body = json.loads(json.dumps(split_result.to_json(), default=float))
    assert body["splits"][0]["methods"]["router"]["figures"]["auc"]["value"] > 0
    page = render(split_result)
    assert "<svg" in page and "baselines that beat the router" in page


def test_leave_one_task_out_trains_without_the_task(shared_data: Path, tmp_path: Path,
                                                    featurizer: Featurizer) -> None:  # fmt: skip
    text = (shared_data / "llmrouter" / "train.jsonl").read_text()
    rows = [json.loads(line) for line in text.split("\n") if line]
    keep = {"gsm8k": 0, "mmlu": 0, "trivia_qa": 0}
    picked = []
    for row in rows:
        if keep.get(row["task_name"], 99) < 80:
            keep[row["task_name"]] += 1
            picked.append(row)
    path = tmp_path / "three.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in picked))
    spec = TrainSpec(path, prices=shared_data / "llmrouter" / "default_llm.json", by="task_name")
    result = evaluate(EvalSpec(spec, tasks=True), featurizer)
    assert [s["name"] for s in result.splits] == ["gsm8k", "mmlu", "trivia_qa"]
    assert all(s["rows"] == 80 for s in result.splits)
    summary = result.summary
    assert summary["tasks"] == 3 and set(summary["router_cheapest_at_95"]) <= set(keep)
    assert sum(summary["outcomes"]["random_mix @ q95"].values()) == 3


def test_leave_one_task_out_needs_several_tasks(shared_data: Path, featurizer: Featurizer) -> None:
    spec = TrainSpec(shared_data / "routellm" / "gsm8k.jsonl", (WEAK, STRONG), limit=100)
    with pytest.raises(YardError, match="one task only"):
        evaluate(EvalSpec(spec, tasks=True), featurizer)


def test_two_models_get_apgr_only_when_the_dearer_is_better(
    shared_data: Path, featurizer: Featurizer
) -> None:
    spec = TrainSpec(shared_data / "routellm" / "gsm8k.jsonl", (WEAK, STRONG), limit=300)
    result = evaluate(EvalSpec(spec, folds=3), featurizer)
    two = result.splits[0]["two_model"]
    assert 0.3 < two["router"]["apgr"] < 1.0 and two["random"]["apgr"] == 0.5
    assert result.data["cost_unit"] == "calls to the dearer model"
    flipped = TrainSpec(spec.data, (STRONG, WEAK), limit=300)  # GPT-4 listed as the cheaper one
    result = evaluate(EvalSpec(flipped, folds=3), featurizer)
    assert result.splits[0]["two_model"] == {
        "note": "no APGR: the dearer model is not the better one on these rows"
    }


def test_the_seed_chooses_another_split_of_the_same_rows(
    shared_data: Path, featurizer: Featurizer
) -> None:
    spec = TrainSpec(shared_data / "routellm" / "gsm8k.jsonl", (WEAK, STRONG), limit=200)
    runs = [evaluate(EvalSpec(spec, folds=2, seed=seed), featurizer) for seed in (0, 1, 0)]
    cis = [r.splits[0]["methods"]["router"]["figures"]["q95_cost"] for r in runs]
    assert cis[0] == cis[2] and cis[0] != cis[1]


def test_too_few_test_rows_is_an_error(shared_data: Path, tmp_path: Path,
                                       featurizer: Featurizer) -> None:  # fmt: skip
    rows = (shared_data / "routellm" / "gsm8k.jsonl").read_text().split("\n")
    test = tmp_path / "test.jsonl"
    test.write_text("\n".join(rows[:5]) + "\n")
    spec = TrainSpec(shared_data / "routellm" / "gsm8k.jsonl", (WEAK, STRONG), limit=100)
    with pytest.raises(YardError, match="at least 20 are needed"):
        evaluate(EvalSpec(spec, test=(test,)), featurizer)


def test_a_task_too_small_to_test_on_still_trains(
    shared_data: Path, tmp_path: Path, featurizer: Featurizer
) -> None:
    text = (shared_data / "llmrouter" / "train.jsonl").read_text()
    rows = [json.loads(line) for line in text.split("\n") if line]
    counts: dict[str, int] = {}
    picked = []
    for row in rows:
        want = {"gsm8k": 60, "mmlu": 60, "natural_qa": 60, "human_eval": 10}.get(
            row["task_name"], 0
        )
        if counts.get(row["task_name"], 0) < want:
            counts[row["task_name"]] = counts.get(row["task_name"], 0) + 1
            picked.append(row)
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in picked))
    spec = TrainSpec(path, prices=shared_data / "llmrouter" / "default_llm.json", by="task_name")
    result = evaluate(EvalSpec(spec, tasks=True), featurizer)
    assert result.data["tasks"] == ["gsm8k", "mmlu", "natural_qa"]
    assert result.data["tasks_not_held_out"] == ["human_eval"]  # 10 rows: trained on only


def test_the_deployed_router_is_compared_where_it_was_calibrated(
    shared_data: Path, tmp_path: Path, featurizer: Featurizer
) -> None:
    from modelyard.route import train

    spec = TrainSpec(shared_data / "routellm" / "gsm8k.jsonl", (WEAK, STRONG), limit=240)
    deployed = tmp_path / "deployed.json"
    train(TrainSpec(spec.data, (WEAK, STRONG), limit=120), deployed, featurizer)
    result = evaluate(EvalSpec(spec, folds=2, deployed=deployed), featurizer)
    (split,) = result.splits
    assert "deployed" in split["methods"]
    assert {v["target"] for v in split["verdicts"] if v["baseline"] == "deployed"} == {"q95"}
    with pytest.raises(YardError, match="trained for"):
        other = TrainSpec(shared_data / "llmrouter" / "train.jsonl", limit=60,
                          prices=shared_data / "llmrouter" / "default_llm.json")  # fmt: skip
        evaluate(EvalSpec(other, folds=2, deployed=deployed), featurizer)
