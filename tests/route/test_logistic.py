"""The one ridge logistic regression (L-BFGS) every predictor uses."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from modelyard.route.logistic import fit_logistic, sigmoid


def _newton(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """The same problem by Newton's method (the reference)."""
    design = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(design.shape[1])
    ridge = np.full(design.shape[1], l2)
    ridge[-1] = 0.0
    for _ in range(50):
        p = sigmoid(design @ w)
        hess = (design * (p * (1 - p))[:, None]).T @ design + np.diag(ridge) + 1e-9 * np.eye(len(w))
        w -= np.linalg.solve(hess, design.T @ (p - y) + ridge * w)
    return w


def test_matches_newtons_optimum_with_soft_labels() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6))
    y = np.clip(sigmoid(x @ rng.normal(size=6)) + rng.normal(0, 0.1, 400), 0, 1)  # soft labels
    for l2 in (0.1, 10.0, 1000.0):
        np.testing.assert_allclose(fit_logistic(x, y, l2), _newton(x, y, l2), atol=2e-4)


def test_sparse_and_dense_rows_give_the_same_weights() -> None:
    rng = np.random.default_rng(1)
    dense = rng.normal(size=(200, 30)) * (rng.random((200, 30)) < 0.2)
    y = (rng.random(200) < 0.4).astype(float)
    np.testing.assert_allclose(
        fit_logistic(sp.csr_matrix(dense), y, 3.0), fit_logistic(dense, y, 3.0), atol=1e-6
    )


def test_the_bias_is_not_penalised() -> None:
    y = np.r_[np.ones(90), np.zeros(10)]
    w = fit_logistic(np.zeros((100, 2)), y, 1e6)
    assert abs(sigmoid(w[-1]) - 0.9) < 1e-4 and np.abs(w[:-1]).max() < 1e-9


def test_sigmoid_does_not_overflow() -> None:
    assert sigmoid(np.array([-1e9, 0.0, 1e9])).tolist() == [sigmoid(np.array(-30.0)), 0.5,
                                                           sigmoid(np.array(30.0))]  # fmt: skip
