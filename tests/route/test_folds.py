"""Folds of the inner stacking: whole tasks per fold when the rows name tasks."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.route.folds import fold_ids, inner_folds, task_groups


def test_rows_are_shuffled_into_balanced_folds() -> None:
    ids = fold_ids(100, 3, seed=5)
    assert np.bincount(ids).tolist() == [34, 33, 33]
    assert (ids == fold_ids(100, 3, seed=5)).all() and (ids != fold_ids(100, 3, seed=6)).any()


@pytest.mark.parametrize(("tasks", "folds"), [(7, 3), (2, 2), (3, 3), (12, 3)])
def test_a_task_never_spans_two_folds(tasks: int, folds: int) -> None:
    groups = np.array([f"t{i % tasks}" for i in range(240)])
    ids = inner_folds(240, 3, groups, seed=1)
    assert len(np.unique(ids)) == folds
    for task in np.unique(groups):
        assert len(np.unique(ids[groups == task])) == 1


def test_one_task_or_none_falls_back_to_rows() -> None:
    assert (inner_folds(30, 3, None, 0) == fold_ids(30, 3, 0)).all()
    assert (inner_folds(30, 3, np.array(["a"] * 30), 0) == fold_ids(30, 3, 0)).all()


def test_task_groups() -> None:
    assert task_groups(["all", "all"]) is None
    assert task_groups(["a", "b", "a"]).tolist() == ["a", "b", "a"]
