"""Virtual API keys: stored hashed, checked in memory on every request, with budgets and limits.

A raw key (``sk-yard-`` + 256 random bits) is shown once, at creation; the database keeps only
``sha256(pepper + key)``. Keys this random cannot be guessed from their hash, so a slow password
hash (scrypt) would add milliseconds per request and no safety; the optional pepper, kept outside
the database, makes a stolen database alone useless for checking candidate keys.
"""

from __future__ import annotations

import builtins
import fnmatch
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, replace

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from ulid import ULID

from modelyard.errors import YardError
from modelyard.privacy import Mode
from modelyard.serve.errors import GatewayError
from modelyard.serve.key_fields import KeyEdit, Period, check_key_fields, period_of, period_start
from modelyard.serve.ledger import utc_now
from modelyard.serve.limits import Budget, LocalQuotas, Quotas
from modelyard.serve.migrations import reflect
from modelyard.serve.refusals import forbidden, over_budget, rate_limited

KEY_PREFIX = "sk-yard-"
EDITABLE_COLUMNS = (
    "name", "models_json", "budget_usd", "budget_period", "rpm", "tpm", "private", "private_data",
    "updated_utc",
)  # fmt: skip
ADMIN_KEY_ID = "admin"
SHOWN_CHARS = len(KEY_PREFIX) + 4


@dataclass
class KeyInfo:
    """A virtual key as the gateway and its operators see it (never the raw key or its hash)."""

    id: str
    """ULID of the key; the ledger's ``key_id``."""
    name: str
    """Who or what the key is for."""
    prefix: str
    """The first characters of the raw key, to recognise it."""
    models: tuple[str, ...] | None = None
    """Model names or glob patterns (``openai/*``) it may use; None means every model."""
    budget_usd: float | None = None
    """Spend allowed, in USD, over the key's life or per ``budget_period``; None: no budget."""
    budget_period: Period | None = None
    """The budget is per UTC day or calendar month (spend starts again from 0 each period);
    None: over the key's life."""
    rpm: int | None = None
    """Requests per minute; None means unlimited."""
    tpm: int | None = None
    """Tokens (prompt + completion) per minute; None means unlimited."""
    created_utc: str = ""
    """When it was created (ISO 8601, UTC)."""
    revoked_utc: str | None = None
    """When it was revoked; a revoked key is refused."""
    spent_usd: float = 0.0
    """Spend in the current budget period (or ever), from the ledger plus requests settled
    since the gateway started."""
    private: bool = False
    """Every request is private: `auto` sends it to self-hosted candidates only, and a model
    named directly must be self-hosted."""
    private_data: Mode | None = None
    """What to do with this key's requests that hold private data (local, redact, block);
    None: the gateway's setting. The strictest of key, model and gateway wins."""
    updated_utc: str | None = None
    """When it was last edited; None when never."""

    def allows(self, model: str) -> bool:
        """Whether this key may use ``model`` (exact name or glob match)."""
        return self.models is None or any(fnmatch.fnmatchcase(model, p) for p in self.models)

    @property
    def period(self) -> str:
        """The budget period now, UTC: "2026-12-07" (daily), "2026-12" (monthly), or ""."""
        return period_of(self.budget_period, time.time())


@dataclass(frozen=True)
class Hold:
    """What one admitted request holds against its key; ``KeyStore.settle`` releases it."""

    key_id: str
    budget: Budget | None
    """The key's budget as admitted (None: the key has none)."""
    reserved_usd: float = 0.0


def hash_key(raw_key: str, pepper: str = "") -> str:
    """The stored form of a raw key."""
    return hashlib.sha256((pepper + raw_key).encode()).hexdigest()


