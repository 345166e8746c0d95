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
from dataclasses import dataclass, fields, replace

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from ulid import ULID

from modelyard.errors import YardError
from modelyard.privacy import MODES, Mode
from modelyard.serve.errors import GatewayError
from modelyard.serve.ledger import utc_now
from modelyard.serve.limits import LocalQuotas, Quotas, Refusal
from modelyard.serve.migrations import reflect

KEY_PREFIX = "sk-yard-"
EDITABLE_COLUMNS = (
    "name", "models_json", "budget_usd", "rpm", "tpm", "private", "private_data", "updated_utc",
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
    """Total spend allowed, in USD, over the key's life; None means no budget."""
    rpm: int | None = None
    """Requests per minute; None means unlimited."""
    tpm: int | None = None
    """Tokens (prompt + completion) per minute; None means unlimited."""
    created_utc: str = ""
    """When it was created (ISO 8601, UTC)."""
    revoked_utc: str | None = None
    """When it was revoked; a revoked key is refused."""
    spent_usd: float = 0.0
    """Spend so far, from the ledger plus requests settled since the gateway started."""
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


class Keep:
    """The value of a ``KeyEdit`` field that leaves the key's setting as it is."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = Keep()


@dataclass(frozen=True)
class KeyEdit:
    """Changes to a key: each field a new value (None clears a limit, a budget or the model
    list) or ``KEEP``."""

    name: str | Keep = KEEP
    models: tuple[str, ...] | Keep | None = KEEP
    budget_usd: float | Keep | None = KEEP
    rpm: int | Keep | None = KEEP
    tpm: int | Keep | None = KEEP
    private: bool | Keep = KEEP
    private_data: Mode | Keep | None = KEEP

    def apply(self, info: KeyInfo, when: str) -> KeyInfo:
        """``info`` with these changes, edited at ``when``."""
        changed = {f.name: getattr(self, f.name) for f in fields(self)}
        kept = {name: value for name, value in changed.items() if value is not KEEP}
        return replace(info, **kept, updated_utc=when)


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
        self._spent: dict[str, float] = {}
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
                unseen = {r["id"] for r in rows} - self._spent.keys()
                spent = _spend_by_key(conn, unseen) if unseen else {}
            for key_id in unseen:
                self._spent.setdefault(key_id, spent.get(key_id, 0.0))
            self._by_hash = {r["key_hash"]: _key_from_row(r) for r in rows}
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
        private_data: Mode | None = None,
    ) -> tuple[KeyInfo, str]:
        """Make a new key; the raw key is returned here and never again.

        Raises:
            YardError: a field is out of range.
        """
        _check_new_key(name, models, budget_usd, rpm, tpm, private_data)
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
            private_data=private_data,
        )
        key_hash = hash_key(raw, self._pepper)
        with self._write_lock:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.insert(reflect(self.engine, "keys")).values(_row_from_key(info, key_hash))
                )
            self._spent[info.id] = 0.0
            self._by_hash = {**self._by_hash, key_hash: info}
        return info, raw

    def revoke(self, key_id: str) -> KeyInfo:
        """Refuse this key from now on (its ledger rows and spend stay).

        Raises:
            YardError: no key has this id.
        """
        key_hash, info = self._found(key_id)
        revoked = replace(info, revoked_utc=info.revoked_utc or utc_now())
        table = reflect(self.engine, "keys")
        with self._write_lock:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.update(table)
                    .where(table.c.id == key_id)
                    .values(revoked_utc=revoked.revoked_utc)
                )
            self._by_hash = {**self._by_hash, key_hash: revoked}
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
        models = list(edited.models) if edited.models is not None else None
        _check_new_key(
            edited.name, models, edited.budget_usd, edited.rpm, edited.tpm, edited.private_data
        )
        row = _row_from_key(edited, key_hash)
        table = reflect(self.engine, "keys")
        with self._write_lock:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.update(table)
                    .where(table.c.id == key_id)
                    .values({k: row[k] for k in EDITABLE_COLUMNS})
                )
            self._by_hash = {**self._by_hash, key_hash: edited}
        return self._with_spend(edited)

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

    def authorize(self, authorization_header: str | None, model: str | None) -> KeyInfo | None:
        """Check a request's key against revocation, allow-list, budget and rate limits.

        Args:
            authorization_header: The request's ``Authorization`` header value.
            model: The model the client asked for; None skips the allow-list (``/v1/models``).

        Returns:
            The caller's key, or None when the gateway is open (see ``open_access``).

        Raises:
            GatewayError: 401 missing/unknown/revoked key, 403 model not allowed,
                429 ``insufficient_quota`` budget spent, 429 ``rate_limit_exceeded``.
        """
        if self.open_access:
            return None
        info = self._identify(bearer_token(authorization_header))
        if info.id == ADMIN_KEY_ID:
            return info
        if model is not None and not info.allows(model):
            raise _forbidden(info, model)
        spent = self._spent.get(info.id, 0.0)
        if info.budget_usd is not None and spent >= info.budget_usd:
            raise _over_budget(info, spent)
        self._admit(info, info.budget_usd if model is not None else None)
        return info

    def _admit(self, info: KeyInfo, budget_usd: float | None) -> None:
        """Count the request in the key's rate windows, then hold its estimated cost against the
        shared budget: one call to the quotas (the windows first, since a refused request
        must not hold a reservation that nothing releases)."""
        known = self._spent.get(info.id, 0.0)
        admission = self._quotas.admit(info.id, info.rpm, info.tpm, budget_usd, known)
        if admission.refusal is not None:
            raise _rate_limited(info, admission.refusal)
        if admission.spent_usd is not None:
            self._spent[info.id] = known = max(known, admission.spent_usd)
        if admission.over_budget:
            raise _over_budget(info, known)

    def remaining_usd(self, info: KeyInfo) -> float | None:
        """What ``info``'s key may still spend, in USD; None when it has no budget."""
        if info.budget_usd is None:
            return None
        return info.budget_usd - self._spent.get(info.id, 0.0)

    def settle(self, key_id: str | None, tokens: int, cost_usd: float | None) -> None:
        """Charge a finished request to its key: spend for budgets, tokens for TPM."""
        if key_id is None:
            return
        if cost_usd:
            self._spent[key_id] = self._spent.get(key_id, 0.0) + cost_usd
        self._quotas.settle(key_id, tokens, cost_usd or 0.0, self._spent.get(key_id, 0.0))

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
        return replace(info, spent_usd=round(self._spent.get(info.id, 0.0), 10))


def _spend_by_key(conn: sa.Connection, key_ids: set[str]) -> dict[str, float]:
    requests = sa.table("requests", sa.column("key_id"), sa.column("cost_usd"))
    query = (
        sa.select(requests.c.key_id, sa.func.coalesce(sa.func.sum(requests.c.cost_usd), 0.0))
        .where(requests.c.key_id.in_(sorted(key_ids)))
        .group_by(requests.c.key_id)
    )
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
        "private_data": info.private_data,
        "updated_utc": info.updated_utc,
    }


