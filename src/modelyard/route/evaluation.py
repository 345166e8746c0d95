"""`yard route eval`: the router against its baselines, every choice made on training rows.

Three ways to split the labels, each a series of train/test splits (route/holdout.py) whose
figures carry bootstrap intervals (route/compare.py):

- ``split``: train on one set of label files, test on another (``--train A --test B``);
- ``folds``: k-fold cross-validation of one set; the k test folds are pooled (each row was
  predicted by a model that did not see it, with its own fold's thresholds) into one split;
- ``tasks``: leave one task out: for each task (a row field such as LLMRouter's ``task_name``,
  or the file each row came from), train on every other task and test on it.

The test rows need every candidate's score (rows without are dropped and counted); training
rows may lack some. Two-model files also get RouteLLM's APGR and CPT, only when the dearer model
is the better one on the test rows (else those figures have no meaning).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from modelyard.errors import YardError
from modelyard.route import compare, metrics
from modelyard.route.artifact import RouterArtifact, check_candidates
from modelyard.route.datasets import LabelSet, Price
from modelyard.route.features import Featurizer
from modelyard.route.folds import fold_ids
from modelyard.route.holdout import (
    QUALITY_TARGETS,
    TARGETS,
    Deployed,
    Outcome,
    Played,
    Side,
    Split,
    play,
)
from modelyard.route.router import Router
from modelyard.route.training import featurize, featurizer_for, request_costs

Progress = Callable[[str], None]
MIN_TEST_ROWS = 20
"""A task with fewer complete rows is not held out on its own (too few to say anything)."""


@dataclass
class Evaluation:
    """Everything `yard route eval` reports; JSON-ready through ``to_json``."""

    data: dict[str, Any]
    splits: list[dict[str, Any]]
    """Per split (the test file, the pooled folds, or each held-out task): its figures."""
    summary: dict[str, Any]
    curves: dict[str, list[list[float]]]
    """Per method: [cost, quality] points of the first split's curve, for the plot."""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def sides(
    train: LabelSet,
    test: LabelSet,
    prices: list[Price] | None,
    featurizer: Featurizer,
    deployed: RouterArtifact | None = None,
) -> tuple[Side, Side]:
    """Both sides of a split, read past the prefixes the *training* prompts share; with a
    router file in service (``deployed``), its predictions for the test rows."""
    reader = featurizer_for(train, featurizer)
    out = []
    for labels in (train, test):
        fold, tokens = featurize(labels, reader)
        replies = labels.responses.get(labels.models[0]) if len(labels.models) == 2 else None
        out.append(Side(fold, request_costs(labels, prices, tokens), replies))
    if deployed is not None:
        out[1].deployed = deployed_on(deployed, test, featurizer)
    return out[0], out[1]


def deployed_on(artifact: RouterArtifact, test: LabelSet, featurizer: Featurizer) -> Deployed:
    """A router file's predictions for ``test`` (columns in its models' order), its threshold
    and the target it was calibrated for.

    Raises:
        RouterFileError: the file was not trained for every model of the labels.
    """
    check_candidates(artifact, test.models, "the deployed router")
    router = Router(artifact, featurizer)
    rows = router.featurizer.many(test.prompts)
    predicted = artifact.quality.predict(rows.x, rows.grams)
    columns = [artifact.candidates.index(m) for m in test.models]
    kind, value = artifact.target.get("kind"), artifact.target.get("value")
    names = [k for k, share in QUALITY_TARGETS.items() if kind == "quality" and value == share]
    return Deployed(predicted[:, columns], artifact.threshold, names[0] if names else "none")


def split_eval(
    train: LabelSet,
    test: LabelSet,
    prices: list[Price] | None,
    featurizer: Featurizer,
    progress: Progress | None = None,
    seed: int = 0,
    deployed: RouterArtifact | None = None,
) -> Evaluation:
    """Train on ``train``, test on ``test`` (its complete rows)."""
    test = test.complete()
    _enough(test, "the test file")
    split = play(*sides(train, test, prices, featurizer, deployed), progress)
    report = summarise_split("test", split, test, seed)
    return Evaluation(_data(train, "split", test=test), [report], {}, _curves(split),
                      split.notes)  # fmt: skip


