"""Route fixtures: the real distilled embedder, built once into <repo>/.cache/models."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.route.embed import StaticEmbedder, model_files
from modelyard.route.features import Featurizer

MODEL_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "models"


@pytest.fixture(scope="session")
def featurizer() -> Featurizer:
    """The distilled all-MiniLM-L6-v2 featurizer (first run: download, then ~2 min to distill)."""
    return Featurizer(StaticEmbedder(model_files(MODEL_CACHE)))
