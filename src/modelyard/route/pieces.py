"""WordPiece ids of ASCII text word by word: the same ids as the tokenizer, several times
faster.

The `tokenizers` library normalises text through an alignment-tracking string, which costs more
than the word-piece lookups themselves (0.35 ms of the decision's millisecond for the 1,025
characters a prompt is read as). For BERT's uncased pipeline the result depends only on the
words: lower-casing, runs of ASCII letters and digits, each ASCII punctuation mark a word of
its own, whitespace dropped, and no piece crossing a word. So the ids of an ASCII text with no
control character are the concatenation of its words' ids, each found by WordPiece's own
greedy longest-match over the tokenizer's vocabulary (the algorithm of `tokenizers`'
WordPiece model) and remembered. Lines with other characters (accents, CJK, other scripts'
punctuation; control characters, which BERT deletes inside words) go to the tokenizer, as
does all text for a tokenizer whose pipeline is not BERT's uncased WordPiece.
benchmarks/route_latency/ab.py measures the gain; tests/route/test_pieces.py checks the ids and
positions against the tokenizer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from itertools import accumulate, chain
from typing import Any

import numpy as np

WORD = re.compile(r"[a-z0-9]+|[!-/:-@\[-`{-~]")
"""BERT's words in lower-cased ASCII: letter-digit runs, and each punctuation mark alone."""
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Characters BERT's normaliser deletes (so they join the words around them)."""
MAX_WORDS = 1 << 16
"""Words remembered; the memory is emptied when full (hostile text cannot grow it)."""
MAX_WORD_CHARS = 100
"""Longer words are never remembered (WordPiece reads them as its unknown piece anyway)."""


@dataclass(frozen=True)
class Encoded:
    """A text's word-piece ids, and where in them a character position falls (from the
    tokenizer's offsets)."""

    ids: list[int]
    starts: np.ndarray
    """Character offset where each word piece starts."""

    def index_at(self, positions: np.ndarray) -> np.ndarray:
        """How many word pieces start before each position."""
        return np.searchsorted(self.starts, positions)


@dataclass(frozen=True)
class Spliced:
    """A text's word-piece ids read word by word; positions map to piece indexes by counting
    what lies after them (no piece crosses a word's edge, so none is cut)."""

    ids: list[int]
    text: str
    words: WordCache
    pieces_before: list[int] | None = None
    """For a plain text: how many pieces come before each of its words (and after the last),
    so a position's index is found by counting words, not pieces."""

    def index_at(self, positions: np.ndarray) -> np.ndarray:
        """How many word pieces lie before each position, which must not split a word.

        Counted back from the end (answer choices, whose edges these are, come last), so the
        question before them is not read again."""
        after, at, before = 0, len(self.text), {0: 0}
        for edge in sorted(set(positions.ravel().tolist()) - {0}, reverse=True):
            if self.pieces_before is not None:
                after += len(WORD.findall(self.text, edge, at))
                before[edge] = self.pieces_before[len(self.pieces_before) - 1 - after]
            else:
                after += len(self.words.ids(self.text[edge:at]))
                before[edge] = len(self.ids) - after
            at = edge
        return np.array([before[p] for p in positions.ravel().tolist()]).reshape(positions.shape)


Encoding = Encoded | Spliced
"""What ``WordPieces.encode`` gives: ids, and ``index_at`` for character positions."""


@dataclass(frozen=True)
class Vocabulary:
    """What WordPiece needs of the tokenizer: its pieces, its unknown piece, the longest word
    it splits and the prefix of a piece inside a word."""

    ids: dict[str, int]
    unknown: int
    max_chars: int
    prefix: str

    def pieces(self, word: str) -> tuple[int, ...]:
        """WordPiece's greedy longest-match-first split of one normalised word."""
        if len(word) > self.max_chars:
            return (self.unknown,)
        out, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                found = self.ids.get(piece)
                if found is not None:
                    break
            else:
                return (self.unknown,)
            out.append(found)
            start = end
        return tuple(out)


class WordCache:
    """Word-piece ids per ASCII word (module docstring)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.vocabulary = bert_uncased(tokenizer)
        self.known: dict[str, tuple[int, ...]] = {}

    def encode(self, text: str) -> Encoding:
        """The word-piece ids of ``text``, and where positions fall in them."""
        if self.vocabulary is not None and _plain(text):
            lower = text.lower()
            found = self._found(WORD.findall(lower))
            return Spliced(list(chain.from_iterable(found)), lower, self,
                           [0, *accumulate(map(len, found))])  # fmt: skip
        if self.vocabulary is not None:
            return Spliced(self.ids(text), text, self)
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        starts = np.fromiter((s for s, _ in encoding.offsets), np.int64, len(encoding.ids))
        return Encoded(encoding.ids, starts)

    def ids(self, text: str) -> list[int]:
        """The word-piece ids of ``text``: word by word where it is plain ASCII (each line
        apart when some line is not), from the tokenizer elsewhere."""
        if self.vocabulary is None:
            return self._tokenizer_ids(text)
        if _plain(text):
            return self._words(text)
        out: list[int] = []
        for line in text.split("\n"):
            out += self._words(line) if _plain(line) else self._tokenizer_ids(line)
        return out

    def _tokenizer_ids(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def _words(self, text: str) -> list[int]:
        return list(chain.from_iterable(self._found(WORD.findall(text.lower()))))

    def _found(self, words: list[str]) -> list[tuple[int, ...]]:
        """Each word's ids."""
        found = list(map(self.known.get, words))
        return self._learn(words, found) if None in found else found  # type: ignore[return-value]

    def _learn(
        self, words: list[str], found: list[tuple[int, ...] | None]
    ) -> list[tuple[int, ...]]:
        """``found`` completed, the words not known yet split and remembered."""
        assert self.vocabulary is not None
        if len(self.known) > MAX_WORDS:
            self.known.clear()
        out = []
        for word, ids in zip(words, found, strict=True):
            if ids is None:
                ids = self.vocabulary.pieces(word)
                if len(word) <= MAX_WORD_CHARS:
                    self.known[word] = ids
            out.append(ids)
        return out


def _plain(text: str) -> bool:
    """ASCII without a character BERT deletes: readable word by word."""
    return text.isascii() and CONTROL.search(text) is None


def bert_uncased(tokenizer: Any) -> Vocabulary | None:
    """The vocabulary of a tokenizer that is BERT's uncased WordPiece pipeline; None for any
    other (module docstring)."""
    try:
        spec = json.loads(tokenizer.to_str())
    except (AttributeError, ValueError):
        return None
    normalizer, pre = spec.get("normalizer") or {}, spec.get("pre_tokenizer") or {}
    model = spec.get("model") or {}
    vocab = model.get("vocab")
    if not (
        normalizer.get("type") == "BertNormalizer"
        and normalizer.get("lowercase") is True
        and normalizer.get("clean_text") is True
        and pre.get("type") == "BertPreTokenizer"
        and model.get("type") == "WordPiece"
        and isinstance(vocab, dict)
        and model.get("unk_token") in vocab
    ):
        return None
    return Vocabulary(vocab, vocab[model["unk_token"]], int(model.get("max_input_chars_per_word",
                      100)), str(model.get("continuing_subword_prefix", "##")))  # fmt: skip