def _check_new_key(
    name: str,
    models: list[str] | None,
    budget_usd: float | None,
    rpm: int | None,
    tpm: int | None,
    private_data: str | None = None,
) -> None:
    if not name or not name.strip():
        raise YardError("key name: must not be empty; e.g. `yard keys create team-search`")
    if private_data is not None and private_data not in MODES:
        raise YardError(f"private_data: {private_data!r}: one of {', '.join(MODES)}")
    if models is not None and (not models or not all(isinstance(m, str) and m for m in models)):
        raise YardError(f"models: {models!r}: give one or more model names (globs like 'openai/*')")
    if budget_usd is not None and budget_usd < 0:
        raise YardError(f"budget_usd: {budget_usd}: must be 0 or more (USD)")
    for field, value in (("rpm", rpm), ("tpm", tpm)):
        if value is not None and value < 1:
            raise YardError(f"{field}: {value}: must be a positive whole number per minute")


def _forbidden(info: KeyInfo, model: str) -> GatewayError:
    allowed = ", ".join(info.models or ())
    return GatewayError(
        403,
        f"Key {info.name!r} may not use model {model!r}; it may use: {allowed}.",
        type="permission_error",
        param="model",
        code="model_not_allowed",
    )


def private_refusal(key_name: str, model: str, remote: list[str]) -> GatewayError:
    """The 403 for a private key naming a model that is not self-hosted (``remote`` backends)."""
    return GatewayError(
        403,
        f"Key {key_name!r} is private: model {model!r} is not self-hosted (remote backend "
        f"{', '.join(remote)}); ask for a self-hosted model or for 'auto'.",
        type="permission_error",
        param="model",
        code="model_not_self_hosted",
    )


def _over_budget(info: KeyInfo, spent: float) -> GatewayError:
    # OpenAI answers an exhausted quota with 429 insufficient_quota; its SDKs retry 429s
    # unless told not to, and no retry can help here
    return GatewayError(
        429,
        f"Key {info.name!r} has spent ${spent:.4f} of its ${info.budget_usd:g} budget; "
        "ask the operator for a new budget.",
        type="insufficient_quota",
        code="insufficient_quota",
        headers={"x-should-retry": "false"},
    )


def _rate_limited(info: KeyInfo, refusal: Refusal) -> GatewayError:
    return GatewayError(
        429,
        f"Rate limit reached for key {info.name!r}: {refusal.limit} {refusal.kind} per minute; "
        f"retry in {refusal.retry_after_header}s.",
        type=refusal.kind,
        code="rate_limit_exceeded",
        headers={
            "Retry-After": refusal.retry_after_header,
            "retry-after-ms": str(max(1, round(refusal.retry_after_s * 1000))),
        },
    )
