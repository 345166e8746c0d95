"""Each prompt feature's effect on routing, with paired intervals (issue 22, item 2).

For every feature, the same rows, the same folds and the same bootstrap resamples, once with the
feature and once without it (everything else equal); the router's figures and their paired
differences are reported (route/compare.py):

- ``prefix``: GSM8K asked the way RouteLLM asked it, behind an 8-shot block of worked GSM8K
  examples (taken out of the data), with the shared-prefix table against without it;
- ``window``: GSM8K questions at the end of a 1,500–2,500-character passage of other GSM8K
  questions (a long context with the question last), the head-and-tail window against the head
  only;
- ``system``: LLMRouter prompts, each behind the system prompt of the kind of application its
  task is (coding, maths, trivia, reasoning), with the system prompt's features against
  without them.

    python benchmarks/route_quality/features.py [--only prefix,window,system] [--folds 5]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from modelyard.route import compare
from modelyard.route.datasets import LabelSet, read_labels, read_prices
from modelyard.route.embed import HEAD, WINDOW, static_embedder
from modelyard.route.evaluation import pool, sides
from modelyard.route.features import Featurizer, Prompt
from modelyard.route.folds import fold_ids
from modelyard.route.holdout import Split, play
from modelyard.route.prefixes import PrefixTable

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
PAIR = ["mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"]
FIGURES = ("auc", "q95_cost", "q95_share", "curve_cost_95")
SYSTEMS = {
    "code": "You are a senior software engineer. Write correct, tested Python.",
    "math": "You are a careful maths tutor. Work step by step and give the final answer.",
    "knowledge": "You are a trivia and encyclopedia assistant. Answer briefly and factually.",
    "reasoning": "You answer multiple-choice questions. Reply with the letter of the answer.",
}
FAMILY = {
    "mbpp": "code", "human_eval": "code", "math": "math", "gsm8k": "math",
    "agentverse-mgsm": "math", "natural_qa": "knowledge", "trivia_qa": "knowledge",
    "commongen": "knowledge", "mmlu": "reasoning", "arc_challenge": "reasoning",
    "openbook_qa": "reasoning", "commonsense_qa": "reasoning", "gpqa": "reasoning",
    "agentverse-logicgrid": "reasoning",
}  # fmt: skip


class NoPrefixes(Featurizer):
    """The featurizer that never reads past a shared prefix."""

    def with_prefixes(self, prefixes: PrefixTable) -> Featurizer:
        return NoPrefixes(self.embedder)


class HeadOnly:
    """The static embedder reading the first WINDOW word pieces only (the previous window)."""

    def __init__(self) -> None:
        self.inner = static_embedder()
        self.name, self.dim = self.inner.name, self.inner.dim

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def embed_ids(self, ids: list[int]) -> np.ndarray:
        return self.inner.embed_ids(ids[:WINDOW])


class NoSystem(Featurizer):
    """The featurizer that does not read the system prompt."""

    def one(self, prompt: Prompt | str):  # type: ignore[no-untyped-def]
        prompt = Prompt(prompt) if isinstance(prompt, str) else prompt
        return super().one(replace(prompt, system=""))

    def with_prefixes(self, prefixes: PrefixTable) -> Featurizer:
        return NoSystem(self.embedder, prefixes)


def pooled(labels: LabelSet, prices, featurizer: Featurizer, folds: int, seed: int) -> Split:
    ids = fold_ids(len(labels), folds, seed)
    splits = []
    for k in range(folds):
        train = labels.subset(np.flatnonzero(ids != k))
        test = labels.subset(np.flatnonzero(ids == k))
        splits.append(play(*sides(train, test, prices, featurizer)))
    order = np.argsort(np.concatenate([np.flatnonzero(ids == k) for k in range(folds)]))
    return pool(splits, order)


def paired(labels: LabelSet, prices, with_it: Featurizer, without: Featurizer,
           folds: int, seed: int) -> dict:  # fmt: skip
    a = pooled(labels, prices, with_it, folds, seed)
    b = pooled(labels, prices, without, folds, seed)
    both = Split(a.y, a.costs, {"with": a.methods["router"], "without": b.methods["router"]},
                 a.targets, a.reference)  # fmt: skip
    figs = compare.figures(both, seed)
    return {
        "rows": len(labels),
        "with": {k: figs["with"][k].json() for k in FIGURES},
        "without": {k: figs["without"][k].json() for k in FIGURES},
        "difference": {
            k: compare.difference(figs["with"][k], figs["without"][k]).json() for k in FIGURES
        },
    }


def gsm8k() -> LabelSet:
    return read_labels(SHARED / "routellm" / "gsm8k.jsonl").select_models(PAIR)


def prefix_case() -> LabelSet:
    """GSM8K behind an 8-shot block of 8 of its own worked examples (those rows removed)."""
    text = (SHARED / "routellm" / "gsm8k.jsonl").read_text()
    rows = [json.loads(line) for line in text.split("\n") if line]
    shots = "".join(f"Question: {r['prompt']}\nAnswer: {r['answer']}\n\n" for r in rows[:8])
    labels = gsm8k()
    keep = [i for i, row_id in enumerate(labels.ids) if int(row_id.rsplit(".", 1)[1]) >= 8]
    labels = labels.subset(keep)
    labels.prompts = [Prompt(f"{shots}Question: {p.user}\nAnswer:") for p in labels.prompts]
    return labels


def window_case() -> LabelSet:
    """Each GSM8K question last, after a passage made of other GSM8K questions."""
    labels = gsm8k()
    rng = np.random.default_rng(0)
    texts = labels.texts
    prompts = []
    for i, text in enumerate(texts):
        context, size = [], int(rng.integers(1500, 2500))
        while sum(map(len, context)) < size:
            j = int(rng.integers(len(texts)))
            if j != i:
                context.append(texts[j])
        prompts.append(Prompt("Background:\n" + "\n".join(context) + "\n\nQuestion: " + text))
    labels.prompts = prompts
    return labels


def system_case() -> LabelSet:
    """LLMRouter prompts behind the system prompt of their kind of application."""
    labels = read_labels(SHARED / "llmrouter" / "train.jsonl")
    labels.prompts = [Prompt(p.user, SYSTEMS[FAMILY[c]]) for p, c in
                      zip(labels.prompts, labels.categories, strict=True)]  # fmt: skip
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="prefix,window,system")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path,
                        default=Path("benchmarks/route_quality/results/features.json"))  # fmt: skip
    args = parser.parse_args()
    static = static_embedder()
    llm_prices = read_prices(SHARED / "llmrouter" / "default_llm.json")
    results = {}
    for name in args.only.split(","):
        print(f"{name}…", flush=True)
        if name == "prefix":
            results[name] = paired(prefix_case(), None, Featurizer(static), NoPrefixes(static),
                                   args.folds, args.seed)  # fmt: skip
        elif name == "window":
            head = Featurizer(HeadOnly())  # type: ignore[arg-type]
            results[name] = paired(window_case(), None, Featurizer(static), head, args.folds,
                                   args.seed)  # fmt: skip
        elif name == "system":
            labels = system_case()
            prices = [llm_prices[m] for m in labels.models]
            order = np.argsort([p.input + p.output for p in prices], kind="stable")
            labels = labels.select_models([labels.models[j] for j in order])
            prices = [llm_prices[m] for m in labels.models]
            results[name] = paired(labels, prices, Featurizer(static), NoSystem(static),
                                   args.folds, args.seed)  # fmt: skip
        print(json.dumps(results[name], indent=1), flush=True)
    results["window_sizes"] = {"head": HEAD, "window": WINDOW}
    args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
