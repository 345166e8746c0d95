"""Full-model (all-MiniLM-L6-v2) embeddings of every prompt in the shared label files, cached.

Training on them is offline work (~40-70 ms per prompt on one core), so they are computed
once into .cache/route/full-<file>.npz; `run.py --embedder full` reads them.

    OPENBLAS_NUM_THREADS=1 python benchmarks/route_quality/full_embeddings.py routellm/gsm8k.jsonl
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.route import TransformerEmbedder, embed_window, model_files, read_labels

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / "route"


def cache_path(label_file: str) -> Path:
    """Where the embeddings of ``routellm/gsm8k.jsonl`` (relative to shared/data) are kept."""
    return CACHE / f"full-{label_file.replace('/', '-').removesuffix('.jsonl')}.npz"


class CachedFullEmbedder:
    """The full model's vectors looked up from the cache (the Embedder protocol of features)."""

    name = TransformerEmbedder.name
    dim = 384

    def __init__(self, label_files: list[str]) -> None:
        self.model = TransformerEmbedder(model_files())
        self.vectors: dict[tuple[int, ...], np.ndarray] = {}
        for name in label_files:
            cached = np.load(cache_path(name), allow_pickle=True)
            for text, vec in zip(cached["texts"], cached["emb"], strict=True):
                self.vectors[tuple(embed_window(self.token_ids(text)))] = vec

    def token_ids(self, text: str) -> list[int]:
        return self.model.token_ids(text)

    def encode(self, text: str) -> Any:
        return self.model.encode(text)

    def prepare(self, texts: list[str]) -> None:
        """Nothing to prepare: the vectors are cached."""

    def embed_parts(self, ids: list[int], bounds: np.ndarray) -> np.ndarray:
        return np.stack([self.embed_ids(ids[lo:hi]) for lo, hi in bounds])

    def embed_ids(self, ids: list[int]) -> np.ndarray:
        key = tuple(embed_window(ids))
        return self.vectors[key] if key in self.vectors else self.model.embed_ids(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="label files relative to shared/data")
    args = parser.parse_args()
    model = TransformerEmbedder(model_files())
    CACHE.mkdir(parents=True, exist_ok=True)
    for name in args.files:
        texts = read_labels(SHARED / name).texts
        emb = model.embed(texts)
        np.savez(cache_path(name), emb=emb, texts=np.array(texts, dtype=object))
        print(f"{name}: {len(texts)} prompts -> {cache_path(name)}", flush=True)


if __name__ == "__main__":
    main()
