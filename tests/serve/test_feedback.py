"""POST /v1/feedback on a real gateway: verdicts kept beside the ledger, scoped to the key that
made the request, turned into label rows for `yard route train --from-ledger`."""

from __future__ import annotations

import concurrent.futures
import json
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from modelyard.cli import app
from modelyard.eval.suites import load_suite_file
from modelyard.serve import feedback
from modelyard.serve.ledger import connect
from tests.serve.test_auto import ADMIN, MODEL_CACHE, Gateway, ask, auto_config


def _gateway(home_up, remote_up, yard_home: Path, **server) -> Gateway:
    raw = auto_config(home_up, remote_up).model_dump()
    raw["server"].update(server)
    return Gateway(type(auto_config(home_up, remote_up)).model_validate(raw), yard_home)


@pytest.fixture
def logged(home_up, remote_up, yard_home):
    gw = _gateway(home_up, remote_up, yard_home, log_prompts=True)
    yield gw
    gw.stack.close()


def _rate(gw: Gateway, body: dict, headers: dict | None = None) -> httpx.Response:
    return gw.client.post("/v1/feedback", json=body, headers=headers or {})


def _rows(home: Path) -> tuple[list[dict], int]:
    engine = connect(None, home)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT COUNT(*) FROM feedback")).scalar_one()
    return feedback.label_rows(engine), stored


def test_a_thumbs_up_becomes_a_label_row(logged: Gateway, yard_home: Path) -> None:
    reply = logged.post(ask("What is 2 + 2?"))
    request_id = reply.headers["x-request-id"]
    rated = _rate(logged, {"request_id": request_id, "thumbs": "up", "comment": "spot on"})
    assert rated.status_code in (201, 202), rated.text
    assert rated.json()["score"] == 1.0 and rated.json()["request_id"] == request_id
    logged.stack.close()
    labels, stored = _rows(yard_home)
    assert stored == 1
    (row,) = labels
    assert row["id"] == request_id and row["labels"] == {"cheap": 1.0}
    assert row["messages"] == [{"role": "user", "content": "What is 2 + 2?"}]
    assert row["costs"]["cheap"] >= 0 and row["source"] == "feedback"


def test_the_latest_verdict_wins_and_a_known_request_is_recorded(
    logged: Gateway, yard_home: Path
) -> None:
    request_id = logged.post(ask("Name a prime.")).headers["x-request-id"]
    time.sleep(1.0)  # the ledger writes every 0.5 s: the request is in it now
    first = _rate(logged, {"request_id": request_id, "score": 0.2})
    assert first.status_code == 201 and first.json()["status"] == "recorded"
    assert _rate(logged, {"request_id": request_id, "score": 0.9}).status_code == 201
    logged.stack.close()
    labels, stored = _rows(yard_home)
    assert stored == 2 and [r["labels"] for r in labels] == [{"cheap": 0.9}]


@pytest.mark.parametrize(
    ("body", "param", "status"),
    [
        (b"{not json", None, 400),
        (b"[1, 2]", None, 400),
        (b'{"score": 1}', "request_id", 400),
        (b'{"request_id": "", "score": 1}', "request_id", 400),
        (b'{"request_id": "' + b"x" * 65 + b'", "score": 1}', "request_id", 400),
        (b'{"request_id": "r"}', "score", 400),
        (b'{"request_id": "r", "score": 1, "thumbs": "up"}', "score", 400),
        (b'{"request_id": "r", "score": 1.5}', "score", 400),
        (b'{"request_id": "r", "score": -0.1}', "score", 400),
        (b'{"request_id": "r", "score": true}', "score", 400),
        (b'{"request_id": "r", "score": "0.5"}', "score", 400),
        (b'{"request_id": "r", "thumbs": "sideways"}', "thumbs", 400),
        (b'{"request_id": "r", "score": 1, "comment": 5}', "comment", 400),
        (b'{"request_id": "r", "score": 1, "comment": "' + b"c" * 2001 + b'"}', "comment", 400),
        (b'{"request_id": "r", "score": 1, "pad": "' + b"p" * 20_000 + b'"}', None, 413),
    ],
)
def test_malformed_feedback_is_refused_with_the_field(
    logged: Gateway, body: bytes, param: str | None, status: int
) -> None:
    reply = logged.client.post(
        "/v1/feedback", content=body, headers={"content-type": "application/json"}
    )
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["param"] == param and error["message"]


def test_only_post(logged: Gateway) -> None:
    assert logged.client.get("/v1/feedback").status_code == 405


