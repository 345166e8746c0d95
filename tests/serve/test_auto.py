"""`model: "auto"` against two real loopback upstreams: one self-hosted, one cheaper remote API."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx
import numpy as np
import orjson
import pytest

from modelyard.errors import CatalogError
from modelyard.route.tokens import TokenCounter
from modelyard.serve.app import build_state, create_app
from modelyard.serve.config import GatewayConfig
from tests.serve.gateway_server import (
    TOOLS,
    auto_config,
    gateway_config,
    running_gateway,
    shipped_catalog,
)
from tests.serve.test_gateway import ledger_rows

MODEL_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "models"
IBAN = "DE89 3704 0044 0532 0130 00"
CARD = "4111 1111 1111 1111"
ADMIN = {"Authorization": "Bearer sk-admin"}


def ask(text: str, **extra) -> dict:
    return {"model": "auto", "messages": [{"role": "user", "content": text}], **extra}


class Gateway:
    """A running `auto` gateway and its client; ``rows()`` stops it and reads the ledger."""

    def __init__(self, config, home: Path) -> None:
        self.stack = ExitStack()
        gw = self.stack.enter_context(running_gateway(config))
        self.client = self.stack.enter_context(httpx.Client(base_url=gw.url, timeout=10))
        self.home = home

    def post(self, body: dict, **kwargs) -> httpx.Response:
        return self.client.post("/v1/chat/completions", json=body, **kwargs)

    def stream(self, body: dict):
        return self.client.stream("POST", "/v1/chat/completions", json=body)

    def rows(self) -> list[dict]:
        self.stack.close()  # the ledger is written in batches; stopping drains it
        return ledger_rows(self.home)


@pytest.fixture
def client(home_up, remote_up, yard_home):
    gateway = Gateway(auto_config(home_up, remote_up), yard_home)
    yield gateway
    gateway.stack.close()


def route(reply: httpx.Response) -> str:
    assert reply.status_code == 200, reply.text
    return reply.headers["x-yard-route"]


def test_plain_prompt_goes_to_the_cheaper_allowed_model(client, home_up, remote_up, yard_home):
    reply = client.post(ask("What is 2 + 2?"))
    assert route(reply) == "cheap; reason=cheapest allowed"
    assert reply.json()["choices"][0]["message"]["content"] == "hello from remote"
    assert remote_up.requests[0]["model"] == "smollm2-135m-instruct" and not home_up.requests
    row = client.rows()[-1]
    assert (row["requested_model"], row["served_model"], row["backend"]) == (
        "auto",
        "cheap",
        "remote",
    )
    reason = orjson.loads(row["route_reason"])
    assert reason["chosen"] == "cheap" and reason["private"] == [] and reason["excluded"] == {}
    assert set(reason["estimates"]) == {"cheap", "big"}
    assert reason["estimates"]["cheap"]["cost_usd"] < reason["estimates"]["big"]["cost_usd"]


@pytest.mark.parametrize("secret", [f"My IBAN is {IBAN}", f"Charge card {CARD} please"])
def test_private_prompt_stays_self_hosted(client, home_up, remote_up, yard_home, secret):
    reply = client.post(ask(secret))
    assert route(reply).startswith("big; reason=private data, self-hosted only")
    assert len(home_up.requests) == 1 and remote_up.requests == []
    reason = orjson.loads(client.rows()[-1]["route_reason"])
    assert reason["private"] in (["iban"], ["card"])
    assert "private data must stay on a self-hosted backend" in reason["excluded"]["cheap"]


def test_private_header_and_tool_call_arguments_count(client, home_up, remote_up):
    headers = {"x-yard-private": "1"}
    assert route(client.post(ask("hi"), headers=headers)).startswith("big;")
    call = {"name": "pay", "arguments": orjson.dumps({"card": CARD}).decode()}
    turn = {"role": "assistant", "content": None,
            "tool_calls": [{"id": "1", "type": "function", "function": call}]}  # fmt: skip
    body = {"model": "auto", "messages": [{"role": "user", "content": "pay it"}, turn]}
    assert route(client.post(body)).startswith("big;")
    assert remote_up.requests == []


def test_private_request_fails_rather_than_leave_home(client, home_up, remote_up, yard_home):
    home_up.plan("503", "503", "503")
    reply = client.post(ask(f"IBAN {IBAN}"))
    assert reply.status_code == 502
    assert "big: all backends failed" in reply.json()["error"]["message"]
    assert len(home_up.requests) == 3 and remote_up.requests == []
    reason = orjson.loads(client.rows()[-1]["route_reason"])
    assert reason["attempts"] and reason["excluded"]["cheap"]


def test_plain_request_falls_back_to_the_next_candidate(client, home_up, remote_up):
    remote_up.plan("503", "503", "503")
    reply = client.post(ask("hello"))
    assert route(reply) == "big; reason=cheapest allowed; fell back from cheap"
    assert len(remote_up.requests) == 3 and len(home_up.requests) == 1


def test_capabilities_and_context_exclude_candidates(client, home_up, remote_up, yard_home):
    assert route(client.post(ask("weather?", tools=TOOLS))).startswith("big;")
    image = [{"type": "text", "text": "what is this"},
             {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]  # fmt: skip
    refused = client.post(ask(image))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "no_route"
    assert "lacks vision" in refused.json()["error"]["message"]
    assert route(client.post(ask("x", max_tokens=9000))).startswith("big;")
    assert remote_up.requests == []
    rows = client.rows()
    assert orjson.loads(rows[0]["route_reason"])["excluded"]["cheap"] == ["lacks tools"]
    assert "context is 8,192" in orjson.loads(rows[2]["route_reason"])["excluded"]["cheap"][0]


def licensed_gateway(home_up, remote_up, yard_home, **auto) -> Gateway:
    return Gateway(auto_config(home_up, remote_up, **auto), yard_home)


def test_license_policy_bars_candidates_on_every_request(home_up, remote_up, yard_home):
    # `big` serves llama-3.1-8b (Llama 3.1 license: 700M MAU cap, acceptable-use policy)
    gw = licensed_gateway(home_up, remote_up, yard_home, license="permissive")
    try:
        assert route(gw.post(ask("hi"))) == "cheap; reason=cheapest allowed"
        refused = gw.post(ask("weather?", tools=TOOLS))  # only `big` can call tools
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "no_route"
        message = refused.json()["error"]["message"]
        assert "big: license llama3.1 " in message and "cheap: lacks tools" in message
        assert "license llama3.1 caps use at 700,000,000 monthly active users" in message
        assert "license llama3.1 binds use to an acceptable-use policy" in message
        excluded = orjson.loads(gw.rows()[0]["route_reason"])["excluded"]
        assert excluded["big"][0].startswith("license llama3.1")
    finally:
        gw.stack.close()
    assert home_up.requests == []


def test_license_policy_with_users_and_candidate_licenses(home_up, remote_up, yard_home):
    mau = licensed_gateway(home_up, remote_up, yard_home, license="commercial",
                           monthly_active_users=800_000_000)  # fmt: skip
    with mau.stack:
        reply = mau.post(ask("weather?", tools=TOOLS))
        assert (
            "requires a separate license above 700,000,000 MAU" in reply.json()["error"]["message"]
        )
    candidates = [{"model": "big", "input_per_mtok": 1.0},
                  {"model": "cheap", "input_per_mtok": 0.1, "license": "cc-by-nc-4.0"}]  # fmt: skip
    named = licensed_gateway(home_up, remote_up, yard_home, license="commercial",
                             candidates=candidates)  # fmt: skip
    with named.stack:
        assert route(named.post(ask("hi"))) == "big; reason=cheapest allowed"
    candidates[1]["license"] = "proprietary"
    osi = licensed_gateway(home_up, remote_up, yard_home, license="osi", candidates=candidates)
    with osi.stack:
        message = osi.post(ask("hi")).json()["error"]["message"]
        assert "cheap: proprietary API terms are not osi" in message
        assert "big: license llama3.1 is not OSI-approved" in message
    candidates[1]["license"] = "no-such-license"
    with pytest.raises(
        CatalogError, match="auto candidate cheap: unknown license 'no-such-license'"
    ):
        create_app(auto_config(home_up, remote_up, candidates=candidates), yard_home)


def test_session_pins_to_the_first_choice_while_allowed(client, home_up, remote_up):
    pin = {"x-yard-session": "conv-1"}
    assert route(client.post(ask("q", tools=TOOLS), headers=pin))[:4] == "big;"
    assert route(client.post(ask("plain"), headers=pin)) == ("big; reason=pinned to session")
    assert route(client.post(ask("plain"))).startswith("cheap;")
    user = ask("plain", user="alice")
    assert route(client.post(user)).startswith("cheap;")
    secret = ask(f"card {CARD}", user="alice")  # the pinned model may not take it: moves, pin kept
    assert route(client.post(secret)).startswith("big;")
    assert route(client.post(user)) == "cheap; reason=pinned to session"


def test_streaming_carries_the_route_header(client, remote_up):
    with client.stream(ask("hi", stream=True)) as s:
        s.read()
        assert s.headers["x-yard-route"] == "cheap; reason=cheapest allowed"
    assert remote_up.requests[0]["stream"] is True


def test_key_budget_and_allow_list(home_up, remote_up, yard_home):
    config = auto_config(home_up, remote_up)
    config = type(config).model_validate(
        {**config.model_dump(), "server": {**config.server.model_dump(), "admin_key": "sk-admin"}}
    )
    gw = Gateway(config, yard_home)
    spec = {"name": "t", "models": ["auto", "big"], "budget_usd": 0.01}
    made = gw.client.post("/admin/keys", headers=ADMIN, json=spec).json()
    key = {"Authorization": f"Bearer {made['key']}"}
    assert route(gw.post(ask("hi"), headers=key)).startswith("big;")
    refused = gw.post(ask("hi", max_tokens=6000), headers=key)
    gw.stack.close()
    assert refused.status_code == 400
    message = refused.json()["error"]["message"]
    assert "cheap: the key may not use it" in message and "exceeds the remaining budget" in message
    assert remote_up.requests == []


def test_cascade_escalates_when_json_is_invalid(home_up, remote_up, yard_home):
    gw = Gateway(auto_config(home_up, remote_up, cascade=True), yard_home)
    reply = gw.post(ask("give json", response_format={"type": "json_object"}))
    plain = gw.post(ask("no json needed"))
    rows = gw.rows()
    assert route(reply) == "big; reason=cascade, cheapest first; escalated from cheap"
    assert len(remote_up.requests) == 2 and len(home_up.requests) == 1
    assert route(plain) == "cheap; reason=cascade, cheapest first"
    assert (
        "cheap: reply is not valid JSON, escalated"
        in orjson.loads(rows[0]["route_reason"])["attempts"]
    )


def test_cascade_escalates_an_unsure_reply_and_hides_the_logprobs_it_asked_for(
    home_up, remote_up, yard_home
):
    gw = Gateway(auto_config(home_up, remote_up, cascade=True, cascade_min_logprob=-1.0), yard_home)
    remote_up.plan("unsure", "ok", "ok")
    unsure, sure = gw.post(ask("hi")), gw.post(ask("hi"))
    shown = gw.post(ask("hi", logprobs=True))  # the client asked: they stay
    attempts = orjson.loads(gw.rows()[0]["route_reason"])["attempts"]
    assert route(unsure) == "big; reason=cascade, cheapest first; escalated from cheap"
    assert "cheap: log-probability -3.00, below -1.00, escalated" in attempts
    assert [r["logprobs"] for r in remote_up.requests] == [True, True, True]
    assert "logprobs" not in home_up.requests[0]  # the last candidate's answer is not judged
    assert route(sure) == "cheap; reason=cascade, cheapest first"
    assert "logprobs" not in sure.json()["choices"][0]
    assert sure.json()["choices"][0]["message"]["content"] == "hello from remote"
    assert route(shown) == "cheap; reason=cascade, cheapest first" and len(home_up.requests) == 1
    assert shown.json()["choices"][0]["logprobs"]["content"][0]["logprob"] == -0.05


def test_reply_confidence_reads_the_answers_tokens_in_either_layout():
    from modelyard.serve.auto import reply_confidence

    said = ["The", " answer", " is", " 1", "2", "."]
    logprobs = [-0.1] * 3 + [-2, -1, -0.01]
    content = [{"token": t, "logprob": v} for t, v in zip(said, logprobs, strict=True)]
    assert reply_confidence({"logprobs": {"content": content}}) == -1.5  # " 1", "2": the answer
    words = {"tokens": ["Hi", " there"], "token_logprobs": [None, -0.4]}  # /v1/completions
    assert reply_confidence({"logprobs": words}) == -0.4  # no number: every token with one
    assert reply_confidence({"logprobs": None}) is None and reply_confidence({}) is None


def test_default_config_has_auto_over_the_local_model():
    from modelyard.serve.config import default_config

    state = build_state(default_config(), shipped_catalog())
    (choice,) = state.auto.choices
    assert choice.model == "smollm2" and choice.candidate.local
    assert choice.candidate.context_window == 2048  # the engine's allocation, not the catalog's


def test_a_proprietary_api_offer_passes_commercial_only():
    backends = [{"name": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "gpt-4o-mini",
                 "price": "openai/gpt-4o-mini", "api_key": "sk-x"}]  # fmt: skip
    raw = gateway_config(backends, {"mini": ["openai"]}).model_dump()
    barred = {}
    for terms in ("commercial", "permissive"):
        raw["auto"] = {"candidates": ["mini"], "license": terms}
        config = GatewayConfig.model_validate(raw)
        (choice,) = build_state(config, shipped_catalog()).auto.choices
        barred[terms] = choice.barred
    assert barred == {"commercial": (), "permissive": ("proprietary API terms are not permissive",)}


def test_router_trained_for_other_models_fails_at_startup(home_up, remote_up, tmp_path):
    from modelyard.route import RouterFileError
    from modelyard.route.artifact import RouterArtifact, save

    quality = _constant_quality(40, [0.5, 0.5])
    path = save(RouterArtifact(["gpt-4", "mixtral"], quality, 0.1, "0" * 64, 10, "e", {}),
                tmp_path / "router.json")  # fmt: skip
    with pytest.raises(RouterFileError, match=r"router\.json.*trained for gpt-4, mixtral.*big"):
        create_app(auto_config(home_up, remote_up, router=str(path)), ledger=False,
                   catalog=shipped_catalog())  # fmt: skip


def test_token_counter_uses_the_cached_tokenizer_else_overestimates(tmp_path):
    estimate = TokenCounter.find(tmp_path)
    assert estimate.method == "estimate"
    text = "The quick brown fox jumps over the lazy dog. " * 200
    if not (MODEL_CACHE / "minilm-l6-v2" / "tokenizer.json").is_file():
        pytest.skip("all-MiniLM-L6-v2 tokenizer not in the repo's model cache")
    wordpiece = TokenCounter.find(MODEL_CACHE)
    assert wordpiece.method == "wordpiece"
    exact = wordpiece.count([text])
    assert exact > 256 * 5  # not truncated at the embedder's 256 tokens
    assert exact < estimate.count([text]) < 2 * exact


def test_a_router_file_with_a_random_mix_sends_by_its_draw(home_up, remote_up, yard_home,
                                                           tmp_path, monkeypatch):  # fmt: skip
    from modelyard.route.mixes import Mix

    # the model predicts big for every prompt, but the file says its ranking is not trusted
    path = _router_file(tmp_path / "router.json", monkeypatch, [0.95, 0.05],
                        mix=Mix("cheap", "big", 0.5))  # fmt: skip
    gw = Gateway(auto_config(home_up, remote_up, router=path), yard_home)
    prompts = [f"Question {i}: name a prime above {i * 7}." for i in range(12)]
    for text in prompts:
        gw.post(ask(text))
    rows = gw.rows()[-len(prompts) :]
    reasons = [orjson.loads(r["route_reason"]) for r in rows]
    assert [r["chosen"] for r in reasons] == [Mix("cheap", "big", 0.5).draw(t) for t in prompts]
    assert {r["chosen"] for r in reasons} == {"big", "cheap"}
    assert all(r["reason"] == "router's random mix" for r in reasons)
    assert all("quality" not in e for r in reasons for e in r["estimates"].values())


def _router_file(path: Path, monkeypatch, quality: list[float], cascade=(), mix=None) -> str:
    """A router file for big and cheap predicting ``quality`` for every prompt, with ``cascade``
    reply scorers; skips without the static embedder in the repo's model cache."""
    if not any((MODEL_CACHE / "minilm-l6-v2").glob("static-*")):
        pytest.skip("all-MiniLM-L6-v2 static table not in the repo's model cache")
    from modelyard.route.artifact import RouterArtifact, save
    from modelyard.route.embed import static_embedder
    from modelyard.route.features import Featurizer

    monkeypatch.setenv("YARD_MODEL_CACHE", str(MODEL_CACHE))
    dim = Featurizer(static_embedder()).one("x").x.size
    art = RouterArtifact(["big", "cheap"], _constant_quality(dim, quality), 0.1, "0" * 64, 10,
                         "minilm-l6-v2-static", {}, cascade=list(cascade), mix=mix)  # fmt: skip
    return str(save(art, path))