def cross_validate(
    labels: LabelSet,
    prices: list[Price] | None,
    featurizer: Featurizer,
    folds: int = 5,
    progress: Progress | None = None,
    seed: int = 0,
    deployed: RouterArtifact | None = None,
) -> Evaluation:
    """``folds``-fold cross-validation on the complete rows, the test folds pooled."""
    if folds < 2:
        raise YardError(f"--folds {folds}: cross-validation needs at least 2 folds")
    labels = labels.complete()
    _enough(labels, "the labels")
    ids = fold_ids(len(labels), folds, seed)
    splits = []
    for k in range(folds):
        train, test = (
            labels.subset(np.flatnonzero(ids != k)),
            labels.subset(np.flatnonzero(ids == k)),
        )
        step = (lambda m, k=k: progress(f"fold {k + 1}/{folds}: {m}")) if progress else None
        splits.append(play(*sides(train, test, prices, featurizer, deployed), step))
    order = np.argsort(np.concatenate([np.flatnonzero(ids == k) for k in range(folds)]))
    pooled = pool(splits, order)
    report = summarise_split(f"{folds} folds pooled", pooled, labels, seed)
    data = _data(labels, "folds") | {"folds": folds, "seed": seed}
    return Evaluation(data, [report], {}, _curves(pooled), pooled.notes)


def leave_one_task_out(
    labels: LabelSet,
    prices: list[Price] | None,
    featurizer: Featurizer,
    progress: Progress | None = None,
    seed: int = 0,
    deployed: RouterArtifact | None = None,
) -> Evaluation:
    """For each task with enough complete rows: train on the other tasks, test on it."""
    tasks = Counter(c for c, ok in zip(labels.categories, _complete(labels), strict=True) if ok)
    held = sorted(t for t, n in tasks.items() if n >= MIN_TEST_ROWS)
    if len(set(labels.categories)) < 2:
        raise YardError(f"{labels.source}: one task only; leave-one-task-out needs several "
                        f"(name the task field with --by)")  # fmt: skip
    cats = np.array(labels.categories)
    reports: list[dict[str, Any]] = []
    curves: dict[str, list[list[float]]] = {}
    notes: list[str] = []
    for i, task in enumerate(held):
        train = labels.subset(np.flatnonzero(cats != task))
        test = labels.subset(np.flatnonzero(cats == task)).complete()
        step = (
            (lambda m, i=i, t=task: progress(f"{t} ({i + 1}/{len(held)}): {m}"))
            if progress
            else None
        )
        split = play(*sides(train, test, prices, featurizer, deployed), step)
        reports.append(summarise_split(task, split, test, seed))
        curves = curves or _curves(split)
        notes = notes or split.notes
    skipped = sorted(t for t in set(labels.categories) if t not in held)
    data = _data(labels, "tasks") | {"tasks": held, "tasks_not_held_out": skipped}
    return Evaluation(data, reports, tally(reports), curves, notes)


def _complete(labels: LabelSet) -> np.ndarray:
    return ~np.isnan(labels.scores).any(1)


def _enough(labels: LabelSet, what: str) -> None:
    if len(labels) < MIN_TEST_ROWS:
        raise YardError(
            f"{what}: {len(labels)} rows with every candidate's score; at least "
            f"{MIN_TEST_ROWS} are needed to evaluate"
        )


def pool(splits: list[Split], order: np.ndarray) -> Split:
    """The splits' test rows as one split, rows put back in ``order``."""
    first = splits[0]
    methods = {}
    for name in first.methods:
        parts = [s.methods[name] for s in splits]
        at = {t: _cat([p.at[t] for p in parts], order) for t in TARGETS}
        grid = None
        if all(p.grid is not None for p in parts):
            grid = _cat([p.grid for p in parts if p.grid is not None], order, axis=1)
        predicted = None
        if all(p.predicted is not None for p in parts):
            predicted = np.concatenate([p.predicted for p in parts if p.predicted is not None])[
                order
            ]
        chosen = {t: " / ".join(str(p.chosen[t]) for p in parts) for t in TARGETS}
        methods[name] = Played(name, at, chosen, grid, predicted, first.methods[name].targets)
    y = np.concatenate([s.y for s in splits])[order]
    costs = np.concatenate([s.costs for s in splits])[order]
    return Split(y, costs, methods, first.targets, first.reference, first.notes)


def _cat(outcomes: list[Outcome], order: np.ndarray, axis: int = 0) -> Outcome:
    take = (lambda a: a[order]) if axis == 0 else (lambda a: a[:, order])
    return Outcome(
        take(np.concatenate([o.cost for o in outcomes], axis=axis)),
        take(np.concatenate([o.quality for o in outcomes], axis=axis)),
    )


