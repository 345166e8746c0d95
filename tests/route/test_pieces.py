"""Word pieces read word by word (route/pieces.py) against the real tokenizer: the same ids and
the same piece index at every word edge, for ASCII, for lines of other scripts, for control
characters and words too long to split; bounded memory; other tokenizers left alone. And the
other shortcuts of the decision's features, each against what it replaced."""

from __future__ import annotations

import json
import random
import re
import string

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.route import ngrams, pieces
from modelyard.route.embed import StaticEmbedder, model_files
from modelyard.route.features import MATH_MARKS, code_marks
from modelyard.route.pieces import WORD, WordCache, bert_uncased
from tests.route.conftest import MODEL_CACHE

OLD_CODE = re.compile(r"```|\bdef |\bclass |\breturn\b|[{};]\s*$|#include|=>|\bfunction\b", re.M)
OLD_MATH = re.compile(r"[=+*/^<>%$]|\\frac|\\sqrt")
SAMPLES = [
    "What is 17 * 23? Show your work.\nA. 391\nB. 401\n",
    "def f(x):\n    return {x: 1};\n}\n```python\nclass A: pass\n```",
    "Naïve café – “quoted” text, 東京 and Ελληνικά\nplain line after\n\tTabs\r\nand CRLF",
    "control\x01chars\x7fjoin words; vertical\x0btab and form\x0cfeed",
    "x" * 150 + " " + "y" * 101 + " " + "z" * 100 + " supercalifragilisticexpialidocious",
    "URLs: https://example.com/a?b=c&d=e#f, e-mail a.b@c.de, 3.14159, 1,000,000",
    "",
    "   \n\n  ",
]


@pytest.fixture(scope="module")
def static() -> StaticEmbedder:
    return StaticEmbedder(model_files(MODEL_CACHE))


def reference(static: StaticEmbedder, text: str) -> tuple[list[int], list[int]]:
    encoding = static.tokenizer.encode(text, add_special_tokens=False)
    return encoding.ids, [start for start, _ in encoding.offsets]


BERT_SPACE = re.compile(r"[ \t\n\r\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
r"""BERT's whitespace (Python's ``\s`` also holds control characters, which BERT deletes)."""


def word_edges(text: str) -> list[int]:
    """Every position not inside a word: where whitespace starts or ends, and the ends."""
    spaces = list(BERT_SPACE.finditer(text))
    return sorted({0, len(text), *(m.start() for m in spaces), *(m.end() for m in spaces)})


@pytest.mark.parametrize("text", SAMPLES)
def test_the_same_ids_and_edges_as_the_tokenizer(static: StaticEmbedder, text: str) -> None:
    ids, starts = reference(static, text)
    assert static.token_ids(text) == ids
    encoding = static.encode(text)
    assert encoding.ids == ids
    edges = np.array(word_edges(text))
    expected = np.searchsorted(np.array(starts, dtype=np.int64), edges)
    np.testing.assert_array_equal(encoding.index_at(edges), expected)


def test_every_vocabulary_word_and_random_words(static: StaticEmbedder) -> None:
    rng = random.Random(7)
    vocab = [w for w in static.tokenizer.get_vocab() if WORD.fullmatch(w)]
    words = rng.sample(vocab, 3000)
    alphabet = string.ascii_lowercase + string.digits
    words += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(2000)]
    words += [str(n) for n in rng.sample(range(10**7), 500)]
    fresh = WordCache(static.tokenizer)  # nothing remembered: every word is split anew
    assert fresh.vocabulary is not None
    for word in words:
        assert list(fresh.vocabulary.pieces(word)) == reference(static, word)[0], word


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200))
def test_any_text_gives_the_tokenizers_ids(text: str) -> None:
    static = _shared()
    assert static.token_ids(text) == reference(static, text)[0]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["the", "Cat", "sat.", "A)", "42", "x=1;", "\n", "  ", "\t",
                                 "café", "日本", "(b)", "--", "?"]), max_size=40))  # fmt: skip