def test_trained_router_picks_by_predicted_quality(home_up, remote_up, yard_home, tmp_path,
                                                   monkeypatch):  # fmt: skip
    # big answers well (0.95), cheap does not (0.05), whatever the prompt
    path = _router_file(tmp_path / "router.json", monkeypatch, [0.95, 0.05])
    gw = Gateway(auto_config(home_up, remote_up, router=path), yard_home)
    reply = gw.post(ask("Prove that there are infinitely many primes."))
    reason = orjson.loads(gw.rows()[-1]["route_reason"])
    assert route(reply) == "big; reason=router, cheapest within 0.100 of best"
    assert (
        reason["estimates"]["big"]["quality"] > 0.9 > 0.1 > reason["estimates"]["cheap"]["quality"]
    )
    assert remote_up.requests == []


def test_cascade_escalates_a_reply_with_wrong_arithmetic(home_up, remote_up, yard_home):
    gw = Gateway(auto_config(home_up, remote_up, cascade=True), yard_home)
    remote_up.plan("say:She has 16 - 3 = 12 eggs left, so #### 12", "say:16 - 3 = 13. #### 13")
    wrong, right = gw.post(ask("How many eggs?")), gw.post(ask("How many eggs?"))
    attempts = orjson.loads(gw.rows()[0]["route_reason"])["attempts"]
    assert route(wrong) == "big; reason=cascade, cheapest first; escalated from cheap"
    assert wrong.json()["choices"][0]["message"]["content"] == "hello from home"
    assert "cheap: wrong arithmetic: 16 - 3 = 12, escalated" in attempts
    assert route(right) == "cheap; reason=cascade, cheapest first"
    assert len(home_up.requests) == 1