def summarise_split(name: str, split: Split, test: LabelSet, seed: int) -> dict[str, Any]:
    """One split's figures, intervals, verdicts and the baselines that beat the router."""
    figs = compare.figures(split, seed)
    verdicts = compare.verdicts(figs, split)
    beaten = sorted({v.baseline for v in verdicts if v.outcome == "loss"})
    return {
        "name": name,
        "rows": len(split.y),
        "models": test.models,
        "quality": dict(zip(test.models, split.y.mean(0).round(4).tolist(), strict=True)),
        "cost": dict(zip(test.models, split.costs.mean(0).tolist(), strict=True)),
        "methods": {
            m: {"figures": {k: d.json() for k, d in f.items()}, "chosen": split.methods[m].chosen}
            for m, f in figs.items()
        },
        "verdicts": [v.json() for v in verdicts],
        "curve_differences": compare.curve_differences(figs),
        "beaten_by": beaten,
        "two_model": two_model(split),
        "categories": categories(split, test),
    }


def two_model(split: Split) -> dict[str, Any] | None:
    """RouteLLM's figures per learned method, when two models and the dearer is the better."""
    if split.y.shape[1] != 2:
        return None
    dear = int(np.argmax(split.costs.mean(0)))
    cheap = 1 - dear
    if split.y[:, dear].mean() <= split.y[:, cheap].mean():
        return {"note": "no APGR: the dearer model is not the better one on these rows"}
    out = {}
    for name, played in split.methods.items():
        if played.predicted is not None:
            gain = played.predicted[:, dear] - played.predicted[:, cheap]
            s = metrics.summarize(metrics.curve(gain, split.y[:, dear], split.y[:, cheap]))
            out[name] = {"apgr": s.apgr, "calls_at_95": s.calls_at_95, **{
                f"cpt_{k.rstrip('%')}": v for k, v in s.cpt.items()}}  # fmt: skip
    out["random"] = {"apgr": 0.5}
    return out


def categories(split: Split, test: LabelSet) -> dict[str, dict[str, Any]]:
    """Per category of the test rows: size, each model's quality, the router at q95."""
    cats = np.array(test.categories)
    router = split.methods["router"].at["q95"]
    out = {}
    for cat in sorted(set(test.categories)):
        mask = cats == cat
        out[cat] = {
            "rows": int(mask.sum()),
            "quality": split.y[mask].mean(0).round(4).tolist(),
            "router_q95_cost": float(router.cost[mask].mean()),
            "router_q95_quality": float(router.quality[mask].mean()),
        }
    return out


def tally(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Over the held-out tasks: per baseline and target, how often the router won or lost;
    and the tasks where the router met 95% at a lower cost than every baseline."""
    counts: dict[str, Counter[str]] = {}
    for report in reports:
        for v in report["verdicts"]:
            counts.setdefault(f"{v['baseline']} @ {v['target']}", Counter())[v["outcome"]] += 1
    cheapest = [r["name"] for r in reports if _cheapest_at_95(r)]
    return {
        "outcomes": {k: dict(c) for k, c in counts.items()},
        "tasks": len(reports),
        "router_cheapest_at_95": cheapest,
        "random_mix_beat_router": [r["name"] for r in reports if "random_mix" in r["beaten_by"]],
    }


def _cheapest_at_95(report: dict[str, Any]) -> bool:
    """The router reached 95% of the best single model's quality (its interval reaches it) and
    won or tied on cost against every baseline there."""
    share = report["methods"]["router"]["figures"]["q95_share"]
    reached = share["ci"] is not None and share["ci"][1] >= 0.95
    q95 = [v for v in report["verdicts"] if v["target"] == "q95"]
    return reached and all(v["outcome"] in ("win", "tie") for v in q95)


def _data(labels: LabelSet, mode: str, test: LabelSet | None = None) -> dict[str, Any]:
    out = {
        "mode": mode,
        "source": labels.source,
        "rows": len(labels),
        "models": labels.models,
        "sha256": labels.sha256,
        "dropped": labels.dropped,
    }
    if test is not None:
        out |= {"test_source": test.source, "test_rows": len(test), "test_dropped": test.dropped}
    return out


def _curves(split: Split) -> dict[str, list[list[float]]]:
    out = {}
    for name, played in split.methods.items():
        if played.grid is not None:
            cost, quality = played.grid.cost.mean(1), played.grid.quality.mean(1)
            out[name] = sorted([[float(c), float(q)] for c, q in zip(cost, quality, strict=True)])
    return out
