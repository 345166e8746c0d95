"""`auto.languages`: per-language allow and prefer lists, against two real loopback upstreams."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from modelyard.errors import ConfigError
from modelyard.serve.config_file import load_config
from tests.serve.test_auto import MODEL_CACHE, Gateway, _constant_quality, ask, auto_config, route

FRENCH = "Bonjour ! Peux-tu m'expliquer pourquoi le ciel est bleu pendant la journée ?"
ENGLISH = "Hello! Can you explain why the sky is blue during the day?"
GERMAN = "Kannst du mir bitte erklären, warum der Himmel am Tag blau ist?"
CHINESE = "你好！请解释一下为什么白天的天空是蓝色的？"
# `big` (1.0 / 2.0 $ per 1M tokens) is the "Mistral" of these tests, `cheap` (0.1 / 0.2) the other
RULES = {
    "european": {"prefer": ["big"]},
    "de": {"allow": ["cheap"]},
    "cjk": {"allow": ["big"]},
}


@pytest.fixture
def gateway(home_up, remote_up, yard_home):
    gw = Gateway(auto_config(home_up, remote_up, languages=RULES), yard_home)
    yield gw
    gw.stack.close()


def test_french_goes_to_the_preferred_model_english_to_the_cheap_one(gateway, home_up, remote_up):
    assert route(gateway.post(ask(FRENCH))) == "big; reason=language fr (european): prefer big"
    assert route(gateway.post(ask(ENGLISH))) == "cheap; reason=cheapest allowed"
    assert len(home_up.requests) == 1 and len(remote_up.requests) == 1
    french, english = (orjson.loads(r["route_reason"]) for r in gateway.rows())
    assert (french["language"], french["chosen"]) == ("fr", "big")
    assert french["excluded"] == {} and set(french["estimates"]) == {"big", "cheap"}
    assert (english["language"], english["chosen"]) == ("en", "cheap")


def test_allow_lists_exclude_and_a_language_rule_beats_its_group(gateway, home_up, remote_up):
    assert route(gateway.post(ask(CHINESE))) == "big; reason=cheapest allowed"
    assert route(gateway.post(ask(GERMAN))) == "cheap; reason=cheapest allowed"
    chinese, german = (orjson.loads(r["route_reason"]) for r in gateway.rows())
    assert chinese["excluded"] == {"cheap": ["language zh (cjk): not in its allow list"]}
    assert german["excluded"] == {"big": ["language de: not in its allow list"]}


def test_the_preferred_model_still_falls_back_to_the_others(gateway, home_up, remote_up):
    home_up.plan("503", "503", "503")
    reply = gateway.post(ask(FRENCH))
    assert route(reply) == "cheap; reason=language fr (european): prefer big; fell back from big"


def test_prefer_only_picks_among_models_the_router_finds_good_enough(
    home_up, remote_up, yard_home, tmp_path, monkeypatch
):
    if not any((MODEL_CACHE / "minilm-l6-v2").glob("static-*")):
        pytest.skip("all-MiniLM-L6-v2 static table not in the repo's model cache")
    from modelyard.route.artifact import RouterArtifact, save
    from modelyard.route.embed import static_embedder
    from modelyard.route.features import Featurizer

    monkeypatch.setenv("YARD_MODEL_CACHE", str(MODEL_CACHE))
    dim = Featurizer(static_embedder()).one("x").x.size
    routes = []
    for big, cheap in ([0.9, 0.9], [0.05, 0.95]):  # big good enough, then far below cheap
        art = RouterArtifact(["big", "cheap"], _constant_quality(dim, [big, cheap]), 0.1,
                             "0" * 64, 10, "minilm-l6-v2-static", {})  # fmt: skip
        path = save(art, tmp_path / "router.json")
        gw = Gateway(auto_config(home_up, remote_up, router=str(path), languages=RULES), yard_home)
        routes.append(route(gw.post(ask(FRENCH))))
        gw.stack.close()
    assert routes == [
        "big; reason=router, cheapest within 0.100 of best; language fr (european): prefer big",
        "cheap; reason=router, cheapest within 0.100 of best",
    ]


@pytest.mark.parametrize(
    ("languages", "message"),
    [
        ("    fr: {prefer: [m, mistral]}\n",
         r"gateway.yaml:7: auto.languages.fr.prefer.1: unknown candidate 'mistral'; "
         r"known: m, n"),
        ("    cjk:\n      allow:\n        - nope\n",
         r"gateway.yaml:9: auto.languages.cjk.allow.0: unknown candidate 'nope'"),
        ("    fr: {allow: [m], prefer: [n]}\n",
         r"gateway.yaml:7: auto.languages.fr.prefer.0: 'n' is not in allow"),
        ("    klingon: {prefer: [m]}\n",
         r"gateway.yaml:7: auto.languages.klingon: unknown language 'klingon'; write a language"),
        ("    fr: {favour: [m]}\n", r"auto.languages.fr.favour: unknown field 'favour'; the fields "
         r"here are allow, prefer"),
    ],
)  # fmt: skip
def test_language_config_errors_name_the_line_and_field(tmp_path: Path, languages, message):
    path = tmp_path / "gateway.yaml"
    path.write_text(
        "backends:\n  - {name: a, base_url: http://x/v1}\nmodels: {m: [a], n: [a]}\n"
        f"auto:\n  candidates: [m, n]\n  languages:\n{languages}"
    )
    with pytest.raises(ConfigError, match=message):
        load_config(path)
