"""The router file: what it keeps, and every way a broken one is refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from modelyard.route.artifact import VERSION, RouterArtifact, RouterFileError, load, save
from modelyard.route.features import STATS
from modelyard.route.ngrams import NgramLogistic
from modelyard.route.prefixes import Prefix, PrefixTable
from modelyard.route.quality import Blender, ClusterPrior, Logistic, QualityModel


def _quality(features: int = 20, candidates: int = 2) -> QualityModel:
    rng = np.random.default_rng(0)
    embedding = features - len(STATS)
    return QualityModel(
        Logistic(
            np.zeros(features), np.ones(features), rng.normal(size=(features + 1, candidates))
        ),
        ClusterPrior(np.eye(1, embedding), np.full((1, candidates), 0.5)),
        NgramLogistic(np.array([3, 7]), np.ones(2), np.zeros((3, candidates))),
        Blender(np.ones(3), np.zeros(candidates)),
    )


@pytest.fixture
def router_file(tmp_path: Path) -> Path:
    art = RouterArtifact(
        ["cheap", "dear"], _quality(40), 0.125, "ab" * 32, 10, "minilm-l6-v2-static-v2",
        {"kind": "quality", "value": 0.95},
        prefixes=PrefixTable((Prefix(80, "d" * 24, 20, 7),)), dropped={"null score": 3},
    )  # fmt: skip
    return save(art, tmp_path / "router.json")


def test_round_trip(router_file: Path) -> None:
    art = load(router_file, candidates=["dear"], embedder="minilm-l6-v2-static-v2")
    assert art.candidates == ["cheap", "dear"] and art.threshold == 0.125
    assert art.prefixes.prefixes[0].chars == 80 and art.dropped == {"null score": 3}
    x = np.random.default_rng(1).normal(size=(3, 40))
    grams = [np.array([3, 3, 9]), np.array([], dtype=np.int64), np.array([7])]
    np.testing.assert_allclose(art.quality.predict(x, grams), _quality(40).predict(x, grams),
                               atol=1e-4)  # fmt: skip
    body = json.loads(router_file.read_text())
    assert body["version"] == VERSION and body["features"] == list(STATS)


def _broken(router_file: Path, change) -> Path:
    body = json.loads(router_file.read_text())
    change(body)
    router_file.write_text(json.dumps(body))
    return router_file


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.update(version=4), r"format .* version 4; this modelyard reads .* 5: retrain"),
        (lambda b: b.update(format="other"), r"format 'other'"),
        (lambda b: b.pop("threshold"), r"missing or malformed field 'threshold'"),
        (lambda b: b.update(features=["x"]), r"trained on other prompt features"),
        (lambda b: b.update(candidates=["a", "b", "c"]), r"weights do not match the 3 candidates"),
        (lambda b: b.update(prefixes=[{"chars": 5}]), r"missing or malformed field"),
        (lambda b: b.update(prefixes=7), r"missing or malformed field"),
        (lambda b: b["quality"].pop("blend_bias"), r"missing or malformed field 'blend_bias'"),
        (lambda b: b.update(dropped=["x"]), r"missing or malformed field"),
    ],
)
def test_a_broken_file_is_refused_by_name(router_file: Path, change, message: str) -> None:
    with pytest.raises(RouterFileError, match=r"router\.json: " + message):
        load(_broken(router_file, change))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a readable router file"),
        (b"[1, 2]", r"not a router file \(a JSON list\)"),
        (b"\xff\xfe", "not a readable router file"),
    ],
)
def test_not_a_router_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "router.json"
    path.write_bytes(content)
    with pytest.raises(RouterFileError, match=message):
        load(path)


def test_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(RouterFileError, match="no such router file; make one with"):
        load(tmp_path / "none.json")


def test_wrong_candidates_and_embedder(router_file: Path) -> None:
    with pytest.raises(RouterFileError, match=r"trained for cheap, dear, not for claude"):
        load(router_file, candidates=["cheap", "claude"])
    with pytest.raises(RouterFileError, match=r"trained with embedder .* not 'other'"):
        load(router_file, embedder="other")