def test_cascade_escalates_what_the_reply_scorer_doubts(home_up, remote_up, yard_home, tmp_path,
                                                       monkeypatch):  # fmt: skip
    from modelyard.route.cascade import ReplyScorer
    from modelyard.route.reply import REPLY_FEATURES

    # right with probability sigmoid(4 * has a final-answer marker - 2): 0.88 with one, else 0.12
    weights = np.zeros(len(REPLY_FEATURES) + 1)
    weights[[REPLY_FEATURES.index("final_marker"), -1]] = 4.0, -2.0
    n = len(REPLY_FEATURES)
    scorer = ReplyScorer("cheap", np.zeros(n), np.ones(n), weights, threshold=0.5)
    path = _router_file(tmp_path / "router.json", monkeypatch, [0.9, 0.8], [scorer])
    gw = Gateway(auto_config(home_up, remote_up, cascade=True, router=path), yard_home)
    remote_up.plan("say:It is 4.", "say:The answer is 4.")
    doubted, trusted = gw.post(ask("What is 2 + 2?")), gw.post(ask("What is 2 + 2?"))
    attempts = orjson.loads(gw.rows()[0]["route_reason"])["attempts"]
    assert route(doubted) == "big; reason=cascade, cheapest first; escalated from cheap"
    assert "cheap: reply scored 0.12, below 0.50, escalated" in attempts
    assert route(trusted) == "cheap; reason=cascade, cheapest first"
    assert trusted.json()["choices"][0]["message"]["content"] == "The answer is 4."


