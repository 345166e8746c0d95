"""Label files as users have them: nulls, costs, token counts, scales, any number of models, and
every fault named by file:line and field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from modelyard.route.datasets import (
    LabelError,
    Price,
    concat,
    read_labels,
    read_prices,
)
from modelyard.route.training import request_costs


def write(tmp_path: Path, *rows: object, name: str = "labels.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), "utf-8"
    )
    return path


ROW = {"id": "r", "prompt": "What is 2 + 2?", "labels": {"a": 1, "b": 0}}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r":2: not JSON"),
        ("[1, 2]", r":2: a row must be a JSON object, not list"),
        ('"just text"', r":2: a row must be a JSON object, not str"),
        ({"labels": {"a": 1}}, r":2: prompt: missing"),
        ({"prompt": 7, "labels": {"a": 1}}, r":2: prompt: must be a string, not int"),
        ({"messages": "hi", "labels": {"a": 1}}, r":2: messages: must be a list"),
        ({"messages": ["hi"], "labels": {"a": 1}}, r":2: messages: must be a list"),
        ({"prompt": "p"}, r":2: labels: must be a non-empty object"),
        ({"prompt": "p", "labels": {}}, r":2: labels: must be a non-empty object"),
        ({"prompt": "p", "labels": [1, 0]}, r":2: labels: must be a non-empty object"),
        ({"prompt": "p", "labels": {"a": "high"}}, r":2: labels\.a: 'high' is not a finite"),
        ({"prompt": "p", "labels": {"a": True}}, r":2: labels\.a: True is not a finite"),
        ({"prompt": "p", "labels": {"a": 1}, "costs": {"a": -1}}, r":2: costs\.a: -1 is not"),
        ({"prompt": "p", "labels": {"a": 1}, "costs": {"a": None}}, r":2: costs\.a: None"),
        ({"prompt": "p", "labels": {"a": 1}, "costs": 3}, r":2: costs: must be a non-empty"),
        (
            {"prompt": "p", "labels": {"a": 1}, "output_tokens": {"a": "x"}},
            r":2: output_tokens\.a: 'x'",
        ),
        ({"prompt": "p", "labels": {"a": 1}, "input_tokens": -5}, r":2: input_tokens: -5"),
        ({"prompt": "p", "labels": {"a": 1}, "responses": "text"}, r":2: responses: must be"),
        ({"prompt": "p", "labels": {"a": 1}, "responses": {"a": 3}}, r":2: responses: must be"),
    ],
)
def test_a_bad_row_names_file_line_and_field(tmp_path: Path, line: object, message: str) -> None:
    path = write(tmp_path, ROW, line)
    with pytest.raises(LabelError, match=r"labels\.jsonl" + message):
        read_labels(path)


def test_non_finite_numbers_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, ROW, '{"prompt": "p", "labels": {"a": NaN}}')
    with pytest.raises(LabelError, match=r"labels\.jsonl:2: labels\.a: nan is not a finite"):
        read_labels(path)


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_bytes(json.dumps(ROW).encode() + b"\n" + b'{"prompt": "\xff"}\n')
    with pytest.raises(LabelError, match=r"labels\.jsonl:2: not JSON"):
        read_labels(path)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(LabelError, match="no such label file"):
        read_labels(tmp_path / "none.jsonl")
    with pytest.raises(LabelError, match="no usable rows"):
        read_labels(write(tmp_path, "", "   "))
    nulls = {"prompt": "p", "labels": {"a": None, "b": None}}
    with pytest.raises(LabelError, match="every score null"):
        read_labels(write(tmp_path, nulls, nulls))


def test_null_scores_are_skipped_and_counted(tmp_path: Path) -> None:
    rows = [
        {"prompt": "one", "labels": {"a": 1, "b": None}},
        {"prompt": "two", "labels": {"a": None, "b": None}},
        {"prompt": "three", "labels": {"a": 0, "b": 1}},
        {"prompt": "four", "labels": {"a": 1}, "contaminated": True},
    ]
    labels = read_labels(write(tmp_path, *rows))
    assert labels.texts == ["one", "three"] and labels.lines == [1, 3]
    assert labels.dropped == {"contaminated": 1, "null score": 3, "no known score": 1}
    assert np.isnan(labels.scores[0, 1]) and labels.scores[1].tolist() == [0.0, 1.0]
    complete = labels.complete()
    assert complete.texts == ["three"]
    assert complete.dropped["a chosen model's score unknown"] == 1
    only_b = labels.select_models(["b"])
    assert only_b.texts == ["three"] and only_b.dropped["no score for any chosen model"] == 1


def test_contaminated_rows_can_be_kept(tmp_path: Path) -> None:
    path = write(tmp_path, ROW, {**ROW, "id": "c", "contaminated": True})
    assert len(read_labels(path)) == 1 and len(read_labels(path, keep_contaminated=True)) == 2


@pytest.mark.parametrize(
    ("scores", "score_range", "expected"),
    [
        ([0.0, 0.25, 1.0], None, [0.0, 0.25, 1.0]),
        ([1.0, 5.5, 10.0], None, [0.0, 0.5, 1.0]),  # MT-Bench judge grades
        ([0.0, 50.0, 100.0], (0.0, 100.0), [0.0, 0.5, 1.0]),
        ([-1.0, 0.0, 1.0], (-1.0, 1.0), [0.0, 0.5, 1.0]),
    ],
)
def test_continuous_scores_scale_onto_0_1(tmp_path: Path, scores: list[float],
                                          score_range: tuple[float, float] | None,
                                          expected: list[float]) -> None:  # fmt: skip
    rows = [{"prompt": f"p{i}", "labels": {"a": s}} for i, s in enumerate(scores)]
    labels = read_labels(write(tmp_path, *rows), score_range=score_range)
    assert labels.scores[:, 0].tolist() == pytest.approx(expected)


def test_an_unknown_scale_asks_for_the_range(tmp_path: Path) -> None:
    rows = [{"prompt": "p", "labels": {"a": 0}}, {"prompt": "q", "labels": {"a": 37}}]
    with pytest.raises(LabelError, match=r"scores run from 0 to 37.*--score-range"):
        read_labels(write(tmp_path, *rows))
    with pytest.raises(LabelError, match=r"labels\.jsonl:2: labels\.a: 37 is outside the score"):
        read_labels(write(tmp_path, *rows), score_range=(0.0, 10.0))


def test_any_number_of_models_and_messages(tmp_path: Path) -> None:
    models = [f"m{i}" for i in range(12)]
    chat = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}]
    rows = [{"messages": chat, "labels": {m: (i + j) % 2 for j, m in enumerate(models)},
             "task_name": f"t{i % 3}"} for i in range(5)]  # fmt: skip
    labels = read_labels(write(tmp_path, *rows))
    assert labels.models == sorted(models) and labels.scores.shape == (5, 12)
    assert labels.prompts[0].user == "Hi" and labels.prompts[0].system == "Be terse."
    assert labels.categories == ["t0", "t1", "t2", "t0", "t1"]


def test_per_row_costs_and_tokens_win_over_prices(tmp_path: Path) -> None:
    rows = [
        {"prompt": "a", "labels": {"x": 1, "y": 1}, "costs": {"x": 0.5}},
        {"prompt": "b", "labels": {"x": 1, "y": 0}, "input_tokens": 1000,
         "output_tokens": {"y": 10}},
        {"prompt": "c", "labels": {"x": 0, "y": 1}},
    ]  # fmt: skip
    labels = read_labels(write(tmp_path, *rows))
    prices = [Price(1.0, 2.0), Price(10.0, 20.0)]
    costs = request_costs(labels, prices, np.array([100, 100, 200]))
    assert costs[0, 0] == 0.5  # the file's own cost
    assert costs[0, 1] == pytest.approx((100 * 10 + 256 * 20) / 1e6)  # counted, 256 assumed
    assert costs[1, 1] == pytest.approx((1000 * 10 + 10 * 20) / 1e6)  # the file's tokens
    assert costs[2, 0] == pytest.approx((200 * 1 + 256 * 2) / 1e6)


def test_without_prices_every_cell_needs_a_cost(tmp_path: Path) -> None:
    rows = [{"prompt": "a", "labels": {"x": 1, "y": 1}, "costs": {"x": 0.1, "y": 0.2}},
            {"prompt": "b", "labels": {"x": 1, "y": 0}, "costs": {"x": 0.1}}]  # fmt: skip
    labels = read_labels(write(tmp_path, *rows))
    with pytest.raises(LabelError, match=r"labels\.jsonl:2: costs\.y: no cost for this request"):
        request_costs(labels, None, np.array([5, 5]))
    calls = read_labels(write(tmp_path, ROW, name="plain.jsonl"))
    assert request_costs(calls, None, np.array([5])).tolist() == [[0.0, 1.0]]


def test_concat_keeps_each_files_scale(tmp_path: Path) -> None:
    binary = read_labels(write(tmp_path, ROW, name="a.jsonl"))
    grades = [{"prompt": "q", "labels": {"b": 10.0, "c": 5.5}},
              {"prompt": "r", "labels": {"b": 1.0, "c": 1.0}}]  # fmt: skip
    judged = read_labels(write(tmp_path, *grades, name="b.jsonl"))
    both = concat([binary, judged], "sha", "a, b")
    assert both.models == ["a", "b", "c"] and len(both) == 3
    assert both.scores.tolist()[0][:2] == [1.0, 0.0] and np.isnan(both.scores[0, 2])
    assert both.scores[1].tolist()[1:] == [1.0, 0.5] and np.isnan(both.scores[1, 0])


def test_select_unknown_model(tmp_path: Path) -> None:
    with pytest.raises(LabelError, match=r"model 'z' has no labels; the data has: a, b"):
        read_labels(write(tmp_path, ROW)).select_models(["a", "z"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{", "cannot read prices"),
        ("[1]", "prices must be an object"),
        ('{"m": {"input_price": 1}}', "m: needs numeric input_price and output_price"),
        ('{"m": {"input_price": "1", "output_price": 2}}', "m: needs numeric"),
        ('{"m": {"input_price": -1, "output_price": 2}}', "m: needs numeric"),
        ('{"m": 5}', "m: needs numeric"),
    ],
)
def test_bad_price_files(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "prices.json"
    path.write_text(body)
    with pytest.raises(LabelError, match=message):
        read_prices(path)


def test_llmrouter_prices(shared_data: Path) -> None:
    prices = read_prices(shared_data / "llmrouter" / "default_llm.json")
    assert len(prices) == 14 and all(p.input >= 0 and p.output >= 0 for p in prices.values())


def test_an_oversized_line_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.route import datasets

    monkeypatch.setattr(datasets, "MAX_LINE_BYTES", 1_000)
    path = write(tmp_path, ROW, {"prompt": "x" * 2_000, "labels": {"a": 1}})
    with pytest.raises(LabelError, match=r"labels\.jsonl:2: line of 2,0\d\d bytes; at most 1,000"):
        read_labels(path)


def test_replies_may_be_partial(tmp_path: Path) -> None:
    rows = [
        {"prompt": "a", "labels": {"x": 1, "y": 0}, "responses": {"x": "4"}},
        {"prompt": "b", "labels": {"x": 0, "y": 1}},
    ]
    labels = read_labels(write(tmp_path, *rows))
    assert labels.responses == {"x": ["4", None]}
    assert labels.subset([1]).responses == {"x": [None]}
    assert labels.select_models(["y"]).responses == {}


def test_ids_and_lines_follow_the_rows(tmp_path: Path) -> None:
    rows = [{"prompt": "a", "labels": {"x": 1}}, {"id": 7, "prompt": "b", "labels": {"x": 0}}]
    labels = read_labels(write(tmp_path, "", *rows))  # a blank first line
    assert labels.ids == ["2", "7"] and labels.lines == [2, 3]
    assert labels.subset([1]).lines == [3]