def test_positions_at_word_edges_match_the_offsets(parts: list[str]) -> None:
    static = _shared()
    text = " ".join(parts)
    _, starts = reference(static, text)
    edges = np.array(word_edges(text))
    got = static.encode(text).index_at(edges)
    np.testing.assert_array_equal(got, np.searchsorted(np.array(starts, np.int64), edges))


_STATIC: list[StaticEmbedder] = []


def _shared() -> StaticEmbedder:
    if not _STATIC:
        _STATIC.append(StaticEmbedder(model_files(MODEL_CACHE)))
    return _STATIC[0]


def test_memory_is_bounded(static: StaticEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = WordCache(static.tokenizer)
    monkeypatch.setattr(pieces, "MAX_WORDS", 100)
    for i in range(30):
        cache.ids(" ".join(f"w{i}x{j}" for j in range(20)))
        assert len(cache.known) <= 100 + 20
    cache.ids("q" * 500)
    assert "q" * 500 not in cache.known  # too long to remember (and read as [UNK])
    assert cache.ids("q" * 500) == [static.tokenizer.token_to_id("[UNK]")]


def test_another_tokenizer_is_left_to_itself(static: StaticEmbedder) -> None:
    from tokenizers import Tokenizer

    spec = json.loads(static.tokenizer.to_str())
    spec["normalizer"]["lowercase"] = False  # cased: words no longer read alike
    cased = Tokenizer.from_str(json.dumps(spec))
    assert bert_uncased(cased) is None and bert_uncased(object()) is None
    cache = WordCache(cased)
    text = "Hello World\nA. one\nB. two"
    encoding = cased.encode(text, add_special_tokens=False)
    assert cache.ids(text) == encoding.ids
    assert cache.encode(text).index_at(np.array([12])).tolist() == [2]


@pytest.mark.parametrize("text", SAMPLES)
def test_code_and_maths_counts_are_the_regular_expressions(text: str) -> None:
    assert code_marks(text) == len(OLD_CODE.findall(text))
    assert sum(map(text.count, MATH_MARKS)) == len(OLD_MATH.findall(text))


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(list("def class return function {};=>#include`\n \t ()x=+*/\\"
                                    "frac sqrt")), max_size=80))  # fmt: skip
def test_code_and_maths_counts_on_drawn_text(text: str) -> None:
    assert code_marks(text) == len(OLD_CODE.findall(text))
    assert sum(map(text.count, MATH_MARKS)) == len(OLD_MATH.findall(text))


def test_remembered_word_hashes_are_crc32_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import zlib

    monkeypatch.setattr(ngrams, "_HASHES", {})
    monkeypatch.setattr(ngrams, "MAX_HASHES", 50)
    words = [f"word{i}" for i in range(200)] + ["x" * 500]
    assert ngrams.word_hashes(words) == [zlib.crc32(w.encode()) for w in words]
    assert ngrams.word_hashes(words) == [zlib.crc32(w.encode()) for w in words]
    assert len(ngrams._HASHES) <= 250 and "x" * 500 not in ngrams._HASHES


def test_ngram_predictions_read_columns_as_the_search_did() -> None:
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(["alpha", "beta", "gamma", "delta", "pi"], 6)) for _ in range(60)]
    grams = [ngrams.buckets(t) for t in texts]
    y = rng.random((60, 2)).round()
    model = ngrams.NgramLogistic.fit(grams, y)
    searched = model._tfidf([ngrams.counts(g) for g in grams])
    z = np.array([v @ model.weights[c] for c, v in searched]) + model.weights[-1]
    np.testing.assert_allclose(model.predict(grams), 1 / (1 + np.exp(-z)), rtol=1e-9)
    assert model.predict([np.zeros(0, np.int64)]).shape == (1, 2)
