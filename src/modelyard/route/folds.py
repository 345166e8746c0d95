"""Which rows predict which: the folds of cross-validation and of the model's inner stacking.

When the rows carry MIN_GROUPS tasks or more (a category field such as LLMRouter's
``task_name``), the inner folds hold whole tasks: the out-of-fold predictions the blender and the
routing threshold are fitted on are then predictions for tasks the predictors never saw, as a
new task's prompts will be. Tasks are dealt to folds largest first, each to the fold with the
fewest rows, so no fold is predicted from a sliver of the data. With fewer tasks (two files, say)
a fold would be predicted from one other task alone, which says little about a third: the rows
are shuffled into folds instead.
"""

from __future__ import annotations

import numpy as np

MIN_GROUPS = 4


def fold_ids(n: int, folds: int, seed: int = 0) -> np.ndarray:
    """A fold number per row, shuffled reproducibly."""
    return np.random.default_rng(seed).permutation(n) % folds


def inner_folds(n: int, folds: int, groups: np.ndarray | None, seed: int) -> np.ndarray:
    """A fold number per row: whole groups per fold when there are MIN_GROUPS groups or more,
    else the rows shuffled into ``folds`` (module docstring)."""
    if groups is None or len(np.unique(groups)) < MIN_GROUPS:
        return fold_ids(n, folds, seed)
    names, sizes = np.unique(groups, return_counts=True)
    shuffled = np.random.default_rng(seed).permutation(len(names))
    load = np.zeros(folds)
    fold_of = {}
    for i in sorted(shuffled, key=lambda i: -sizes[i]):  # stable: ties keep the shuffled order
        fold_of[names[i]] = int(np.argmin(load))
        load[fold_of[names[i]]] += sizes[i]
    return np.array([fold_of[g] for g in groups])


def task_groups(categories: list[str]) -> np.ndarray | None:
    """The rows' categories as group labels, or None when they are all one."""
    return np.array(categories) if len(set(categories)) > 1 else None
