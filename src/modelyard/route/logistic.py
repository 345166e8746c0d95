"""Ridge logistic regression with soft labels, fitted by scipy's L-BFGS on dense or sparse rows.

Every predictor of the router uses it: the embedding regression, the n-gram regression, the
blender, the cascade's reply scorer and the baselines. The bias is not penalised. L-BFGS costs
one pass over the rows per step where Newton's method builds a (d × d) Hessian: with 272 dense
features and nine candidates the same optimum comes 20–50× sooner (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

MAX_ITER = 500
TOLERANCE = 1e-7


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def fit_logistic(x: np.ndarray | sp.csr_matrix, y: np.ndarray, l2: float) -> np.ndarray:
    """Weights (bias last) minimising the summed log-loss of soft labels ``y`` in [0, 1] plus
    ``l2 / 2 × |w|²`` (bias excluded)."""

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w[:-1] + w[-1]
        g = sigmoid(z) - y
        nll = np.logaddexp(0, z).sum() - y @ z + 0.5 * l2 * (w[:-1] @ w[:-1])
        return float(nll), np.concatenate([x.T @ g + l2 * w[:-1], [g.sum()]])

    start = np.zeros(x.shape[1] + 1)
    options = {"maxiter": MAX_ITER, "gtol": TOLERANCE}
    return minimize(loss, start, jac=True, method="L-BFGS-B", options=options).x  # type: ignore[call-overload]
