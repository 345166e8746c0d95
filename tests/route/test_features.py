"""Prompt features: the answer-choice statistics, on the real static embedder."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.route import ngrams
from modelyard.route.embed import HEAD, WINDOW, window
from modelyard.route.features import (
    CHOICE_STATS,
    STATS,
    Featurizer,
    Prompt,
    answer_choices,
    system_grams,
)

NUANCED = """Which statement about the mitochondrion is correct?
A. It produces most of the cell's ATP by oxidative phosphorylation.
B. It produces most of the cell's ATP by substrate-level phosphorylation.
C. It produces some of the cell's ATP by oxidative phosphorylation.
D. It produces none of the cell's ATP by oxidative phosphorylation.
Answer:"""

DISTINCT = """Which organelle produces most of the cell's ATP?
A. The mitochondrion
B. A bicycle wheel
C. The French Revolution
D. Quarterly tax returns
Answer:"""


def choice_values(featurizer: Featurizer, text: str) -> dict[str, float]:
    x = featurizer.one(text).x
    start = len(x) - len(STATS) + STATS.index(CHOICE_STATS[0])
    return dict(zip(CHOICE_STATS, x[start : start + len(CHOICE_STATS)], strict=True))


def test_answer_choices_splits_question_and_options() -> None:
    text = "Pick one.\n(a) red apples\n  b) green pears\nc. plums"
    spans = answer_choices(text)
    assert [text[a:b] for a, b in spans] == ["Pick one.\n", "red apples", "green pears", "plums"]


def test_answer_choices_needs_two_options() -> None:
    assert answer_choices("A. Smith wrote a letter. What did he write?") == []


def test_no_choices_gives_zeros(featurizer: Featurizer) -> None:
    assert not any(choice_values(featurizer, "What is the capital of France?").values())


def test_each_part_embeds_as_if_alone(featurizer: Featurizer) -> None:
    """The prompt is tokenized once; each part's word pieces are those of the part alone."""
    embedder = featurizer.embedder
    ids, starts = embedder.token_spans(NUANCED)
    for a, b in answer_choices(NUANCED):
        lo, hi = (int(i) for i in starts.searchsorted([a, b]))
        assert ids[lo:hi] == embedder.token_ids(NUANCED[a:b])


def test_alike_choices_score_as_alike(featurizer: Featurizer) -> None:
    nuanced, distinct = choice_values(featurizer, NUANCED), choice_values(featurizer, DISTINCT)
    assert nuanced["choices_alike"] > distinct["choices_alike"] + 0.2
    assert nuanced["choices_farthest"] <= nuanced["choices_alike"] <= nuanced["choices_closest"]
    # the relevant option stands out from nonsense ones, not from near-copies of itself
    assert distinct["choice_margin"] > nuanced["choice_margin"]
    assert all(-1.0 <= v <= 1.0 for v in nuanced.values())


def test_feature_vector_holds_every_stat(featurizer: Featurizer) -> None:
    row = featurizer.one(NUANCED)
    assert len(row.x) == featurizer.embedder.dim + len(STATS) == len(featurizer.names)
    assert row.tokens == len(featurizer.embedder.token_ids(NUANCED))


@pytest.mark.parametrize(
    ("messages", "user", "system", "index"),
    [
        ([{"role": "user", "content": "hi"}], "hi", "", 0),
        (
            [{"role": "system", "content": "Be brief."}, {"role": "developer", "content": "JSON."},
             {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
             {"role": "user", "content": "c"}],
            "c", "Be brief.\nJSON.", 4,
        ),
        ([{"role": "user", "content": [{"type": "text", "text": "look"},
                                        {"type": "image_url", "image_url": {"url": "x"}},
                                        {"type": "text", "text": 5}, "junk"]}], "look", "", 0),
        ([{"role": "assistant", "content": "only me"}], "", "", -1),
        ([{"role": "user", "content": None}], "", "", 0),
        ([], "", "", -1),
    ],
)  # fmt: skip
def test_prompt_of_messages(messages: list, user: str, system: str, index: int) -> None:
    prompt = Prompt.of(messages)
    assert (prompt.user, prompt.system, prompt.index) == (user, system, index)


def test_the_window_reads_head_and_tail() -> None:
    ids = list(range(1000))
    read = window(ids)
    assert len(read) == WINDOW and read[:HEAD] == ids[:HEAD] and read[-1] == 999
    assert window(ids[:10]) == ids[:10]


def test_a_question_after_a_long_document_changes_the_embedding(featurizer: Featurizer) -> None:
    document = "The quarterly report covers revenue, costs and staffing in detail. " * 60
    a = featurizer.one(document + "Question: what is the capital of France?")
    b = featurizer.one(document + "Question: prove that there are infinitely many primes.")
    emb = featurizer.embedder.dim
    assert float(a.x[:emb] @ b.x[:emb]) < 0.999  # the tail is read
    assert a.tokens > 700  # and every token counted, past the sample


def test_the_system_prompt_is_its_own_feature(featurizer: Featurizer) -> None:
    plain = featurizer.one(Prompt("Summarise this memo."))
    framed = featurizer.one(Prompt("Summarise this memo.", "You are a legal assistant."))
    assert (plain.x[:-1] == framed.x[:-1]).all()  # the user turn reads the same
    assert plain.x[-1] == 0 and framed.x[-1] > 0  # system_chars
    extra = set(framed.grams.tolist()) - set(plain.grams.tolist())
    legal = set(ngrams.buckets("You are a legal assistant.").tolist())
    assert extra and not (extra & legal)  # hashed apart from the same words in a user turn
    assert (
        system_grams("You are a legal assistant.") == system_grams("You are a legal assistant.")
    ).all()


def test_other_messages_are_counted_once_and_remembered(featurizer: Featurizer) -> None:
    history = "An earlier turn of the conversation. " * 10
    prompt = Prompt("and now?", "", 1)
    row = featurizer.one(prompt)
    texts = [history, "and now?"]
    first = featurizer.count(texts, prompt, row)
    assert first == 2 * 4 + row.tokens + len(featurizer.embedder.token_ids(history))
    hits = featurizer._pieces.cache_info().hits
    assert featurizer.count(texts, prompt, row) == first
    assert featurizer._pieces.cache_info().hits == hits + 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {"log_numbers": 0.0, "digit_share": 0.0, "code_marks": 0.0, "questions": 0.0}),
        ("What is 12 + 30?", {"log_numbers": np.log1p(2), "questions": np.log1p(1),
                              "math_marks": np.log1p(1)}),
        ("def f(x):\n    return x", {"code_marks": np.log1p(2), "log_lines": np.log1p(1)}),
        ("Pick:\nA. one\nB. two\n(c) three", {"choices": np.log1p(3)}),
        ("1,234.5 and 6", {"log_numbers": np.log1p(2)}),
    ],
)  # fmt: skip
def test_text_statistics(text: str, expected: dict[str, float]) -> None:
    from modelyard.route.features import TEXT_STATS, text_stats

    values = dict(zip(TEXT_STATS, text_stats(text, 10).tolist(), strict=True))
    for name, value in expected.items():
        assert values[name] == pytest.approx(value, rel=1e-6), name
    assert values["log_chars"] == pytest.approx(np.log1p(len(text)))
    assert text_stats(text, 10, n_chars=10_000)[0] == pytest.approx(np.log1p(10_000))