def test_feedback_counts_only_for_the_key_that_made_the_request(
    home_up, remote_up, yard_home: Path
) -> None:
    gw = _gateway(home_up, remote_up, yard_home, log_prompts=True, admin_key="sk-admin")
    keys = []
    for name in ("alice", "mallory"):
        made = gw.client.post("/admin/keys", headers=ADMIN, json={"name": name})
        keys.append({"Authorization": f"Bearer {made.json()['key']}"})
    alice, mallory = keys
    request_id = gw.post(ask("Summarise the memo."), headers=alice).headers["x-request-id"]
    time.sleep(1.0)
    assert _rate(gw, {"request_id": request_id, "score": 1}).status_code == 401
    stranger = _rate(gw, {"request_id": request_id, "score": 0.0}, mallory)
    assert stranger.status_code == 202 and stranger.json()["status"] == "accepted"
    unknown = _rate(gw, {"request_id": "01J00000000000000000000000", "score": 0.0}, mallory)
    assert unknown.json() | {"id": ""} == stranger.json() | {
        "id": "",
        "request_id": unknown.json()["request_id"],
    }
    own = _rate(gw, {"request_id": request_id, "score": 0.75}, alice)
    assert own.status_code == 201
    gw.stack.close()
    labels, stored = _rows(yard_home)
    assert stored == 3 and [r["labels"] for r in labels] == [{"cheap": 0.75}]


def test_without_prompt_logging_feedback_is_kept_but_makes_no_label(
    home_up, remote_up, yard_home: Path
) -> None:
    gw = _gateway(home_up, remote_up, yard_home)
    request_id = gw.post(ask("Hello")).headers["x-request-id"]
    assert _rate(gw, {"request_id": request_id, "thumbs": "down"}).status_code in (201, 202)
    gw.stack.close()
    labels, stored = _rows(yard_home)
    assert stored == 1 and labels == []


def test_concurrent_feedback_is_all_kept(logged: Gateway, yard_home: Path) -> None:
    request_id = logged.post(ask("Count to three.")).headers["x-request-id"]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(
            lambda i: _rate(logged, {"request_id": request_id, "score": i / 100}), range(60)
        ))  # fmt: skip
    assert {r.status_code for r in replies} <= {201, 202}
    logged.stack.close()
    labels, stored = _rows(yard_home)
    assert stored == 60 and len(labels) == 1


def test_train_and_compare_on_the_gateways_own_traffic(
    logged: Gateway, yard_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Feedback and `yard eval` scores of logged prompts become labels; a router trained on
    them is compared with the one in service before it is swapped in."""
    monkeypatch.setenv("YARD_MODEL_CACHE", str(MODEL_CACHE))
    topics = ("Add 17 and 25.", "Translate 'good morning' into French.", "Prove that √2 is "
              "irrational.", "Write a haiku about rain.")  # fmt: skip
    ids = []
    for i in range(48):
        reply = logged.post(ask(f"{topics[i % 4]} (case {i})"))
        ids.append(reply.headers["x-request-id"])
    for request_id in ids[:8]:
        assert _rate(logged, {"request_id": request_id, "thumbs": "up"}).status_code in (201, 202)
    logged.stack.close()
    runner = CliRunner()
    prompts = tmp_path / "prompts.jsonl"
    done = runner.invoke(app, ["route", "ledger-prompts", "-o", str(prompts)])
    assert done.exit_code == 0, done.output
    items = [json.loads(line) for line in prompts.read_text().splitlines()]
    assert {i["id"] for i in items} == set(ids)
    suite = load_suite_file(prompts)  # what `yard eval prompts.jsonl --judge ...` reads
    assert len(suite.items) == 48 and suite.problems == []
    assert suite.items[0].scorer is not None and suite.items[0].scorer.name == "judge"
    # what `yard eval prompts.jsonl -m cheap,big --labels scored.jsonl` writes: the cheap model
    # fails the proofs and poems, the big one answers everything
    scored = tmp_path / "scored.jsonl"
    rows = [{"id": i["id"], "prompt": i["messages"][-1]["content"],
             "labels": {"cheap": 0.0 if ("Prove" in str(i) or "haiku" in str(i)) else 1.0,
                        "big": 1.0}} for i in items]  # fmt: skip
    rows.append({"id": "not-a-logged-request", "prompt": "x", "labels": {"cheap": 1, "big": 1}})
    scored.write_text("".join(json.dumps(r) + "\n" for r in rows))
    deployed, new = tmp_path / "deployed.json", tmp_path / "new.json"
    prices = tmp_path / "prices.json"  # the feedback rows carry their cost; eval rows need prices
    prices.write_text(json.dumps({"cheap": {"input_price": 0.1, "output_price": 0.2},
                                  "big": {"input_price": 1.0, "output_price": 2.0}}))  # fmt: skip
    common = ["--from-ledger", "--eval-labels", str(scored), "-m", "cheap,big", "-p", str(prices)]
    done = runner.invoke(app, ["route", "train", *common, "-o", str(deployed), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["rows"] == 48
    assert "1 --eval-labels rows match no logged request" in done.stderr
    done = runner.invoke(app, ["route", "eval", *common, "-k", "2", "--deployed",
                               str(deployed), "--json"])  # fmt: skip
    assert done.exit_code == 0, done.output
    (split,) = json.loads(done.stdout)["splits"]
    assert "deployed" in split["methods"]
    assert {v["target"] for v in split["verdicts"] if v["baseline"] == "deployed"} == {"q95"}
    assert new.exists() is False  # evaluation writes no router file
