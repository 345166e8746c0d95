"""The statistics agree with scipy on fixed data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from modelyard.eval.stats import bootstrap_ci, estimate, mcnemar, paired_bootstrap

RNG = np.random.default_rng(7)
SCORES = RNG.normal(0.6, 0.2, size=120)
BINARY_A = (RNG.random(200) < 0.70).astype(float)
BINARY_B = np.where(RNG.random(200) < 0.85, BINARY_A, 1 - BINARY_A)


def test_bootstrap_ci_matches_scipy_percentile() -> None:
    ours = bootstrap_ci(SCORES, resamples=20_000)
    ref = sps.bootstrap(
        (SCORES,),
        np.mean,
        n_resamples=20_000,
        method="percentile",
        confidence_level=0.95,
        random_state=1,
    ).confidence_interval
    width = ref.high - ref.low
    assert ours[0] == pytest.approx(ref.low, abs=0.03 * width)
    assert ours[1] == pytest.approx(ref.high, abs=0.03 * width)


def test_estimate_handles_small_samples() -> None:
    assert estimate([]).mean is None
    one = estimate([0.5])
    assert (one.mean, one.low, one.high, one.n) == (0.5, 0.5, 0.5, 1)


@pytest.mark.parametrize(("a_only", "b_only"), [(12, 4), (3, 3), (0, 7), (25, 9), (1, 0)])
def test_mcnemar_exact_matches_binomtest(a_only: int, b_only: int) -> None:
    a = [1.0] * a_only + [0.0] * b_only + [1.0] * 30 + [0.0] * 10
    b = [0.0] * a_only + [1.0] * b_only + [1.0] * 30 + [0.0] * 10
    result = mcnemar(a, b)
    expected = sps.binomtest(a_only, a_only + b_only, 0.5).pvalue
    assert (result.a_only, result.b_only) == (a_only, b_only)
    assert result.p_exact == pytest.approx(expected, rel=1e-12)
    k, n = min(a_only, b_only), a_only + b_only
    midp = min(1.0, 2 * sps.binom.cdf(k, n, 0.5) - sps.binom.pmf(k, n, 0.5))
    assert result.p_midp == pytest.approx(midp, rel=1e-9)
    assert result.p_midp <= result.p_exact


@pytest.mark.parametrize(
    ("a_only", "b_only", "exact", "midp"),
    [
        (0, 7, 2 / 2**7, 1 / 2**7),  # both tails of Binomial(7, 1/2) at 0 and 7
        (12, 4, 2 * 2517 / 2**16, (2 * 2517 - 1820) / 2**16),  # P(X <= 4), n = 16: 2517/65536
        (3, 3, 1.0, 1.0),
        (0, 0, 1.0, 1.0),
    ],
)
def test_mcnemar_by_hand(a_only: int, b_only: int, exact: float, midp: float) -> None:
    a = [1.0] * a_only + [0.0] * b_only + [1.0, 0.0]
    b = [0.0] * a_only + [1.0] * b_only + [1.0, 0.0]
    result = mcnemar(a, b)
    assert result.p_exact == pytest.approx(exact, rel=1e-12)
    assert result.p_midp == pytest.approx(min(1.0, midp), rel=1e-12)


def test_mcnemar_on_random_pairs() -> None:
    result = mcnemar(BINARY_A, BINARY_B)
    n = result.a_only + result.b_only
    assert result.p_exact == pytest.approx(sps.binomtest(result.a_only, n).pvalue)


def test_paired_bootstrap_detects_a_real_difference_and_not_a_null_one() -> None:
    better = SCORES + 0.1 + RNG.normal(0, 0.02, size=SCORES.size)
    diff, low, high, p = paired_bootstrap(better, SCORES)
    assert diff == pytest.approx(0.1, abs=0.01)
    assert low < diff < high and low > 0
    assert p < 0.01
    noise = SCORES + RNG.normal(0, 0.1, size=SCORES.size)
    noise -= noise.mean() - SCORES.mean()
    _, low, high, p = paired_bootstrap(noise, SCORES)
    assert low < 0 < high and p > 0.2
