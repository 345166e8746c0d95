"""One token counter for the router and the gateway: exact for short texts, sampled for long."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelyard.route.tokens import (
    BYTES_PER_TOKEN,
    EXACT_CHARS,
    MESSAGE_TOKENS,
    SAMPLE_CHARS,
    TokenCounter,
    sample,
    scale,
    units,
)

MODEL_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "models"


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    found = TokenCounter.find(MODEL_CACHE)
    if found.method != "wordpiece":
        pytest.skip("all-MiniLM-L6-v2 tokenizer not in the repo's model cache")
    return found


def test_short_texts_are_read_whole() -> None:
    text = "x" * EXACT_CHARS
    assert sample(text) is text and scale(17, text) == 17


def test_long_texts_are_sampled_at_both_ends() -> None:
    text = "head " + "m" * 10_000 + " tail"
    read = sample(text)
    assert len(read) == 2 * SAMPLE_CHARS + 1
    assert read.startswith("head ") and read.endswith(" tail") and "\n" in read


@pytest.mark.parametrize(
    ("text", "count"),
    [("a b\nc", 2), ("x, y. z!", 5), ("中文", 2), ("", 0), ("déjà", 1)],
)
def test_units(text: str, count: int) -> None:
    assert units(text) == count


def test_the_middle_counts_at_the_ends_rate() -> None:
    end = "one two " * 64  # 512 characters, 128 units
    text = end + "three four " * 1000 + end
    assert scale(256, text) == 256 + 2000 * 256 // 256


def test_without_the_tokenizer_bytes_are_counted(tmp_path: Path) -> None:
    estimate = TokenCounter.find(tmp_path)
    assert estimate.method == "estimate"
    assert estimate.count(["abc", "ü" * 3]) == 2 * MESSAGE_TOKENS + 1 + int(6 / BYTES_PER_TOKEN)
    assert estimate.count([]) == 0


def test_exact_below_the_sample_length(counter: TokenCounter) -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 20
    exact = len(counter.tokenizer.encode(text, add_special_tokens=False).ids)
    assert counter.count([text]) == exact + MESSAGE_TOKENS


def test_the_estimate_is_close_on_real_prompts(counter: TokenCounter, shared_data: Path) -> None:
    """Long prompts made of real GSM8K, MT-Bench and MMLU prompts (not those the estimator was
    tried on): within 5% of the full count at the median, 12% at the 90th percentile."""
    from modelyard.route.datasets import read_labels

    texts = [t for name in ("gsm8k", "mt_bench", "mmlu")
             for t in read_labels(shared_data / "routellm" / f"{name}.jsonl").texts]  # fmt: skip
    rng = np.random.default_rng(11)
    errors = []
    for _ in range(60):
        long = "\n\n".join(texts[i] for i in rng.permutation(len(texts))[:25])
        assert len(long) > EXACT_CHARS
        exact = len(counter.tokenizer.encode(long, add_special_tokens=False).ids)
        errors.append((counter.count([long]) - MESSAGE_TOKENS - exact) / exact)
    spread = np.abs(errors)
    assert np.median(spread) < 0.05 and np.percentile(spread, 90) < 0.12
    assert spread.max() > 0  # an estimate, not the full count


def test_a_dense_middle_is_counted(counter: TokenCounter) -> None:
    """A prompt whose middle is far denser than its ends (CJK: a token a character)."""
    text = "word " * 200 + "中文字符" * 5_000 + " word" * 200
    exact = len(counter.tokenizer.encode(text, add_special_tokens=False).ids)
    counted = counter.count([text]) - MESSAGE_TOKENS
    assert abs(counted - exact) < 0.05 * exact


def test_a_broken_cached_tokenizer_falls_back_to_the_estimate(tmp_path: Path) -> None:
    folder = tmp_path / "minilm-l6-v2"
    folder.mkdir()
    (folder / "tokenizer.json").write_text('{"truncated": ')
    assert TokenCounter.find(tmp_path).method == "estimate"


def test_every_message_is_counted_with_its_template(counter: TokenCounter) -> None:
    texts = ["You are terse.", "Hi", ""]
    pieces = sum(len(counter.tokenizer.encode(t, add_special_tokens=False).ids) for t in texts)
    assert counter.count(texts) == pieces + MESSAGE_TOKENS * 3
