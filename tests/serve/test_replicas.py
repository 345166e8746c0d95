"""Three `yard serve` replicas on one PostgreSQL ledger and one Redis, under load and faults.

Needs the servers scripts/services.sh starts (CI does); skips with that hint otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import redis
from ulid import ULID

from modelyard.serve.config import BackendConfig
from modelyard.serve.keys import KeyStore
from modelyard.serve.ledger import Ledger
from modelyard.serve.pricing import rate_for
from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import shipped_catalog
from tests.serve.replicas import CHAT, Load, Replicas, replica_config, wait_in_ledger
from tests.serve.services import control, postgres_url, redis_url

pytestmark = pytest.mark.slow

BUDGET_REQUESTS = 20.5
RPM = 30


class Cluster:
    """The replicas, their ledger database, one raw key per purpose, and one request's cost."""

    def __init__(self, replicas: Replicas, ledger: Ledger, keys: dict[str, str], prefix: str):
        self.replicas = replicas
        self.prefix = prefix
        self.ledger = ledger
        self.keys = keys
        self.urls = [replicas.url(i) for i in range(len(replicas.ports))]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    pg, redis = postgres_url(), redis_url()
    root = tmp_path_factory.mktemp("replicas")
    ledger = Ledger.open(pg, root / "test-home")  # migrates once, before replicas race to
    store = KeyStore.open(ledger.engine)
    cost = request_cost()
    made = {
        "budget": store.create("budget", budget_usd=BUDGET_REQUESTS * cost),
        "rpm": store.create("rpm", rpm=RPM),
        "load": store.create("load", rpm=1_000_000),
    }
    keys = {name: raw for name, (_, raw) in made.items()}
    prefix = f"test:{ULID()}:"
    keys["load_id"] = made["load"][0].id
    with FaultUpstream("a") as upstream:
        config = replica_config(upstream.url, pg, redis, prefix)
        replicas = Replicas(root, config)
        replicas.start_all()
        try:
            yield Cluster(replicas, ledger, keys, prefix)
        finally:
            replicas.stop_all()
            ledger.close()


def request_cost() -> float:
    """What one fault-upstream answer (7 prompt, 2 cached, 4 completion tokens) costs."""
    backend = BackendConfig(name="a", base_url="http://x/v1", price="openai/gpt-4o")
    return rate_for(backend, shipped_catalog()).cost(7, 4, 2, 0.0)


def test_budget_is_enforced_across_replicas_as_by_one(cluster: Cluster) -> None:
    """Nine clients on three replicas spend the budget down (each request holds its most cost,
    max_tokens 4); then one client alone takes what is left. Between them they were admitted
    exactly what one process admits one request at a time: 21 requests, the 21st crossing
    20.5 requests' budget."""
    key, body = cluster.keys["budget"], {**CHAT, "max_tokens": 4}

    def quota(load: Load) -> bool:
        return sum(code == "insufficient_quota" for *_, code in load.answers) >= 9

    with Load(cluster.urls, key, 3, quota, body) as load:
        load.wait(20)
    with Load(cluster.urls[1:2], key, 1, quota, body) as last:
        last.wait(20)
    assert len(load.ok()) + len(last.ok()) == 21
    assert {code for status, _, code in load.answers if status != 200} == {"insufficient_quota"}
    every = [rid for _, rid, _ in load.answers + last.answers]
    assert not wait_in_ledger(cluster.ledger.engine, every)


def test_rpm_is_enforced_across_replicas_as_by_one(cluster: Cluster) -> None:
    with Load(cluster.urls, cluster.keys["rpm"], 3, lambda load: len(load.answers) >= 60) as load:
        load.wait(20)
    assert len(load.ok()) == RPM
    assert {code for status, _, code in load.answers if status != 200} == {"rate_limit_exceeded"}
    assert not wait_in_ledger(cluster.ledger.engine, [rid for _, rid, _ in load.answers])


def test_kill_9_of_a_replica_loses_no_acknowledged_request(cluster: Cluster) -> None:
    replicas = cluster.replicas
    with Load(cluster.urls, cluster.keys["load"], 2) as load:
        time.sleep(1.0)
        replicas.kill(1)
        time.sleep(1.0)
        load.wait(0)
    replicas.start(1)  # its ledger replays the journal the killed process left
    restart_s = replicas.wait_ready(1)
    assert len(load.ok()) > 50 and load.errors  # the killed replica's clients saw it go
    assert not wait_in_ledger(cluster.ledger.engine, load.ok())
    assert restart_s < 30


def test_redis_restart_mid_load_degrades_to_local_limits_and_recovers(cluster: Cluster) -> None:
    window = f"{cluster.prefix}rpm:{cluster.keys['load_id']}"
    client = redis.Redis.from_url(redis_url())
    with Load(cluster.urls, cluster.keys["load"], 2) as load:
        time.sleep(0.5)
        assert client.zcard(window) > 0
        control("stop", "redis")
        time.sleep(1.0)
        during = len(load.answers)
        control("start", "redis")
        recovery_s = wait_for(lambda: client.zcard(window) > 0, timeout=5)
        load.wait(0)
    client.close()
    failed = [s for s, _, _ in load.answers if s != 200]
    assert not failed and not load.errors, (failed[:5], load.errors[:5])
    assert len(load.answers) > during  # served while Redis was away and after it came back
    assert not wait_in_ledger(cluster.ledger.engine, load.ok())
    # the restarted (empty) Redis holds the window again within RETRY_S of its return
    assert recovery_s < 2.0


def wait_for(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``condition()`` holds; fails the test after ``timeout``."""
    t0 = time.monotonic()
    while not condition():
        assert time.monotonic() - t0 < timeout, "condition not met in time"
        time.sleep(0.02)
    return time.monotonic() - t0


def test_postgres_restart_mid_load_keeps_every_row_in_the_journal(cluster: Cluster) -> None:
    with Load(cluster.urls, cluster.keys["load"], 2) as load:
        time.sleep(0.5)
        control("stop", "postgres")
        time.sleep(2.0)
        served_while_down = len(load.ok())
        control("start", "postgres")
        time.sleep(0.5)
        load.wait(0)
    assert served_while_down > 20 and load.count(200) == len(load.answers)
    assert not wait_in_ledger(cluster.ledger.engine, load.ok(), timeout=20)
