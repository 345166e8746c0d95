"""The random mix the router falls back to (route/mixes.py): chosen only where the router's
out-of-fold ranking routes no better than the mixes; in the router file, drawn per prompt by
the decision; played as the router by `yard route eval`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from modelyard.route import mixes
from modelyard.route.artifact import RouterFileError, load
from modelyard.route.calibrate import Target
from modelyard.route.decision import Candidate, Facts, decide
from modelyard.route.holdout import play
from modelyard.route.mixes import Mix, curve_area, fallback, mix_area, ranking_beats_mix
from tests.route.test_holdout import _side


def two_models(n: int, seed: int, signal: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels of a cheap and a dear model, costs in calls, and predictions whose gain carries
    ``signal`` (0: noise, 1: the truth)."""
    rng = np.random.default_rng(seed)
    y = np.stack([rng.random(n) < 0.5, rng.random(n) < 0.9], 1).astype(float)
    noise = rng.random((n, 2))
    return y, np.tile([0.0, 1.0], (n, 1)), signal * y + (1 - signal) * noise


def test_the_curve_area_rewards_a_ranking_that_knows() -> None:
    y, costs, knows = two_models(400, 1, 1.0)
    _, _, guesses = two_models(400, 1, 0.0)
    assert curve_area(knows, y, costs) > curve_area(guesses, y, costs) + 0.05
    # a guess never routes better than the random mixes between the two models (and, sending
    # half of the prompts to each at most, it cannot spend its way to the dear model's quality)
    assert curve_area(guesses, y, costs) < mix_area(y, costs)
    assert abs(mix_area(y, costs) - y.mean(0).mean()) < 0.005  # the line's mean, in 101 steps


def test_a_ranking_is_trusted_only_where_it_beats_the_mixes() -> None:
    y, costs, knows = two_models(400, 2, 0.9)
    _, _, guesses = two_models(400, 2, 0.0)
    assert ranking_beats_mix(knows, y, costs)
    assert not ranking_beats_mix(1 - knows, y, costs)  # ranked backwards
    assert not ranking_beats_mix(guesses, y, costs)
    y[:, 0] = np.nan  # no complete row: nothing to trust the ranking on
    assert not ranking_beats_mix(knows, y, costs)


def test_the_fallback_is_the_mix_for_the_target() -> None:
    y, costs, knows = two_models(400, 3, 0.9)
    assert fallback(knows, y, costs, Target("quality", 0.95)) is None
    i, j, p = fallback(1 - knows, y, costs, Target("quality", 0.95))  # type: ignore[misc]
    means = y.mean(0)
    assert (i, j) == (0, 1) and (1 - p) * means[0] + p * means[1] == pytest.approx(
        0.95 * means[1])  # fmt: skip
    assert fallback(1 - knows, y, costs, Target("cost", 250.0)) == (0, 1, pytest.approx(0.25))


def test_a_draw_is_steady_per_prompt_and_shares_as_asked() -> None:
    mix = Mix("cheap", "dear", 0.3)
    prompts = [f"question {i}: what is {i} squared?" for i in range(4000)]
    drawn = [mix.draw(p) for p in prompts]
    assert drawn == [mix.draw(p) for p in prompts]
    assert abs(drawn.count("dear") / len(drawn) - 0.3) < 0.03
    assert {Mix("a", "b", 0.0).draw(p) for p in prompts[:50]} == {"a"}
    assert {Mix("a", "b", 1.0).draw(p) for p in prompts[:50]} == {"b"}


CHEAP = Candidate("cheap", 0.1, 0.1, local=True)
DEAR = Candidate("dear", 5.0, 5.0)


@pytest.mark.parametrize(
    ("facts", "order", "reason"),
    [
        (Facts(10, drawn="dear"), ["dear", "cheap"], "router's random mix"),
        (Facts(10, drawn="cheap"), ["cheap", "dear"], "router's random mix"),
        (Facts(10, drawn="dear", pinned="cheap"), ["cheap", "dear"], "pinned to session"),
        (Facts(10, drawn="dear", private=("iban",)), ["cheap"],
         "private data, self-hosted only; cheapest allowed"),  # the draw is excluded
        (Facts(10, drawn="gone"), ["cheap", "dear"], "cheapest allowed"),
    ],
)  # fmt: skip
def test_the_decision_follows_the_draw_within_the_constraints(
    facts: Facts, order: list[str], reason: str
) -> None:
    decision = decide(facts, [DEAR, CHEAP])
    assert decision.order == order and decision.reason == reason


def test_the_router_file_keeps_the_mix(tmp_path: Path, shared_data: Path) -> None:
    from modelyard.route import Router, TrainSpec, train

    weak, strong = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"
    out = tmp_path / "router.json"
    spec = TrainSpec(shared_data / "routellm" / "gsm8k.jsonl", (weak, strong), limit=200)
    train(spec, out)
    body = json.loads(out.read_text())
    body["mix"] = {"cheap": weak, "dear": strong, "share": 0.25}
    out.write_text(json.dumps(body))
    router = Router.load(out)
    assert router.artifact.mix == Mix(weak, strong, 0.25)
    ask = [{"role": "user", "content": "What is 12 times 7?"}]
    assessment = router.assess(ask, ["What is 12 times 7?"])
    assert assessment.quality is None and assessment.drawn == Mix(weak, strong, 0.25).draw(
        "What is 12 times 7?")  # fmt: skip
    decision = router.decide(ask, [Candidate(weak), Candidate(strong, 1.0, 1.0)], private=())
    assert decision.model == assessment.drawn and decision.reason == "router's random mix"
    for bad in ({"cheap": "nobody", "dear": strong, "share": 0.2},
                {"cheap": weak, "dear": strong, "share": 1.5}, {"cheap": weak}):  # fmt: skip
        out.write_text(json.dumps(body | {"mix": bad}))
        with pytest.raises(RouterFileError, match="malformed field"):
            load(out)


def test_eval_plays_the_router_as_it_would_be_deployed() -> None:
    learnable = play(_side(300, 1), _side(150, 2))
    assert learnable.methods["router"].chosen["fallback"] is False
    assert learnable.methods["router"].predicted is not None
    # a ranking that is backwards on the training rows' held-out folds is not trusted
    from modelyard.route.holdout import _router

    train = _side(300, 3)
    backwards = 1 - train.fold.y
    noisy = learnable
    noisy.methods["router"] = _router(learnable.methods["tfidf-lr"], learnable.methods[
        "random_mix"], backwards, train)  # fmt: skip
    router, mix = noisy.methods["router"], noisy.methods["random_mix"]
    assert router.chosen["fallback"] is True and router.predicted is None
    assert router.at["q95"] is mix.at["q95"] and router.grid is mix.grid
    assert mixes.GRID == 101