def bearer_token(authorization_header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not authorization_header:
        return None
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class KeyStore:
    """All virtual keys in memory, mirrored to the ``keys`` table; spend from the ledger."""

    def __init__(
        self,
        engine: Engine,
        *,
        admin_key: str | None = None,
        pepper: str = "",
        quotas: Quotas | None = None,
    ) -> None:
        self.engine = engine
        self._admin_key = admin_key or None
        self._admin_bytes = (admin_key or "").encode()
        self._admin_info = KeyInfo(id=ADMIN_KEY_ID, name="admin", prefix="")
        self._pepper = pepper
        self._quotas = quotas or LocalQuotas()
        self._by_hash: dict[str, KeyInfo] = {}
        self._spent: dict[str, tuple[str, float]] = {}
        """Each key's spend: (budget period, USD spent in it)."""
        self._mark: tuple[int, str | None, int, str | None] | None = None
        """The keys table's (rows, newest id, revoked rows, last edit) when it was last read."""
        self._write_lock = threading.Lock()
        """Held while the keys table and this store's copy of it change together."""

    @classmethod
    def open(
        cls,
        engine: Engine,
        *,
        admin_key: str | None = None,
        pepper: str = "",
        quotas: Quotas | None = None,
    ) -> KeyStore:
        """Load every key, and each key's spend summed from the ledger.

        Args:
            engine: The (migrated) ledger database, e.g. ``Ledger.engine``.
            admin_key: The operator's key; it passes every check and guards ``/admin``.
            pepper: Secret mixed into every key hash; changing it invalidates all keys.
            quotas: Where RPM/TPM windows and budget reservations live (Redis, a workers' hub);
                in-process by default, where the budget is this process's own spend.
        """
        store = cls(engine, admin_key=admin_key, pepper=pepper, quotas=quotas)
        store.refresh()
        return store

    def refresh(self) -> None:
        """Reload key definitions (e.g. after ``yard keys`` changed them); spend is kept."""
        keys_table = reflect(self.engine, "keys")
        # under the lock: a read that misses a key this store is making or revoking cannot
        # land after that change and undo it
        with self._write_lock:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(keys_table)).mappings().all()
                keys = [_key_from_row(r) for r in rows]
                periods: dict[str, list[str]] = {}
                for info in keys:  # unseen keys, and keys in a new period (or period kind)
                    if info.id not in self._spent or self._spent[info.id][0] != info.period:
                        periods.setdefault(info.period, []).append(info.id)
                for period, ids in periods.items():
                    spent = _spend_since(conn, ids, period)
                    self._spent.update((i, (period, spent.get(i, 0.0))) for i in ids)
            self._by_hash = {r["key_hash"]: k for r, k in zip(rows, keys, strict=True)}
            ids = [r["id"] for r in rows]
            edits = [r["updated_utc"] for r in rows if r["updated_utc"] is not None]
            self._mark = (
                len(rows),
                max(ids, default=None),
                sum(r["revoked_utc"] is not None for r in rows),
                max(edits, default=None),
            )

    def refresh_if_changed(self) -> bool:
        """Reload the keys when another process made, revoked or edited one since the last read
        (`yard keys`, another worker or replica on the same database): one small query when
        nothing changed. Keys are only ever added, revoked or edited (which stamps
        ``updated_utc``), so the table's row count, newest id, revoked count and latest edit
        tell every change apart.

        Returns:
            Whether the keys were reloaded.
        """
        c = reflect(self.engine, "keys").c
        query = sa.select(
            sa.func.count(), sa.func.max(c.id), sa.func.count(c.revoked_utc),
            sa.func.max(c.updated_utc),
        )  # fmt: skip
        with self.engine.connect() as conn:
            mark = tuple(conn.execute(query).one())
        if mark == self._mark:
            return False
        self.refresh()
        return True

    def create(
        self,
        name: str,
        models: list[str] | None = None,
        budget_usd: float | None = None,
        rpm: int | None = None,
        tpm: int | None = None,
        private: bool = False,
        budget_period: str | None = None,
        private_data: Mode | None = None,
    ) -> tuple[KeyInfo, str]:
        """Make a new key; the raw key is returned here and never again.

        Raises:
            YardError: a field is out of range.
        """
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        info = KeyInfo(
            id=str(ULID()),
            name=name,
            prefix=raw[:SHOWN_CHARS],
            models=tuple(models) if models is not None else None,
            budget_usd=budget_usd,
            rpm=rpm,
            tpm=tpm,
            created_utc=utc_now(),
            private=private,
            budget_period=budget_period,  # type: ignore[arg-type]  # checked below
            private_data=private_data,
        )
        check_key_fields(info)
        key_hash = hash_key(raw, self._pepper)
        with self._write_lock:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.insert(reflect(self.engine, "keys")).values(_row_from_key(info, key_hash))
                )
            self._spent[info.id] = (info.period, 0.0)
            self._by_hash = {**self._by_hash, key_hash: info}
        return info, raw

    def revoke(self, key_id: str) -> KeyInfo:
        """Refuse this key from now on (its ledger rows and spend stay).

        Raises:
            YardError: no key has this id.
        """
        key_hash, info = self._found(key_id)
        revoked = replace(info, revoked_utc=info.revoked_utc or utc_now())
        self._save(key_hash, revoked, ("revoked_utc",))
        return self._with_spend(revoked)

    def update(self, key_id: str, edit: KeyEdit) -> KeyInfo:
        """Change a key's name, allowed models, budget, limits or private flag; the change
        applies to its next request (in other gateway processes within ``key_refresh_s``).

        Raises:
            YardError: no key has this id, it is revoked, or a new value is out of range.
        """
        key_hash, info = self._found(key_id)
        if info.revoked_utc is not None:
            raise YardError(f"key {info.name!r} ({key_id}) is revoked; create a new one instead")
        edited = edit.apply(info, utc_now())
        check_key_fields(edited)
        if edited.period != info.period:  # a new period kind: its spend from the ledger
            with self.engine.connect() as conn:
                spent = _spend_since(conn, [key_id], edited.period).get(key_id, 0.0)
            self._spent[key_id] = (edited.period, spent)
        self._save(key_hash, edited, EDITABLE_COLUMNS)
        return self._with_spend(edited)

    def _save(self, key_hash: str, info: KeyInfo, columns: tuple[str, ...]) -> None:
        """Write ``columns`` of a changed key's row, and its new info in memory, together."""
        row = _row_from_key(info, key_hash)
        table = reflect(self.engine, "keys")
        with self._write_lock:
            with self.engine.begin() as conn:
                values = {k: row[k] for k in columns}
                conn.execute(sa.update(table).where(table.c.id == info.id).values(values))
            self._by_hash = {**self._by_hash, key_hash: info}

    def _found(self, key_id: str) -> tuple[str, KeyInfo]:
        """The key's hash and info; reloads once, for a key another process made."""
        found = self._find(key_id)
        if not found:
            self.refresh()  # made by `yard keys create` since this store loaded
            found = self._find(key_id)
        if not found:
            raise YardError(f"no key with id {key_id!r}; `yard keys list` shows the ids")
        return found[0]

    def list(self) -> list[KeyInfo]:
        """Every key, oldest first, with its spend."""
        keys = sorted(self._by_hash.values(), key=lambda k: k.id)
        return [self._with_spend(k) for k in keys]

    @property
    def open_access(self) -> bool:
        """True when no key was ever created and no admin key is set: anyone may call."""
        return not self._by_hash and self._admin_key is None

    def identify(self, authorization_header: str | None) -> KeyInfo | None:
        """The caller's key, from a request's ``Authorization`` header, before anything else
        of the request is read.

        Returns:
            The key (the admin key's info for the admin key), or None when the gateway is open
            (see ``open_access``).

        Raises:
            GatewayError: 401 missing, unknown or revoked key.
        """
        if self.open_access:
            return None
        return self._identify(bearer_token(authorization_header))

    def admit(self, info: KeyInfo, model: str, reserve_usd: float = 0.0) -> Hold | None:
        """Check ``info``'s allow-list, rate limits and budget for one request to ``model``,
        and hold ``reserve_usd`` (the most it can cost) against the budget while it runs.

        Returns:
            What the request holds (give it to ``settle`` when it ends); None for the admin
            key, which passes everything.

        Raises:
            GatewayError: 403 model not allowed, 429 ``insufficient_quota`` budget spent (with
                what requests in flight hold), 429 ``rate_limit_exceeded``.
        """
        if info.id == ADMIN_KEY_ID:
            return None
        if not info.allows(model):
            raise forbidden(info, model)
        budget = self._budget(info)
        if budget is not None and budget.known_usd >= budget.limit_usd:
            raise over_budget(info, budget.known_usd)
        admission = self._quotas.admit(info.id, info.rpm, info.tpm, budget, reserve_usd)
        if admission.refusal is not None:
            raise rate_limited(info, admission.refusal)
        if budget is None:
            return Hold(info.id, None)
        spent = self._raise_spend(info.id, budget, admission.spent_usd)
        if admission.over_budget:
            raise over_budget(info, spent)
        return Hold(info.id, budget, reserve_usd)

    def _budget(self, info: KeyInfo) -> Budget | None:
        """``info``'s budget in the current period (a new period starts from nothing)."""
        if info.budget_usd is None:
            return None
        period = info.period
        known_period, spent = self._spent.get(info.id, (period, 0.0))
        return Budget(info.budget_usd, period, spent if known_period == period else 0.0)

    def _raise_spend(self, key_id: str, budget: Budget, shared: float | None) -> float:
        """Take up the shared figure for the period when it is higher than this process's."""
        spent = max(budget.known_usd, shared or 0.0)
        self._spent[key_id] = (budget.period, spent)
        return spent

    def remaining_usd(self, info: KeyInfo) -> float | None:
        """What ``info``'s key may still spend in its budget period, in USD; None when it has
        no budget."""
        budget = self._budget(info)
        return None if budget is None else budget.limit_usd - budget.known_usd

    def settle(self, hold: Hold | None, tokens: int, cost_usd: float | None) -> None:
        """Charge a finished request to its key (spend, TPM tokens) and release what it held."""
        if hold is None:
            return
        budget, cost = hold.budget, cost_usd or 0.0
        if budget is not None:
            period, spent = self._spent.get(hold.key_id, (budget.period, 0.0))
            if period == budget.period:
                self._spent[hold.key_id] = (period, spent := spent + cost)
            budget = replace(budget, known_usd=spent if period == budget.period else cost)
        self._quotas.settle(hold.key_id, tokens, cost, budget, hold.reserved_usd)

    def _identify(self, token: str | None) -> KeyInfo:
        if token is None:
            raise GatewayError(
                401,
                "Missing API key: send 'Authorization: Bearer <key>' "
                "(create one with `yard keys create NAME`).",
                code="invalid_api_key",
            )
        if self._admin_key is not None and hmac.compare_digest(token.encode(), self._admin_bytes):
            return self._admin_info
        # a lookup keyed by the hash leaks no timing about stored keys: the caller cannot steer
        # the hash of what it sends towards a stored one
        info = self._by_hash.get(hash_key(token, self._pepper))
        if info is None:
            raise GatewayError(401, "Incorrect API key provided.", code="invalid_api_key")
        if info.revoked_utc is not None:
            raise GatewayError(401, "This API key has been revoked.", code="invalid_api_key")
        return info

    def _find(self, key_id: str) -> builtins.list[tuple[str, KeyInfo]]:  # `list` is a method
        return [(h, k) for h, k in self._by_hash.items() if k.id == key_id]

    def _with_spend(self, info: KeyInfo) -> KeyInfo:
        period, spent = self._spent.get(info.id, ("", 0.0))
        return replace(info, spent_usd=round(spent if period == info.period else 0.0, 10))


