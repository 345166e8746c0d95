"""Prompt features: the answer-choice statistics, on the real static embedder."""

from __future__ import annotations

from modelyard.route.features import CHOICE_STATS, STATS, Featurizer, answer_choices

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
