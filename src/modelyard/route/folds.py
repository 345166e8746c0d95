"""Which rows predict which: the folds of cross-validation and of the model's inner stacking.

When the rows carry tasks (a category field such as LLMRouter's ``task_name``), the inner folds
hold whole tasks: the out-of-fold predictions the blender and the routing threshold are fitted
on are then predictions for tasks the predictors never saw, as a new task's prompts will be.
"""

from __future__ import annotations

import numpy as np


def fold_ids(n: int, folds: int, seed: int = 0) -> np.ndarray:
    """A fold number per row, shuffled reproducibly."""
    return np.random.default_rng(seed).permutation(n) % folds


def inner_folds(n: int, folds: int, groups: np.ndarray | None, seed: int) -> np.ndarray:
    """A fold number per row: whole groups per fold when there are at least two groups (then
    ``min(folds, groups)`` folds), else the rows shuffled into ``folds``."""
    if groups is None or len(np.unique(groups)) < 2:
        return fold_ids(n, folds, seed)
    names = np.unique(groups)
    k = min(folds, len(names))
    order = np.random.default_rng(seed).permutation(len(names))
    fold_of = dict(zip(names[order], np.arange(len(names)) % k, strict=True))
    return np.array([fold_of[g] for g in groups])


def task_groups(categories: list[str]) -> np.ndarray | None:
    """The rows' categories as group labels, or None when they are all one."""
    return np.array(categories) if len(set(categories)) > 1 else None