def _spend_since(conn: sa.Connection, key_ids: list[str], period: str) -> dict[str, float]:
    """What each of ``key_ids`` spent in ``period`` (or ever, for ""), from the ledger."""
    requests = sa.table(
        "requests", sa.column("key_id"), sa.column("cost_usd"), sa.column("datetime_utc")
    )
    query = (
        sa.select(requests.c.key_id, sa.func.coalesce(sa.func.sum(requests.c.cost_usd), 0.0))
        .where(requests.c.key_id.in_(sorted(key_ids)))
        .group_by(requests.c.key_id)
    )
    if period:
        query = query.where(requests.c.datetime_utc >= period_start(period))
    return {key_id: float(total) for key_id, total in conn.execute(query)}


def _key_from_row(row: sa.RowMapping) -> KeyInfo:
    models = orjson.loads(row["models_json"]) if row["models_json"] is not None else None
    return KeyInfo(
        id=row["id"],
        name=row["name"],
        prefix=row["key_prefix"],
        models=tuple(models) if models is not None else None,
        budget_usd=row["budget_usd"],
        rpm=row["rpm"],
        tpm=row["tpm"],
        created_utc=row["created_utc"],
        revoked_utc=row["revoked_utc"],
        private=bool(row["private"]),
        budget_period=row["budget_period"],
        private_data=row.get("private_data"),
        updated_utc=row["updated_utc"],
    )


def _row_from_key(info: KeyInfo, key_hash: str) -> dict[str, object]:
    models = orjson.dumps(list(info.models)).decode() if info.models is not None else None
    return {
        "id": info.id,
        "name": info.name,
        "key_hash": key_hash,
        "key_prefix": info.prefix,
        "models_json": models,
        "budget_usd": info.budget_usd,
        "rpm": info.rpm,
        "tpm": info.tpm,
        "created_utc": info.created_utc,
        "revoked_utc": info.revoked_utc,
        "private": info.private,
        "budget_period": info.budget_period,
        "private_data": info.private_data,
        "updated_utc": info.updated_utc,
    }
