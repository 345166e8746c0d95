"""Route fixtures: the real static embedder, its token vectors cached in <repo>/.cache/models."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.route.embed import StaticEmbedder, model_files
from modelyard.route.features import Featurizer

MODEL_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "models"


@pytest.fixture(scope="session")
def featurizer() -> Featurizer:
    """The static all-MiniLM-L6-v2 featurizer (a fresh cache computes only the tokens met)."""
    return Featurizer(StaticEmbedder(model_files(MODEL_CACHE)))
