"""What a request cost: catalog API prices per token, or a self-hosted dollars-per-hour share."""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.catalog import ApiOffer, Catalog, find_api, find_model
from modelyard.errors import CatalogError, ConfigError
from modelyard.serve.config import BackendConfig


@dataclass(frozen=True)
class Rate:
    """Prices applied to one backend's requests."""

    input_per_mtok: float = 0.0
    cached_input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0
    usd_per_hour: float = 0.0
    source: str = "free"
    """Where the prices come from: a catalog API offer id, `usd_per_hour`, or `free`."""

    @classmethod
    def of_offer(cls, offer: ApiOffer) -> Rate:
        """An API offer's per-token prices (cached input at the full price when not discounted)."""
        cached = offer.cached_input_per_mtok
        return cls(
            input_per_mtok=offer.input_per_mtok,
            cached_input_per_mtok=offer.input_per_mtok if cached is None else cached,
            output_per_mtok=offer.output_per_mtok,
            source=offer.id,
        )

    def cost(self, prompt: int, completion: int, cached: int, duration_s: float) -> float:
        """Dollars for one request; cached prompt tokens at the cached price."""
        tokens = (
            (prompt - cached) * self.input_per_mtok
            + cached * self.cached_input_per_mtok
            + completion * self.output_per_mtok
        ) / 1e6
        return tokens + duration_s * self.usd_per_hour / 3600.0


def rate_for(backend: BackendConfig, catalog: Catalog) -> Rate:
    """The backend's rate: its `price` offer, else `usd_per_hour`, else the one catalog offer
    whose provider model name equals the backend's upstream model, else free.

    Raises:
        ConfigError: `price` names no catalog API offer.
    """
    if backend.price:
        try:
            return Rate.of_offer(find_api(catalog, backend.price))
        except CatalogError as exc:
            raise ConfigError(f"backends.{backend.name}.price: {exc}") from exc
    if backend.usd_per_hour or backend.kind == "local":
        return Rate(usd_per_hour=compute_usd_per_hour(backend) or 0.0, source="usd_per_hour")
    offers = [a for a in catalog.apis.values() if a.model_name == backend.model]
    return Rate.of_offer(offers[0]) if len(offers) == 1 else Rate()


def compute_usd_per_hour(backend: BackendConfig) -> float | None:
    """What an hour of a self-hosted backend's hardware costs, for the ledger (each request
    pays its share of the hour) and the dashboard (the hour itself): the backend's
    `usd_per_hour`, the rental price of its GPUs; None when unset, which the dashboard shows as
    unpriced compute rather than as free. The one home of this rule."""
    return backend.usd_per_hour or None


def context_window(names: list[str], catalog: Catalog) -> int | None:
    """The catalog's context window for the first of ``names`` it knows (model or API offer)."""
    for name in names:
        for find in (find_model, find_api):
            try:
                found = find(catalog, name).context_window
            except CatalogError:
                continue
            if found:
                return found
    return None
