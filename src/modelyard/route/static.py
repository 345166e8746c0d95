"""A static distillation of all-MiniLM-L6-v2 (the model2vec recipe), built lazily per token.

A token's vector is the real model's output at that token's position for the input
``[CLS] token [SEP]``. Vectors are computed the first time a token is seen and appended to a
per-model file, so a deployment only pays for the tokens its prompts use (`yard route
embed-table --build` computes the whole vocabulary). model2vec's post-processing follows:
the vectors are centred and projected on their first PCA_DIMS principal components (fitted on
a fixed reference set: the REFERENCE most frequent word pieces), and weighted by SIF on a Zipf
law over the vocabulary rank (BERT's WordPiece ids are roughly in frequency order). A prompt is
the normalised weighted mean of its tokens' vectors. docs/routing.md records how closely it
agrees with the real model.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from modelyard.route.onnx_model import DIM, Encoder

TOKENS_FILE = "static-v2-tokens.bin"
RECORD = np.dtype([("id", "<i4"), ("vec", "<f4", (DIM,))])
PCA_DIMS = 256
FIRST_WORD, REFERENCE = 1996, 1024
"""WordPiece ids 1996… are whole words in frequency order ("the", "of", "and", …)."""
SIF = 1e-4
"""model2vec's SIF coefficient: weight = SIF / (SIF + p(rank)), p ∝ 1 / (rank + 2)."""
BATCH = 512


class TokenStore:
    """Per-token output vectors of the real model, computed on demand, kept in an append-only file.

    A record is the token id (int32) and its 384 float32 values; a torn last record (a crash
    mid-append) is ignored. Two processes appending the same token only duplicate a record.
    """

    def __init__(self, path: Path, model: Path, vocab_size: int, cls_id: int, sep_id: int) -> None:
        self.path, self.model = path, model
        """The model folder (weights, cached ONNX graph)."""
        self.cls_id, self.sep_id = cls_id, sep_id
        self.vectors = np.zeros((vocab_size, DIM), dtype=np.float32)
        self.known = np.zeros(vocab_size, dtype=bool)
        self._encoder: Encoder | None = None
        if path.is_file():
            raw = path.read_bytes()
            records = np.frombuffer(raw, RECORD, count=len(raw) // RECORD.itemsize)
            self.vectors[records["id"]] = records["vec"]
            self.known[records["id"]] = True

    def ensure(self, ids: Iterable[int]) -> np.ndarray:
        """Compute and store the vectors of ``ids`` not known yet; return the new ids."""
        missing = np.unique(np.fromiter(ids, dtype=np.int64))
        missing = missing[~self.known[missing]]
        for start in range(0, len(missing), BATCH):
            self._compute(missing[start : start + BATCH])
        return missing

    def _compute(self, tokens: np.ndarray) -> None:
        if self._encoder is None:
            self._encoder = Encoder(self.model)
        ids = np.stack(
            [np.full_like(tokens, self.cls_id), tokens, np.full_like(tokens, self.sep_id)]
        )
        hidden = self._encoder.hidden(ids.T, np.ones((len(tokens), 3), dtype=np.float32))
        records = np.zeros(len(tokens), RECORD)
        records["id"], records["vec"] = tokens, hidden[:, 1]
        with self.path.open("ab") as out:
            out.write(records.tobytes())
        self.vectors[tokens], self.known[tokens] = hidden[:, 1], True


def zipf_sif(vocab_size: int, coefficient: float = SIF) -> np.ndarray:
    """SIF weights of a Zipf law over the vocabulary rank (model2vec's ``sif_coefficient``)."""
    p = 1.0 / np.arange(2, vocab_size + 2, dtype=np.float64)
    p /= p.sum()
    return (coefficient / (coefficient + p)).astype(np.float32)


def pca(vectors: np.ndarray, dims: int = PCA_DIMS) -> tuple[np.ndarray, np.ndarray]:
    """The mean and the (DIM, dims) projection on the first ``dims`` principal components."""
    mean = vectors.mean(0)
    _, _, vt = np.linalg.svd(vectors - mean, full_matrices=False)
    return mean, np.ascontiguousarray(vt[:dims].T)


class StaticTable:
    """Projected, SIF-weighted token vectors, filled in as tokens are met."""

    def __init__(self, store: TokenStore) -> None:
        self.store = store
        vocab = len(store.known)
        reference = np.arange(FIRST_WORD, min(FIRST_WORD + REFERENCE, vocab))
        store.ensure(reference)
        self.mean, self.projection = pca(store.vectors[reference])
        self.weight = zipf_sif(vocab)
        self.table = np.zeros((vocab, PCA_DIMS), dtype=np.float32)
        self.ready = np.zeros(vocab, dtype=bool)

    def rows(self, ids: list[int]) -> np.ndarray:
        """Weighted projected vectors of ``ids`` (computing unseen tokens first)."""
        index = np.asarray(ids, dtype=np.int64)
        fresh = index[~self.ready[index]]
        if len(fresh):
            self._fill(fresh)
        return self.table[index]

    def fill_all(self) -> int:
        """Compute every vocabulary token; return how many were new."""
        new = self.store.ensure(range(len(self.ready)))
        self._fill(np.arange(len(self.ready)))
        return len(new)

    def _fill(self, ids: np.ndarray) -> None:
        self.store.ensure(ids)
        projected = (self.store.vectors[ids] - self.mean) @ self.projection
        self.table[ids] = projected * self.weight[ids, None]
        self.ready[ids] = True
