"""Shared prefixes (a system text, a few-shot block) found in training prompts and read past."""

from __future__ import annotations

import json

import pytest

from modelyard.route.prefixes import MIN_CHARS, PrefixTable, digest

FEW_SHOT = (
    "Answer with the letter of the right choice.\n\n"
    "Q: What is the capital of France?\nA. Paris\nB. Rome\nAnswer: A\n\n"
    "Q: What is 2 + 2?\nA. 3\nB. 4\nAnswer: B\n\n"
)
QUESTIONS = [f"Q: What is {i} times {i + 1}?\nA. {i * (i + 1)}\nB. {i}\nAnswer:" for i in range(60)]


def words(text: str) -> int:
    return len(text.split())


def test_a_few_shot_block_shared_by_most_prompts_is_found() -> None:
    stories = [f"Tell me a story about dragon {i}." for i in range(40)]
    table = PrefixTable.fit([FEW_SHOT + q for q in QUESTIONS] + stories, words)
    # every question also opens with "Q: What is ": the block and the block with those words
    assert [p.chars for p in table.prefixes] == [len(FEW_SHOT + "Q: What is "), len(FEW_SHOT)]
    block = table.prefixes[1]
    assert block.rows == 60 and block.tokens == words(FEW_SHOT)
    rest, tokens = table.cut(FEW_SHOT + "Q: Who wrote Hamlet?")
    assert rest == "Q: Who wrote Hamlet?" and tokens == block.tokens
    assert table.cut(FEW_SHOT + "Q: What is love?") == ("love?", words(FEW_SHOT + "Q: What is "))
    assert table.cut("Tell me a story.") == ("Tell me a story.", 0)


def test_the_file_keeps_hashes_not_text() -> None:
    table = PrefixTable.fit([FEW_SHOT + q for q in QUESTIONS], words)
    stored = json.dumps(table.to_list())
    assert "capital of France" not in stored
    assert table.to_list()[-1]["digest"] == digest(FEW_SHOT)
    assert PrefixTable.from_list(json.loads(stored)) == table


def test_prefix_is_cut_at_a_word_boundary() -> None:
    # the questions share "Q: What is 1" and more; the cut never splits a word
    stem = "Please read the following passage carefully before answering the question below. " * 2
    texts = [stem + f"Passage {i}: alpha{i} beta{i}" for i in range(30)]
    (prefix,) = PrefixTable.fit(texts, words).prefixes
    assert texts[0][: prefix.chars] == stem + "Passage "  # the last shared whole word
    assert texts[0][prefix.chars - 1] == " "


@pytest.mark.parametrize(
    ("texts", "why"),
    [
        ([f"Short shared {i}" for i in range(50)], "shorter than MIN_CHARS"),
        (
            [FEW_SHOT + q for q in QUESTIONS[:3]] + [f"other {i}" for i in range(200)],
            "too few rows",
        ),
        ([FEW_SHOT] * 50, "a duplicate is not a shared opening"),
        ([], "no prompts"),
        (["", "", ""], "empty prompts"),
    ],
)
def test_nothing_is_stripped_when_nothing_is_shared(texts: list[str], why: str) -> None:
    assert PrefixTable.fit(texts, words).prefixes == (), why


def test_the_longest_matching_prefix_wins() -> None:
    longer = FEW_SHOT + "Q: What is 7 + 8?\nA. 15\nB. 16\nAnswer: A\n\n"
    texts = [FEW_SHOT + q for q in QUESTIONS[:30]] + [longer + q for q in QUESTIONS[30:]]
    table = PrefixTable.fit(texts, words)
    assert {len(longer), len(FEW_SHOT)} <= {p.chars for p in table.prefixes}
    assert [p.chars for p in table.prefixes] == sorted((p.chars for p in table.prefixes),
                                                      reverse=True)  # fmt: skip
    assert table.cut(longer + "tail")[0] == "tail"
    assert table.cut(FEW_SHOT + "tail")[0] == "tail"


def test_a_prompt_that_is_only_the_prefix_is_kept_whole() -> None:
    table = PrefixTable.fit([FEW_SHOT + q for q in QUESTIONS], words)
    assert table.cut(FEW_SHOT) == (FEW_SHOT, 0)


@pytest.mark.parametrize(
    "raw",
    [[{"chars": 70}], [{"chars": "x", "digest": "d", "tokens": 1, "rows": 1}], [5]],
)
def test_a_broken_table_is_refused(raw: list) -> None:
    with pytest.raises(ValueError):
        PrefixTable.from_list(raw)


def test_min_chars_is_what_the_docs_say() -> None:
    assert MIN_CHARS == 64
