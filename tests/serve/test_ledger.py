"""The ledger: batched off the caller's thread, drained on close, complete after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from modelyard.serve.ledger import (
    Ledger,
    LedgerEntry,
    connect,
    count_rows,
    new_entry,
    utc_now,
)

CHILD = """
import sys, time
from pathlib import Path
from modelyard.serve.ledger import Ledger, new_entry
home, n, interval = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
ledger = Ledger.open(None, home, flush_interval_s=interval, batch_size=10**9)
i = 0
while n < 0 or i < n:
    entry = new_entry(key_id="k", served_model="m", prompt_tokens=i, cost_usd=0.001)
    ledger.record(entry)
    print(entry.id, flush=True)  # acknowledged: the client would now get its answer
    i += 1
print("done", flush=True)
time.sleep(600)
"""


@contextmanager
def child(home: Path, n: int, interval: float) -> Iterator[subprocess.Popen[str]]:
    """The CHILD script as a process, SIGKILLed on the way out whatever happens."""
    args = [sys.executable, "-c", CHILD, str(home), str(n), str(interval)]
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True) as proc:
        try:
            yield proc
        finally:
            proc.kill()


def read_ids(proc: subprocess.Popen[str], until: str | None = None) -> list[str]:
    """Ids the child acknowledged, read until ``until`` or until its stdout closes."""
    assert proc.stdout is not None
    ids = []
    for line in proc.stdout:
        if line.strip() == until:
            break
        ids.append(line.strip())
    return [i for i in ids if len(i) == 26]  # a line cut by the kill was never acknowledged


def db_ids(home: Path) -> list[str]:
    ledger = Ledger.open(None, home)
    try:
        with ledger.engine.connect() as conn:
            return [i for (i,) in conn.execute(sa.text("SELECT id FROM requests"))]
    finally:
        ledger.close()


def test_kill_9_before_any_flush_loses_nothing(yard_home: Path) -> None:
    with child(yard_home, 200, interval=3600) as proc:
        ids = read_ids(proc, "done")
        assert len(ids) == 200
        assert count_rows(connect(None, yard_home)) == 0  # nothing flushed yet
        os.kill(proc.pid, signal.SIGKILL)
    assert sorted(db_ids(yard_home)) == sorted(ids)
    assert list((yard_home / "journal").glob("*.jsonl")) == []


def test_kill_9_under_load_keeps_every_acknowledged_entry(yard_home: Path) -> None:
    with child(yard_home, -1, interval=0.01) as proc, ThreadPoolExecutor(1) as pool:
        reader = pool.submit(read_ids, proc)  # the child flushes and rotates while writing
        time.sleep(1.5)
        os.kill(proc.pid, signal.SIGKILL)
        ids = reader.result(timeout=30)
    stored = db_ids(yard_home)
    assert len(ids) > 100, "the child wrote too little to exercise rotation"
    assert set(ids) <= set(stored)
    assert len(stored) == len(set(stored))


def test_record_returns_before_the_database_sees_the_row(yard_home: Path) -> None:
    ledger = Ledger.open(None, yard_home, flush_interval_s=0.05)
    writers: set[int] = set()

    @sa.event.listens_for(ledger.engine, "before_cursor_execute")
    def _spy(conn, cursor, statement, *args) -> None:
        if statement.startswith("INSERT INTO requests"):
            writers.add(threading.get_ident())

    for _ in range(50):
        ledger.record(new_entry(served_model="m"))
    assert writers == set()
    deadline = time.monotonic() + 10
    while count_rows(ledger.engine) < 50 and time.monotonic() < deadline:
        time.sleep(0.02)
    ledger.close()
    assert count_rows(connect(None, yard_home)) == 50
    assert writers and threading.get_ident() not in writers


def test_close_drains_and_leaves_no_journal(yard_home: Path) -> None:
    ledger = Ledger.open(None, yard_home, flush_interval_s=3600)
    entries = [new_entry(key_id="k", cost_usd=0.25, stream=True) for _ in range(3)]
    for entry in entries:
        ledger.record(entry)
    ledger.close()
    again = Ledger.open(None, yard_home)
    with again.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, stream, cost_usd FROM requests ORDER BY id")).all()
    again.close()
    assert rows == [(e.id, 1, 0.25) for e in sorted(entries, key=lambda e: e.id)]
    assert list((yard_home / "journal").iterdir()) == []


def test_prompts_are_dropped_unless_prompt_logging_is_on(yard_home: Path) -> None:
    for log_prompts, expected in ((False, None), (True, '{"messages":[]}')):
        ledger = Ledger.open(None, yard_home, log_prompts=log_prompts)
        entry = new_entry(request_json='{"messages":[]}', response_json='{"choices":[]}')
        ledger.record(entry)
        ledger.close()
        with connect(None, yard_home).connect() as conn:
            stored = conn.execute(
                sa.text("SELECT request_json FROM requests WHERE id = :id"), {"id": entry.id}
            ).scalar_one()
        assert stored == expected


def test_replay_is_idempotent_and_skips_a_torn_line(yard_home: Path) -> None:
    ledger = Ledger.open(None, yard_home)
    kept = new_entry(served_model="m")
    ledger.record(kept)
    ledger.close()
    orphan = yard_home / "journal" / "01J00000000000000000000000.jsonl"
    fresh = new_entry(served_model="n")
    lines = [orjson.dumps(kept), orjson.dumps(fresh), b'{"id": "01J0000000000000000000TORN", "da']
    orphan.write_bytes(b"\n".join(lines))
    assert sorted(db_ids(yard_home)) == sorted([kept.id, fresh.id])
    assert not orphan.exists()


def test_live_segments_are_not_replayed_by_another_process(yard_home: Path) -> None:
    first = Ledger.open(None, yard_home, flush_interval_s=3600)
    first.record(new_entry())
    second = Ledger.open(None, yard_home)  # a second worker: must leave first's journal alone
    assert count_rows(second.engine) == 0
    assert len(list((yard_home / "journal").glob("*.jsonl"))) == 2
    second.close()
    first.close()
    assert count_rows(connect(None, yard_home)) == 1


def test_utc_now_is_datetimes_own_iso_text() -> None:
    """Same text as datetime's isoformat, whatever the millisecond (00x, 0xx, xxx)."""
    for _ in range(3000):
        before = datetime.now(UTC).replace(microsecond=0)
        text = utc_now()
        parsed = datetime.fromisoformat(text)
        assert text == parsed.isoformat(timespec="milliseconds")
        assert before <= parsed < before + timedelta(seconds=2)


def test_entry_defaults() -> None:
    entry = new_entry(served_model="m")
    assert len(entry.id) == 26 and entry.datetime_utc.endswith("+00:00")
    assert isinstance(entry, LedgerEntry) and entry.status == 200 and entry.stream is False
    with pytest.raises(TypeError):
        new_entry(not_a_column=1)


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("YARD_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("set YARD_TEST_POSTGRES_URL=postgresql+psycopg://... to test PostgreSQL")
    return url


def test_postgres_round_trip(postgres_url: str, yard_home: Path) -> None:
    ledger = Ledger.open(postgres_url, yard_home, flush_interval_s=3600)
    entries = [new_entry(key_id="pg", stream=True, cost_usd=0.5) for _ in range(3)]
    for entry in [*entries, entries[0]]:  # a duplicate id is skipped, as in a replay
        ledger.record(entry)
    ledger.close()
    again = Ledger.open(postgres_url, yard_home)
    assert count_rows(again.engine, [e.id for e in entries]) == 3
    again.close()
