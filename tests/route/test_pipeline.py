"""Label files in, router file out: model order, several files, prefixes kept, nulls counted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from modelyard.errors import YardError
from modelyard.route import Candidate, Router, TrainSpec, train
from modelyard.route.artifact import load
from modelyard.route.features import Featurizer
from modelyard.route.pipeline import load_labels, order_models, prepare

FEW_SHOT = "".join(f"Example {i}: what is {i} + {i}? It is {2 * i}.\n" for i in range(6)) + "\n"


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def arithmetic_rows(n: int, prefix: str = "", seed: int = 0) -> list[dict]:
    """Sums the cheap model gets right and products it gets wrong; the dear one gets both."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        a, b = (int(v) for v in rng.integers(2, 99, 2))
        hard = i % 2 == 1
        question = f"What is {a} times {b}?" if hard else f"What is {a} plus {b}?"
        labels = {"cheap": 0 if hard else 1, "dear": 1, "other": None}
        task = "mul" if hard else "add"
        rows.append(
            {"id": str(i), "prompt": prefix + question, "task_name": task, "labels": labels}
        )
    return rows


def test_order_models(tmp_path: Path) -> None:
    path = write(tmp_path / "l.jsonl", arithmetic_rows(10))
    labels = load_labels(TrainSpec(path))
    with pytest.raises(YardError, match=r"3 models and nothing to order them by"):
        order_models(TrainSpec(path), labels, None)
    assert order_models(TrainSpec(path, ("dear", "cheap")), labels, None) == ["dear", "cheap"]
    priced = [{**r, "costs": {"cheap": 0.1, "dear": 1.0, "other": 0.5}} for r in arithmetic_rows(4)]
    with_costs = load_labels(TrainSpec(write(tmp_path / "c.jsonl", priced)))
    assert order_models(TrainSpec(path), with_costs, None) == ["cheap", "other", "dear"]


def test_several_files_keep_their_tasks(tmp_path: Path) -> None:
    a = write(tmp_path / "sums.jsonl", arithmetic_rows(6))
    poem = {"prompt": "Write a poem.", "labels": {"cheap": 3.0, "dear": 9.0}}
    b = write(tmp_path / "grades.jsonl", [poem])
    labels = load_labels(TrainSpec((a, b), by="file"))
    assert labels.categories == ["sums"] * 6 + ["grades"]
    assert labels.scores[-1, :2].tolist() == pytest.approx([2 / 9, 8 / 9])  # 1–10 grades
    assert labels.source == f"{a}, {b}" and len(labels.sha256) == 64


def test_prepare_limits_and_prices(tmp_path: Path, shared_data: Path) -> None:
    spec = TrainSpec(shared_data / "llmrouter" / "train.jsonl",
                     prices=shared_data / "llmrouter" / "default_llm.json", limit=30)  # fmt: skip
    ready = prepare(spec)
    assert len(ready.labels) == 30 and len(ready.prices or []) == 9
    costs = [p.input + p.output for p in ready.prices or []]
    assert costs == sorted(costs)  # cheapest first
    missing = tmp_path / "prices.json"
    missing.write_text(json.dumps({"gemma-2-9b-it": {"input_price": 0.1, "output_price": 0.1}}))
    with pytest.raises(YardError, match=r"no price for"):
        prepare(TrainSpec(spec.data, prices=missing, limit=5))


def test_a_trained_router_reads_past_the_shared_block(
    tmp_path: Path, featurizer: Featurizer
) -> None:
    path = write(tmp_path / "l.jsonl", arithmetic_rows(200, FEW_SHOT))
    art = train(TrainSpec(path, ("cheap", "dear")), tmp_path / "r.json", featurizer)
    assert art.dropped == {"null score": 200}
    assert [p.chars for p in art.prefixes.prefixes][-1] == len(FEW_SHOT)
    router = Router(load(tmp_path / "r.json"), featurizer)
    cands = [Candidate("cheap", local=True), Candidate("dear", 5.0, 5.0)]
    sums = router.decide([{"role": "user", "content": FEW_SHOT + "What is 12 plus 30?"}], cands)
    products = router.decide([{"role": "user", "content": FEW_SHOT + "What is 12 times 30?"}],
                             cands)  # fmt: skip
    assert sums.model == "cheap" and products.model == "dear"
    # the block's tokens still count: the context check sees the whole prompt
    block = len(featurizer.embedder.token_ids(FEW_SHOT))
    small = [Candidate("cheap", local=True, context_window=block), Candidate("dear", 5.0, 5.0)]
    assert router.decide([{"role": "user", "content": FEW_SHOT + "What is 1 plus 1?"}],
                         small).model == "dear"  # fmt: skip


def test_reply_scorers_train_on_the_rows_that_have_replies(tmp_path: Path) -> None:
    from modelyard.route.datasets import read_labels
    from modelyard.route.pipeline import scorers

    rows = []
    for i in range(120):
        right = i % 3 != 0
        reply = f"So 2 + 2 = 4.\\n#### {4 if right else 5}" if i < 80 else None
        row = {"prompt": f"q{i}", "labels": {"cheap": int(right), "dear": 1}}
        if reply:
            row["responses"] = {"cheap": reply}
        rows.append(row)
    labels = read_labels(write(tmp_path / "r.jsonl", rows)).select_models(["cheap", "dear"])
    costs = np.tile([0.0, 1.0], (120, 1))
    (scorer,) = scorers(labels, costs, TrainSpec(Path("x")).target)
    assert scorer.candidate == "cheap"
    assert scorer.probability("So 2 + 2 = 4.\\n#### 4") > scorer.probability("#### 5")