@pytest.mark.parametrize(
    ("auto", "message"),
    [
        ("auto: {name: m}\n", r"auto\.name: 'm' is also in models"),
        ("auto: {candidates: [m, nope]}\n", r"auto\.candidates\.1: unknown model 'nope'"),
        ("auto: {candidates: [{model: m, capabilities: [telepathy]}]}\n", r"capabilities"),
    ],
)
def test_auto_config_errors(tmp_path, auto, message):
    from modelyard.errors import ConfigError
    from modelyard.serve.config_file import load_config

    path = tmp_path / "gateway.yaml"
    path.write_text(
        f"backends:\n  - {{name: a, base_url: http://x/v1}}\nmodels: {{m: [a]}}\n{auto}"
    )
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_router_path_is_relative_to_the_config_file(tmp_path):
    from modelyard.serve.config_file import load_config

    path = tmp_path / "gateway.yaml"
    path.write_text("backends:\n  - {name: a, base_url: http://x/v1}\nmodels: {m: [a]}\n"
                    "auto: {router: r/router.json}\n")  # fmt: skip
    assert load_config(path).auto.router == tmp_path / "r" / "router.json"


def _constant_quality(features: int, quality: list[float]):
    """A quality model that predicts the same quality per candidate for every prompt: the
    logistic's bias sets it and the blender trusts the logistic alone."""
    from modelyard.route.features import STATS
    from modelyard.route.ngrams import NgramLogistic
    from modelyard.route.quality import Blender, ClusterPrior, Logistic, QualityModel

    p = np.asarray(quality)
    weights = np.zeros((features + 1, len(p)))
    weights[-1] = np.log(p / (1 - p))
    embedding = features - len(STATS)
    prior = ClusterPrior(np.ones((1, embedding)) / np.sqrt(embedding), p[None, :])
    ngrams = NgramLogistic(np.zeros(0, np.int64), np.zeros(0), np.zeros((1, len(p))))
    blender = Blender(np.array([1.0, 0.0, 0.0]), np.zeros(len(p)))
    logistic = Logistic(np.zeros(features), np.ones(features), weights)
    return QualityModel(logistic, prior, ngrams, blender)
