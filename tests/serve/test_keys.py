"""Virtual keys: hashed at rest, every auth outcome, budgets, RPM/TPM limits and /admin/keys."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient

from modelyard.errors import YardError
from modelyard.serve.admin import admin_routes
from modelyard.serve.errors import GatewayError
from modelyard.serve.key_fields import KeyEdit, period_of, period_start
from modelyard.serve.keys import KeyInfo, KeyStore
from modelyard.serve.ledger import Ledger, connect, new_entry
from modelyard.serve.limits import SlidingWindowLimiter
from modelyard.serve.middleware.errors import ErrorMiddleware

ADMIN = "admin-secret-for-tests"


@pytest.fixture
def store(yard_home: Path) -> KeyStore:
    return KeyStore.open(connect(None, yard_home))


def authorize(store: KeyStore, header: str | None, model: str | None = "m") -> KeyInfo | None:
    """The key of ``header``, admitted for ``model`` (None: only identified, as /v1/models)."""
    info = store.identify(header)
    if info is not None and model is not None:
        store.admit(info, model)
    return info


def refused(store: KeyStore, header: str | None, model: str | None = "m") -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        authorize(store, header, model)
    return caught.value


def test_no_keys_and_no_admin_key_means_an_open_gateway(store: KeyStore) -> None:
    assert authorize(store, None, "any-model") is None
    assert authorize(store, "Bearer whatever", "any-model") is None


def test_auth_outcomes(store: KeyStore) -> None:
    info, raw = store.create("alice")
    assert raw.startswith("sk-yard-") and len(raw) > 40
    assert authorize(store, f"Bearer {raw}", "m") == info
    assert authorize(store, f"bearer   {raw} ", "m") == info
    for header in (None, "", "Bearer", f"Basic {raw}"):
        assert refused(store, header).status == 401
    wrong = refused(store, "Bearer sk-yard-nope")
    assert wrong.status == 401 and "sk-yard-nope" not in wrong.message
    store.revoke(info.id)
    assert "revoked" in refused(store, f"Bearer {raw}").message
    assert not store.open_access, "revoking every key must not open the gateway"


def test_keys_are_hashed_at_rest(store: KeyStore, yard_home: Path) -> None:
    _, raw = store.create("bob")
    stored = b"".join(p.read_bytes() for p in yard_home.glob("ledger.db*"))
    assert raw.encode() not in stored
    assert raw.removeprefix("sk-yard-").encode() not in stored
    again = KeyStore.open(connect(None, yard_home))
    assert authorize(again, f"Bearer {raw}", "m") is not None


def test_keys_made_or_revoked_by_another_process_are_picked_up(
    store: KeyStore, yard_home: Path
) -> None:
    store.create("alice")  # a closed gateway: unknown keys are refused
    other = KeyStore.open(connect(None, yard_home))  # `yard keys`, another worker or replica
    store.refresh_if_changed()  # its own new key moved the table since it was loaded
    assert store.refresh_if_changed() is False
    info, raw = other.create("carol")
    assert refused(store, f"Bearer {raw}").status == 401
    assert store.refresh_if_changed() is True
    assert authorize(store, f"Bearer {raw}", "m") == info
    assert store.refresh_if_changed() is False
    other.revoke(info.id)
    assert store.refresh_if_changed() is True
    assert "revoked" in refused(store, f"Bearer {raw}").message


def slow_read_of_the_keys(store: KeyStore, reading: threading.Event) -> threading.Thread:
    """A refresh in another thread whose read of the keys table pauses once it has its rows'
    snapshot, as a refresh caught mid-way by a key being made or revoked."""
    follower = threading.Thread(target=store.refresh)

    def pause(conn, cursor, statement: str, *args) -> None:
        if threading.current_thread() is follower and "FROM keys" in statement:
            reading.set()
            time.sleep(0.3)

    sa.event.listen(store.engine, "after_cursor_execute", pause)
    follower.start()
    return follower


def test_a_refresh_never_undoes_a_key_being_made_or_revoked(store: KeyStore) -> None:
    reading = threading.Event()
    follower = slow_read_of_the_keys(store, reading)
    assert reading.wait(5)
    info, raw = store.create("made-meanwhile")
    follower.join()
    assert authorize(store, f"Bearer {raw}", "m") == info
    reading.clear()
    follower = slow_read_of_the_keys(store, reading)
    assert reading.wait(5)
    store.revoke(info.id)
    follower.join()
    assert refused(store, f"Bearer {raw}").status == 401


def test_pepper_is_part_of_the_hash(yard_home: Path) -> None:
    engine = connect(None, yard_home)
    _, raw = KeyStore.open(engine, pepper="one").create("carol")
    assert refused(KeyStore.open(engine, pepper="two"), f"Bearer {raw}").status == 401


def test_model_allow_list_with_globs(store: KeyStore) -> None:
    _, raw = store.create("dave", models=["qwen*", "openai/gpt-4o-mini"])
    assert authorize(store, f"Bearer {raw}", "qwen3-8b") is not None
    assert authorize(store, f"Bearer {raw}", "openai/gpt-4o-mini") is not None
    assert authorize(store, f"Bearer {raw}", None) is not None
    error = refused(store, f"Bearer {raw}", "openai/gpt-4o")
    assert (error.status, error.param, error.code) == (403, "model", "model_not_allowed")


def test_admin_key_passes_everything_and_closes_the_gateway(yard_home: Path) -> None:
    store = KeyStore.open(connect(None, yard_home), admin_key=ADMIN)
    assert not store.open_access
    assert authorize(store, f"Bearer {ADMIN}", "anything").id == "admin"
    assert refused(store, None).status == 401
    assert refused(store, "Bearer ümlaut").status == 401


def test_budget_is_enforced_and_survives_a_restart(yard_home: Path) -> None:
    ledger = Ledger.open(None, yard_home)
    store = KeyStore.open(ledger.engine)
    info, raw = store.create("erin", budget_usd=0.01)
    for _ in range(2):
        hold = store.admit(info, "m")
        ledger.record(new_entry(key_id=info.id, cost_usd=0.006))
        store.settle(hold, tokens=10, cost_usd=0.006)
    error = refused(store, f"Bearer {raw}")
    assert (error.status, error.type, error.code) == (
        429,
        "insufficient_quota",
        "insufficient_quota",
    )
    assert error.headers == {"x-should-retry": "false"}
    ledger.close()
    restarted = KeyStore.open(connect(None, yard_home))
    assert restarted.list()[0].spent_usd == pytest.approx(0.012)
    assert refused(restarted, f"Bearer {raw}").code == "insufficient_quota"


def test_rpm_limit_answers_429_with_retry_after(store: KeyStore) -> None:
    _, raw = store.create("frank", rpm=2)
    authorize(store, f"Bearer {raw}", "m")
    authorize(store, f"Bearer {raw}", "m")
    error = refused(store, f"Bearer {raw}")
    assert (error.status, error.type, error.code) == (429, "requests", "rate_limit_exceeded")
    assert 1 <= int(error.headers["Retry-After"]) <= 60
    assert int(error.headers["retry-after-ms"]) <= 60_000


def test_tpm_limit_counts_settled_tokens(store: KeyStore) -> None:
    info, raw = store.create("grace", tpm=100)
    store.settle(store.admit(info, "m"), tokens=99, cost_usd=None)
    store.settle(store.admit(info, "m"), tokens=5, cost_usd=None)
    assert refused(store, f"Bearer {raw}").type == "tokens"


def test_sliding_window_frees_room_as_time_passes() -> None:
    now = [1000.0]
    limiter = SlidingWindowLimiter(clock=lambda: now[0])
    assert limiter.admit("k", rpm=1, tpm=None) is None
    now[0] += 20
    refusal = limiter.admit("k", rpm=1, tpm=None)
    assert refusal is not None and refusal.retry_after_s == pytest.approx(40)
    now[0] += 40
    assert limiter.admit("k", rpm=1, tpm=None) is None
    limiter.consume("k", 50)
    now[0] += 30
    limiter.consume("k", 60)
    refusal = limiter.admit("k", rpm=None, tpm=100)
    assert refusal is not None and refusal.retry_after_s == pytest.approx(30)
    now[0] += 30
    assert limiter.admit("k", rpm=None, tpm=100) is None


def test_create_rejects_bad_fields(store: KeyStore) -> None:
    from modelyard.errors import YardError

    for kwargs in ({"name": " "}, {"name": "x", "rpm": 0}, {"name": "x", "models": []}):
        with pytest.raises(YardError):
            store.create(**kwargs)


@pytest.fixture
def admin(store: KeyStore) -> TestClient:
    app = Starlette(routes=admin_routes(store, ADMIN), middleware=[Middleware(ErrorMiddleware)])
    return TestClient(app, raise_server_exceptions=True)


def test_admin_endpoints(admin: TestClient, store: KeyStore) -> None:
    auth = {"Authorization": f"Bearer {ADMIN}"}
    assert admin.get("/admin/keys").status_code == 401
    assert admin.get("/admin/keys", headers={"Authorization": "Bearer nope"}).status_code == 401
    made = admin.post("/admin/keys", json={"name": "hank", "models": ["m"], "rpm": 5}, headers=auth)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["key"].startswith("sk-yard-") and body["models"] == ["m"]
    assert authorize(store, f"Bearer {body['key']}", "m") is not None
    listed = admin.get("/admin/keys", headers=auth).json()["data"]
    assert [k["name"] for k in listed] == ["hank"]
    assert body["key"] not in admin.get("/admin/keys", headers=auth).text
    assert "key_hash" not in listed[0] and "key" not in listed[0]
    gone = admin.delete(f"/admin/keys/{body['id']}", headers=auth)
    assert gone.status_code == 200 and gone.json()["revoked_utc"]
    assert refused(store, f"Bearer {body['key']}").status == 401


def test_admin_errors_use_the_openai_schema(admin: TestClient) -> None:
    auth = {"Authorization": f"Bearer {ADMIN}"}
    bad = admin.post("/admin/keys", json={"name": "x", "api_base": "http://evil"}, headers=auth)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "api_base"
    assert admin.post("/admin/keys", json={"rpm": 1}, headers=auth).status_code == 400
    assert admin.post("/admin/keys", json={"name": "x", "rpm": 0}, headers=auth).status_code == 400
    missing = admin.delete("/admin/keys/01J00000000000000000000000", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "key_not_found"


def test_a_request_holds_its_most_cost_until_it_settles(store: KeyStore) -> None:
    info, _ = store.create("hold", budget_usd=1.0)
    first = store.admit(info, "m", reserve_usd=0.6)  # 0 spent, 0 held: admitted
    second = store.admit(info, "m", reserve_usd=0.6)  # 0.6 held < 1: admitted, crosses
    with pytest.raises(GatewayError) as caught:
        store.admit(info, "m", reserve_usd=0.01)  # 1.2 held: refused
    assert caught.value.code == "insufficient_quota" and "in flight" in caught.value.message
    store.settle(first, tokens=10, cost_usd=0.1)
    store.settle(second, tokens=10, cost_usd=0.1)
    assert store.remaining_usd(info) == pytest.approx(0.8)
    assert store.admit(info, "m", reserve_usd=0.5) is not None  # released: admitted again


def test_budgets_per_day_or_month_start_again_each_period(yard_home: Path) -> None:
    ledger = Ledger.open(None, yard_home)
    store = KeyStore.open(ledger.engine)
    daily, _ = store.create("daily", budget_usd=1.0, budget_period="daily")
    monthly, _ = store.create("monthly", budget_usd=1.0, budget_period="monthly")
    lifetime, _ = store.create("lifetime", budget_usd=1.0)
    now = time.time()
    today, month = period_of("daily", now), period_of("monthly", now)
    old = {"daily": "2020-01-01T10:00:00.000+00:00", "monthly": "2020-01-01T10:00:00.000+00:00"}
    for info in (daily, monthly, lifetime):
        ledger.record(new_entry(key_id=info.id, cost_usd=2.0, datetime_utc=old["daily"]))
        ledger.record(new_entry(key_id=info.id, cost_usd=0.25))  # this day, this month
    ledger.close()
    restarted = KeyStore.open(connect(None, yard_home))
    spent = {k.name: k.spent_usd for k in restarted.list()}
    assert spent == {"daily": 0.25, "monthly": 0.25, "lifetime": 2.25}
    assert restarted.admit(daily, "m") is not None and restarted.admit(monthly, "m") is not None
    with pytest.raises(GatewayError) as caught:
        restarted.admit(lifetime, "m")
    assert caught.value.code == "insufficient_quota"
    assert len(today) == 10 and len(month) == 7 and period_start(month).endswith("-01T00:00:00")
    with pytest.raises(YardError):
        store.create("bad", budget_usd=1.0, budget_period="weekly")
    with pytest.raises(YardError):
        store.create("bad", budget_period="daily")


def test_a_new_period_resets_spend_in_a_running_store(store: KeyStore, monkeypatch) -> None:
    info, _ = store.create("daily", budget_usd=1.0, budget_period="daily")
    store.settle(store.admit(info, "m", 0.1), tokens=1, cost_usd=1.5)
    with pytest.raises(GatewayError):
        store.admit(info, "m")
    tomorrow = time.time() + 86_400
    monkeypatch.setattr(time, "time", lambda: tomorrow)
    assert store.remaining_usd(info) == 1.0
    assert store.admit(info, "m") is not None


def test_an_edited_budget_period_counts_the_ledger_spend_of_the_new_period(
    yard_home: Path,
) -> None:
    ledger = Ledger.open(None, yard_home)
    store = KeyStore.open(ledger.engine)
    info, _ = store.create("team", budget_usd=5.0)
    ledger.record(new_entry(key_id=info.id, cost_usd=2.0, datetime_utc="2020-01-01T10:00:00"))
    ledger.record(new_entry(key_id=info.id, cost_usd=0.25))  # this month
    ledger.close()
    store = KeyStore.open(connect(None, yard_home))
    assert store.list()[0].spent_usd == 2.25
    monthly = store.update(info.id, KeyEdit(budget_period="monthly"))
    assert (monthly.budget_period, monthly.spent_usd) == ("monthly", 0.25)
    other = KeyStore.open(connect(None, yard_home))  # another process sees the edit
    assert other.list()[0].spent_usd == 0.25
    with pytest.raises(YardError, match="needs a budget_usd"):
        store.update(info.id, KeyEdit(budget_usd=None))
    assert store.update(info.id, KeyEdit(budget_period=None)).spent_usd == 2.25
    with pytest.raises(YardError, match="budget_period"):
        store.update(info.id, KeyEdit(budget_period="weekly"))  # type: ignore[arg-type]
