"""What a reply says about itself: re-done arithmetic, final answers, the feature vector."""

from __future__ import annotations

import pytest

from modelyard.route.reply import REPLY_FEATURES, arithmetic, evaluate, mistakes, reply_features

JANET = """Janet starts with 16 eggs per day.
She eats 3 for breakfast, so she has 16 - 3 = 13 eggs left.
She uses 4 for baking, so she has 13 - 4 = 8 eggs left.
She sells these eggs for 9 * $2 = $<<9*2=18>>18.
#### 18"""


def test_wrong_calculations_are_found_as_written() -> None:
    assert arithmetic(JANET) == (3, 1)
    assert mistakes(JANET) == ["13 - 4 = 8"]
    assert mistakes("So 80000+50000 = <<80000+50000=13000>>13000.") == ["80000+50000 = 13000"]


@pytest.mark.parametrize(
    "text",
    [
        "100 / 3 = 33.33, and 2 / 3 = 0.67",  # rounded to the decimals written
        "3 x 60 = 180 and 180 × 3 = 540 and 1,200 + 300 = 1,500",
        "2/2 * 1/2 = 1/2 of a bolt",  # the result is a fraction: not checked
        "In 2023-11 = ? no claim",
        "Solve 2x + 3 = 7 for x",  # algebra, not a calculation
    ],
)
def test_right_or_unclaimed_calculations_are_not_mistakes(text: str) -> None:
    assert mistakes(text) == []


def test_evaluation_takes_numbers_and_four_operations_only() -> None:
    assert evaluate("(1 + 2) * 3") == 9.0
    assert evaluate("$1,200 ÷ 4") == 300.0
    assert evaluate("-4 - 2") == -6.0
    for hostile in ("2**99999999", "__import__('os')", "1/0", "(1).real", "9 % 2"):
        assert evaluate(hostile) is None


def test_features_read_the_final_answer() -> None:
    features = dict(zip(REPLY_FEATURES, reply_features(JANET), strict=True))
    assert features["final_marker"] == features["final_number"] == features["final_integer"] == 1
    assert features["final_is_last"] == 1  # 18 is the last number worked out
    assert (features["wrong"], features["any_wrong"]) == (1, 1)
    hedged = dict(
        zip(REPLY_FEATURES, reply_features("However, it seems the answer is 2.5"), strict=True)
    )
    assert (hedged["hedge"], hedged["final_number"], hedged["final_integer"]) == (1, 1, 0)
    assert not reply_features("").any()


@pytest.mark.parametrize(
    ("text", "final"),
    [
        ("So the total is 42.\n#### 42", (1, 1, 1, 1)),
        ("The answer is $1,250.", (1, 1, 1, 0)),  # no working before it
        ("Answer: 3.5 liters", (1, 1, 0, 0)),
        ("\\boxed{7}", (1, 1, 1, 0)),
        ("It is 3 + 4 = 7, so the answer is 8", (1, 1, 1, 0)),  # not the last number worked out
        ("I cannot tell.", (0, 0, 0, 0)),
        ("The answer is unclear", (1, 0, 0, 0)),
    ],
)
def test_final_answer_features(text: str, final: tuple[int, int, int, int]) -> None:
    f = dict(zip(REPLY_FEATURES, reply_features(text), strict=True))
    got = (f["final_marker"], f["final_number"], f["final_integer"], f["final_is_last"])
    assert got == final


@pytest.mark.parametrize(
    "hostile",
    [
        "1" * 50_000,
        "1,2" * 20_000,
        "1 + " * 10_000 + "1 = 5",
        ("9" * 30 + " * ") * 2_000 + "= 1",
        "<<" * 20_000,
        "= " * 30_000,
    ],
)
def test_hostile_replies_are_read_in_bounded_time(hostile: str) -> None:
    import time

    start = time.perf_counter()
    reply_features(hostile)
    mistakes(hostile)
    assert time.perf_counter() - start < 2.0
