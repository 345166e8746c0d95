"""Prompt files, suites, synthetic prompts and token counting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelyard.bench import load_prompts, synthetic_prompts, token_counter
from modelyard.errors import YardError


def test_jsonl_prompts_messages_and_max_tokens(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    lines = [{"prompt": "Hello there"}, {"text": "genai-perf style"},
             {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 7}]  # fmt: skip
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    prompts = load_prompts(path, 32, token_counter())
    assert [p.messages[-1]["content"] for p in prompts] == ["Hello there", "genai-perf style", "hi"]
    assert [p.max_tokens for p in prompts] == [32, 32, 7]
    assert prompts[0].input_tokens == 3  # 11 characters / 4, rounded


def test_eval_suite_file(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text("name: s\nitems:\n  - id: a\n    prompt: What is 2+2?\n    reference: 4\n")
    assert load_prompts(path, 16, token_counter())[0].messages[0]["content"] == "What is 2+2?"


def test_bad_files_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"prompt": "ok"}\n{"nope": 1}\n')
    with pytest.raises(YardError, match=r"p.jsonl:2: no 'prompt'"):
        load_prompts(path, 8, token_counter())
    path.write_text('{"prompt": "ok"}\n{broken\n')
    with pytest.raises(YardError, match=r"p.jsonl:2: not JSON"):
        load_prompts(path, 8, token_counter())
    with pytest.raises(YardError, match="file not found"):
        load_prompts(tmp_path / "missing.jsonl", 8, token_counter())


def test_synthetic_prompts_are_sized_and_distinct() -> None:
    counter = token_counter()
    prompts = synthetic_prompts(20, 200, 64, counter, seed=1)
    assert len({p.messages[0]["content"][:40] for p in prompts}) == 20
    for p in prompts:
        assert 160 <= p.input_tokens <= 240 and p.max_tokens == 64
    assert counter.source == "estimate"


def test_local_tokenizer_file_counts_tokens(tmp_path: Path) -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tok = Tokenizer(WordLevel({"hello": 0, "world": 1, "[UNK]": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    counter = token_counter(tmp_path / "tokenizer.json")
    assert counter.source == "tokenizer"
    assert counter.count("hello world hello again") == 4
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(YardError, match=r"not a tokenizer\.json"):
        token_counter(tmp_path / "bad.json")
