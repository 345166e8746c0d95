"""A private key never reaches a remote backend: `auto` stays self-hosted, named models too."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from modelyard.cli import app
from modelyard.serve.keys import KeyStore
from modelyard.serve.ledger import connect
from tests.serve.test_auto import ADMIN, Gateway, ask, auto_config, route


@pytest.fixture
def gateway(home_up, remote_up, yard_home):
    """`big` on the self-hosted `home`, `cheap` on the remote API, `both` chaining home → remote."""
    raw = auto_config(home_up, remote_up).model_dump()
    raw["models"]["both"] = ["home", "remote"]
    raw["server"]["admin_key"] = "sk-admin"
    gw = Gateway(type(auto_config(home_up, remote_up)).model_validate(raw), yard_home)
    yield gw
    gw.stack.close()


def new_key(gateway: Gateway, **fields) -> dict[str, str]:
    made = gateway.client.post("/admin/keys", headers=ADMIN, json={"name": "hr", **fields})
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['key']}"}


def test_auto_with_a_private_key_stays_self_hosted(gateway, home_up, remote_up):
    private = new_key(gateway, private=True)
    reply = gateway.post(ask("What is 2 + 2?"), headers=private)
    assert route(reply) == "big; reason=key is private, self-hosted only; cheapest allowed"
    assert len(home_up.requests) == 1 and remote_up.requests == []
    reason = orjson.loads(gateway.rows()[-1]["route_reason"])
    assert reason["private"] == ["key"] and reason["reason"].startswith("key is private")
    assert reason["excluded"]["cheap"] == ["private data must stay on a self-hosted backend"]


def test_the_same_prompt_with_an_ordinary_key_goes_to_the_cheap_remote(gateway, remote_up):
    ordinary = new_key(gateway)
    assert route(gateway.post(ask("What is 2 + 2?"), headers=ordinary)).startswith("cheap;")
    assert len(remote_up.requests) == 1


def test_a_private_key_never_falls_back_to_a_remote_api(gateway, home_up, remote_up):
    private = new_key(gateway, private=True)
    home_up.plan("503", "503", "503")
    reply = gateway.post(ask("What is 2 + 2?"), headers=private)
    assert reply.status_code == 502, reply.text
    assert "home: HTTP 503; home: HTTP 503; home: HTTP 503" in reply.json()["error"]["message"]
    assert len(home_up.requests) == 3 and remote_up.requests == []


@pytest.mark.parametrize(
    ("model", "remote"), [("cheap", "remote"), ("both", "remote")], ids=["remote", "mixed-chain"]
)
def test_a_private_key_naming_a_remote_model_gets_403(gateway, remote_up, model, remote):
    private = new_key(gateway, private=True)
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    reply = gateway.post(body, headers=private)
    assert reply.status_code == 403
    error = reply.json()["error"]
    assert error["type"] == "permission_error" and error["code"] == "model_not_self_hosted"
    assert error["param"] == "model"
    assert error["message"] == (
        f"Key 'hr' is private: model {model!r} is not self-hosted (remote backend {remote}); "
        "ask for a self-hosted model or for 'auto'."
    )
    embed = gateway.client.post(
        "/v1/embeddings", json={"model": model, "input": "hi"}, headers=private
    )
    assert embed.status_code == 403
    assert remote_up.requests == []
    assert [r["status"] for r in gateway.rows()] == [403, 403]


def test_a_private_key_may_name_a_self_hosted_model(gateway, home_up, remote_up):
    private = new_key(gateway, private=True)
    body = {"model": "big", "messages": [{"role": "user", "content": "hi"}]}
    assert gateway.post(body, headers=private).headers["x-yard-backend"] == "home"
    assert len(home_up.requests) == 1 and remote_up.requests == []


def test_the_flag_is_listed_stored_and_type_checked(gateway, yard_home):
    new_key(gateway, private=True)
    new_key(gateway)
    listed = gateway.client.get("/admin/keys", headers=ADMIN).json()["data"]
    assert [k["private"] for k in listed] == [True, False]
    wrong = gateway.client.post("/admin/keys", headers=ADMIN, json={"name": "x", "private": "yes"})
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "private"
    gateway.stack.close()
    reopened = KeyStore.open(connect(None, yard_home)).list()
    assert [k.private for k in reopened] == [True, False]


def test_keys_cli_creates_and_lists_private_keys(yard_home: Path):
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return result.output

    made = json.loads(run("keys", "create", "hr", "--private", "--json"))
    assert made["private"] is True
    run("keys", "create", "ci", "--json")
    assert [k["private"] for k in json.loads(run("keys", "list", "--json"))] == [True, False]
    table = run("keys", "list")
    assert "private" in table and table.count("yes") == 1
