"""Scorers on hand-written replies and on real rows of the shared eval sets."""

from __future__ import annotations

import asyncio
import gzip
import json
import sys
from pathlib import Path

import pytest

from modelyard.errors import EvalError
from modelyard.eval.schema import Item, Score, ScorerSpec
from modelyard.eval.scorers import (
    ScoreContext,
    check_instructions,
    combine,
    create_scorer,
    detect_language,
    extract_number,
    parse_rating,
    parse_verdict,
)


def grade(name: str, output: str, reference: object = None, **args: object) -> Score:
    item = Item(id="x", prompt="q", reference=reference)
    fn = create_scorer(ScorerSpec(name=name, args=args))
    return asyncio.run(fn(ScoreContext(item=item, output=output)))


def test_match_scorers() -> None:
    assert grade("exact", " Paris \n", "Paris").value == 1
    assert grade("exact", "paris", "Paris").value == 0
    assert grade("normalized", "PARIS!", ["Lyon", "paris"]).value == 1
    assert grade("contains", "It is Paris, of course", "paris").value == 1
    assert grade("contains", "Paris and Rome", ["paris", "berlin"], all=True).value == 0
    assert grade("regex", "Order #A-1234 shipped", pattern=r"#A-\d{4}").answer == "#A-1234"


def test_numeric_gsm8k_and_mgsm_prefixes() -> None:
    assert extract_number("so 3 + 4 = 7\n#### 1,234") == ("1234", "after ####")
    assert (
        grade("numeric", "Il reste 9 œufs, 9 × 2 = 18.\nRéponse : 18", "18", prefix="Réponse").value
        == 1
    )
    assert grade("numeric", "答え: 18 ドル。合計 3 回", "18", prefix="答え").value == 1
    assert grade("numeric", "Antwort: 18", "18", prefix="Réponse").value == 1
    assert grade("numeric", "The total is 17 dollars", "18").value == 0
    assert grade("numeric", "no digits here", "18").answer is None
    assert grade("numeric", "x = -15.0", -15).value == 1


def test_json_scorers() -> None:
    schema = {
        "type": "object",
        "required": ["name", "age"],
        "additionalProperties": False,
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    }
    good = grade("json_schema", '```json\n{"name": "Ann", "age": 3}\n```', schema)
    assert good.value == 1, good.explanation
    bad = grade("json_schema", '{"name": "Ann", "age": "3", "x": 1}', schema)
    assert bad.value == 0
    assert "$.age: expected integer" in bad.explanation and "unexpected 'x'" in bad.explanation
    assert grade("json_valid", "{oops").value == 0
    assert (
        grade("json_schema", "[true]", {"type": "array", "items": {"type": "integer"}}).value == 0
    )


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The weather is nice today and I am going to the park with my friends.", "en"),
        ("Le ciel est bleu parce que la lumière du soleil est diffusée dans l'atmosphère.", "fr"),
        ("Der Himmel ist blau, weil das Sonnenlicht in der Atmosphäre gestreut wird.", "de"),
        ("El cielo es azul porque la luz del sol se dispersa en la atmósfera.", "es"),
        ("天空是蓝色的，因为阳光在大气中发生了散射。", "zh"),
        ("空が青いのは、太陽の光が大気中で散乱されるからです。", "ja"),
    ],
)
def test_language_detector(text: str, lang: str) -> None:
    assert detect_language(text)[0] == lang
    item = Item(id="x", prompt="q", language=lang)
    fn = create_scorer(ScorerSpec(name="language"))
    assert asyncio.run(fn(ScoreContext(item=item, output=text))).value == 1


def test_language_detector_says_unknown_when_unsure() -> None:
    assert detect_language("OK")[0] == "unknown"
    assert grade("language", "Bonjour", expected="pt").value is None


def test_ifeval_checks() -> None:
    verdicts = check_instructions(
        "HELLO WORLD, this has a comma\nP.S. bye",
        [
            "en:punctuation:no_comma",
            "fr:change_case:capital_word_frequency",
            "en:detectable_content:postscript",
            "es:punctuation:question_marks",
        ],
        [
            {},
            {"capital_relation": "au moins", "capital_frequency": 2},
            {"postscript_marker": "P.S."},
            {},
        ],
    )
    assert verdicts["followed"] == {
        "en:punctuation:no_comma": False,
        "fr:change_case:capital_word_frequency": True,
        "en:detectable_content:postscript": True,
    }
    assert verdicts["unsupported"] == ["es:punctuation:question_marks"]


