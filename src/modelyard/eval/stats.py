"""Statistics for eval results: bootstrap CIs, paired comparisons, latency, tokens and cost.

* Mean with a percentile bootstrap 95% CI (2,000 resamples, fixed seed).
* Paired comparison on items both models scored: paired bootstrap of the mean difference with a
  two-sided p-value, and for 0/1 scores McNemar's exact test (binomial on discordant pairs)
  with its mid-p variant.
* Latency p50/p95, tokens per 1,000 items, and dollars per 1,000 items at catalog API prices.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from modelyard.eval.schema import Comparison, Estimate, ItemResult, McNemar, ModelSummary

RESAMPLES = 2000
SEED = 0


@dataclass(frozen=True)
class Price:
    """USD per 1M input and output tokens, and which catalog API offer says so."""

    input_per_mtok: float
    output_per_mtok: float
    source: str


def _bootstrap_means(values: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty(resamples)
    chunk = max(1, 4_000_000 // max(1, len(values)))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        idx = rng.integers(0, len(values), size=(size, len(values)))
        out[start : start + size] = values[idx].mean(axis=1)
    return out


def bootstrap_ci(
    values: Sequence[float], confidence: float = 0.95, resamples: int = RESAMPLES, seed: int = SEED
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean."""
    means = _bootstrap_means(np.asarray(values, dtype=float), resamples, seed)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def estimate(values: Sequence[float]) -> Estimate:
    """Mean and 95% bootstrap CI; a single value has a zero-width interval, none has nothing."""
    if not values:
        return Estimate(mean=None, low=None, high=None, n=0)
    mean = float(np.mean(values))
    low, high = bootstrap_ci(values) if len(values) > 1 else (mean, mean)
    return Estimate(mean=mean, low=low, high=high, n=len(values))


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], resamples: int = RESAMPLES, seed: int = SEED
) -> tuple[float, float, float, float]:
    """Mean difference a−b, its 95% CI and a two-sided p-value, resampling items (pairs kept).

    The p-value is twice the smaller share of resampled differences on either side of zero
    (the percentile-interval inversion), floored at 1/resamples.
    """
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    means = _bootstrap_means(diffs, resamples, seed)
    low, high = np.percentile(means, [2.5, 97.5])
    if not np.any(diffs):
        return 0.0, 0.0, 0.0, 1.0
    side = float(min(np.mean(means <= 0), np.mean(means >= 0)))
    return (
        float(diffs.mean()),
        float(low),
        float(high),
        float(min(1.0, max(2 * side, 1 / resamples))),
    )


def mcnemar(a: Sequence[float], b: Sequence[float]) -> McNemar:
    """McNemar's exact test for paired 0/1 scores: two-sided binomial test on discordant pairs
    (``scipy.stats.binomtest``), and its mid-p variant."""
    from scipy.stats import binom, binomtest  # 0.5-2 s to import: only when a report is built

    a_only = sum(1 for x, y in zip(a, b, strict=True) if x == 1 and y == 0)
    b_only = sum(1 for x, y in zip(a, b, strict=True) if x == 0 and y == 1)
    n, k = a_only + b_only, min(a_only, b_only)
    if n == 0:
        return McNemar(a_only=0, b_only=0, p_exact=1.0, p_midp=1.0)
    exact = float(binomtest(k, n, 0.5).pvalue)
    midp = min(1.0, float(2 * binom.cdf(k, n, 0.5) - binom.pmf(k, n, 0.5)))
    return McNemar(a_only=a_only, b_only=b_only, p_exact=exact, p_midp=midp)


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def _per_1k(values: list[int | None], n: int) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) * 1000 if known and n else None


def summarize_model(model: str, rows: list[ItemResult], price: Price | None) -> ModelSummary:
    """Leaderboard row for one model's results."""
    scored = [r.score.value for r in rows if r.score.value is not None]
    by_cat: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r.category is not None and r.score.value is not None:
            by_cat[r.category].append(r.score.value)
    replies = [r.completion for r in rows if r.completion.error is None]
    latencies = [c.latency_s for c in replies if c.latency_s is not None]
    prompt_1k = _per_1k([c.prompt_tokens for c in replies], len(rows))
    output_1k = _per_1k([c.completion_tokens for c in replies], len(rows))
    usd = None
    if price and prompt_1k is not None and output_1k is not None:
        usd = (prompt_1k * price.input_per_mtok + output_1k * price.output_per_mtok) / 1e6
    return ModelSummary(
        model=model,
        quality=estimate(scored),
        categories={c: estimate(v) for c, v in sorted(by_cat.items())},
        errors=sum(1 for r in rows if r.score.value is None),
        latency_p50_s=_percentile(latencies, 50),
        latency_p95_s=_percentile(latencies, 95),
        prompt_tokens_per_1k=prompt_1k,
        completion_tokens_per_1k=output_1k,
        usd_per_1k=usd,
        price_source=price.source if price else None,
    )


def compare(a: str, b: str, by_model: dict[str, dict[str, float]], binary: bool) -> Comparison:
    """Paired comparison of models ``a`` and ``b`` on the items both scored."""
    shared = sorted(set(by_model[a]) & set(by_model[b]))
    xs = [by_model[a][i] for i in shared]
    ys = [by_model[b][i] for i in shared]
    if not shared:
        return Comparison(a=a, b=b, n=0, diff=None, low=None, high=None, p_bootstrap=None)
    diff, low, high, p = paired_bootstrap(xs, ys)
    is_binary = binary and set(xs) | set(ys) <= {0.0, 1.0}
    return Comparison(
        a=a,
        b=b,
        n=len(shared),
        diff=diff,
        low=low,
        high=high,
        p_bootstrap=p,
        mcnemar=mcnemar(xs, ys) if is_binary else None,
    )


def summarize(
    results: list[ItemResult], models: list[str], binary: bool, prices: dict[str, Price]
) -> tuple[list[ModelSummary], list[Comparison]]:
    """Leaderboard rows (best mean first) and every pairwise comparison."""
    rows: dict[str, list[ItemResult]] = {m: [] for m in models}
    for r in results:
        rows[r.model].append(r)
    summaries = [summarize_model(m, rows[m], prices.get(m)) for m in models]
    summaries.sort(key=lambda s: -1e18 if s.quality.mean is None else -s.quality.mean)
    by_model = {
        m: {r.item_id: r.score.value for r in rows[m] if r.score.value is not None} for m in models
    }
    pairs = [compare(a, b, by_model, binary) for a, b in itertools.combinations(models, 2)]
    return summaries, pairs
