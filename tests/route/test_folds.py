"""Folds of the inner stacking: whole tasks per fold when the rows name tasks."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.route.folds import fold_ids, inner_folds, task_groups


def test_rows_are_shuffled_into_balanced_folds() -> None:
    ids = fold_ids(100, 3, seed=5)
    assert np.bincount(ids).tolist() == [34, 33, 33]
    assert (ids == fold_ids(100, 3, seed=5)).all() and (ids != fold_ids(100, 3, seed=6)).any()


@pytest.mark.parametrize("tasks", [4, 7, 12])
def test_a_task_never_spans_two_folds(tasks: int) -> None:
    groups = np.array([f"t{i % tasks}" for i in range(240)])
    ids = inner_folds(240, 3, groups, seed=1)
    assert len(np.unique(ids)) == 3
    for task in np.unique(groups):
        assert len(np.unique(ids[groups == task])) == 1


def test_tasks_are_dealt_to_balance_the_folds() -> None:
    groups = np.array(["big"] * 600 + ["a"] * 200 + ["b"] * 200 + ["c"] * 190 + ["d"] * 10)
    sizes = sorted(np.bincount(inner_folds(len(groups), 3, groups, seed=0)).tolist())
    assert sizes == [210, 390, 600]  # greedy: largest first, each to the lightest fold


@pytest.mark.parametrize("groups", [None, ["a"] * 30, ["a", "b", "c"] * 10])
def test_fewer_than_four_tasks_fall_back_to_rows(groups: list[str] | None) -> None:
    given = None if groups is None else np.array(groups)
    assert (inner_folds(30, 3, given, 0) == fold_ids(30, 3, 0)).all()


def test_task_groups() -> None:
    assert task_groups(["all", "all"]) is None
    assert task_groups(["a", "b", "a"]).tolist() == ["a", "b", "a"]