@pytest.mark.data
def test_ifeval_on_real_m_ifeval_rows(shared_data: Path) -> None:
    rows = [
        json.loads(line)
        for line in (shared_data / "evals/m_ifeval/fr_input_data.jsonl").read_text().splitlines()
    ]
    row = next(r for r in rows if r["instruction_id_list"] == ["fr:punctuation:no_comma"])
    ref = {"instruction_id_list": row["instruction_id_list"], "kwargs": row["kwargs"]}
    assert grade("ifeval", "Une réponse sans virgule.", ref).value == 1
    assert grade("ifeval", "Une réponse, avec virgule.", ref).value == 0
    supported = sum(
        bool(check_instructions("x", r["instruction_id_list"], r["kwargs"])["followed"])
        for r in rows
    )
    assert supported > 0.8 * len(rows)


def test_judge_parsing_and_both_orders() -> None:
    assert parse_rating("Good answer. Rating: [[8]]") == 8
    assert parse_rating("Rating: [7.5]") == 7.5
    assert parse_rating("no score [[11]]") is None
    assert parse_verdict("... [[B]]") == "B"
    assert combine("A", "B") == (1.0, "win")
    assert combine("B", "A") == (0.0, "loss")
    assert combine("A", "A")[0] == 0.5 and "inconsistent" in combine("A", "A")[1]


def test_judge_scorers_with_a_scripted_judge() -> None:
    calls: list[str] = []

    async def judge(messages: list[dict[str, str]]) -> str:
        text = messages[-1]["content"]
        calls.append(text)
        if "Assistant A" not in text:
            return "Rating: [[9]]"
        first = text.split("[The Start of Assistant A's Answer]\n")[1]
        return "[[A]]" if first.startswith("good") else "[[B]]"

    item = Item(id="x", prompt="q")
    pair = create_scorer(ScorerSpec(name="pairwise"))
    ctx = ScoreContext(
        item=item,
        output="good reply",
        model="m2",
        judge=judge,
        outputs={"m1": "weak reply", "m2": "good reply"},
    )
    score = asyncio.run(pair(ctx))
    assert score.value == 1.0 and len(calls) == 2
    single = create_scorer(ScorerSpec(name="judge"))
    assert asyncio.run(single(ScoreContext(item=item, output="x", judge=judge))).value == 9
    with pytest.raises(EvalError, match="--judge"):
        asyncio.run(single(ScoreContext(item=item, output="x")))


def shout_score(output: str, item: Item) -> float:
    return float(output.isupper())


def test_custom_python_scorer() -> None:
    sys.modules.setdefault("eval_custom_scorers", sys.modules[__name__])
    name = f"{__name__}:shout_score"
    assert grade(name, "LOUD").value == 1
    with pytest.raises(EvalError, match="cannot be imported"):
        create_scorer(ScorerSpec(name="no_such_module_xyz:fn"))
    with pytest.raises(EvalError, match="not known"):
        create_scorer(ScorerSpec(name="nope"))


@pytest.mark.usefixtures("isolated")
def test_code_scorer_passes_and_fails() -> None:
    ref = {"entry_point": "add", "test": "def check(f):\n    assert f(2, 3) == 5\n"}
    passed = grade("code", "```python\ndef add(a, b):\n    return a + b\n```", ref)
    assert passed.value == 1 and passed.metadata["isolation"] == "bubblewrap"
    failed = grade("code", "```python\ndef add(a, b):\n    return a - b\n```", ref)
    assert failed.value == 0 and "AssertionError" in failed.explanation
    with pytest.raises(EvalError, match="needs a reference"):
        grade("code", "def add(a, b): pass", ["not", "tests"])


@pytest.mark.data
@pytest.mark.usefixtures("isolated")
def test_code_scorer_on_every_humaneval_canonical_solution(shared_data: Path) -> None:
    """All 164 canonical solutions pass and the bare prompts fail: the two-process test stage
    keeps HumanEval's meaning."""
    with gzip.open(shared_data / "evals/humaneval/HumanEval.jsonl.gz", "rt") as handle:
        rows = [json.loads(line) for line in handle]
    fn = create_scorer(ScorerSpec(name="code"))

    async def score(row: dict[str, str], body: str) -> float | None:
        ref = {k: row[k] for k in ("prompt", "test", "entry_point")}
        item = Item(id=row["task_id"], prompt="q", reference=ref)
        return (await fn(ScoreContext(item=item, output=f"```python\n{body}```"))).value

    async def everything() -> tuple[list[float | None], list[float | None]]:
        good = [score(r, r["prompt"] + r["canonical_solution"]) for r in rows]
        bare = [score(r, r["prompt"] + "    return None\n") for r in rows]
        return await asyncio.gather(*good), await asyncio.gather(*bare)

    good, bare = asyncio.run(everything())
    assert [r["task_id"] for r, v in zip(rows, good, strict=True) if v != 1] == []
    assert [r["task_id"] for r, v in zip(rows, bare, strict=True) if v != 0] == []
