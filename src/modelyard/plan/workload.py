"""The traffic a plan serves: a preset shape, the user's figures, or what the gateway observed.

Request shapes of the presets are assumptions, shown as such. The peak that sizes replicas
comes from ``--peak-rps``, else from the gateway's busiest observed hour (``--from-ledger``);
without either the daily average stands in, and every figure that uses it says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.errors import PlanError


@dataclass(frozen=True)
class TrafficProfile:
    """Requests per hour as the gateway's ledger recorded them (the CLI reads it)."""

    hourly_requests: tuple[int, ...]
    """Requests in each hour of the window, oldest first (hours without requests included)."""
    prompt_tokens: int
    """Mean input tokens per request over the window."""
    output_tokens: int
    """Mean output tokens per request over the window."""
    source: str
    """Where it was read (the ledger and window)."""

    @property
    def hours(self) -> int:
        return len(self.hourly_requests)

    @property
    def peak_rps(self) -> float:
        """The busiest hour's mean rate (bursts within an hour are not visible at this grain)."""
        return max(self.hourly_requests, default=0) / 3600

    @property
    def tokens_per_day(self) -> float:
        total = sum(self.hourly_requests) * (self.prompt_tokens + self.output_tokens)
        return total / self.hours * 24 if self.hours else 0.0


@dataclass(frozen=True)
class Workload:
    """Traffic to serve."""

    name: str
    tokens_per_day: float
    """Input plus output tokens per day."""
    prompt_tokens: int
    """Average input tokens per request."""
    output_tokens: int
    """Average output tokens per request."""
    peak_rps: float
    """Peak requests per second that sizes the replicas."""
    peak_basis: str
    """Where ``peak_rps`` comes from."""
    p95_latency_s: float | None = None
    """Target for a whole request (TTFT + all output tokens)."""

    @property
    def input_share(self) -> float:
        return self.prompt_tokens / (self.prompt_tokens + self.output_tokens)

    @property
    def requests_per_day(self) -> float:
        return self.tokens_per_day / (self.prompt_tokens + self.output_tokens)


WORKLOAD_SHAPES: dict[str, tuple[int, int, float]] = {
    "chat": (1000, 300, 10.0),
    "rag": (4000, 300, 15.0),
    "code": (2000, 600, 30.0),
    "batch": (1000, 500, 3600.0),
}
"""Assumed (prompt tokens, output tokens, p95 seconds) per preset; override them by flag."""


def workload(
    name: str,
    tokens_per_day: float | None = None,
    prompt_tokens: int | None = None,
    output_tokens: int | None = None,
    peak_rps: float | None = None,
    p95_latency_s: float | None = None,
    traffic: TrafficProfile | None = None,
) -> Workload:
    """A preset workload with the observed traffic, then the user's flags, applied over it.

    Raises:
        PlanError: an unknown preset, or a non-positive figure.
    """
    if name not in WORKLOAD_SHAPES:
        raise PlanError(f"unknown workload {name!r}; choose one of {', '.join(WORKLOAD_SHAPES)}")
    prompt, output, p95 = WORKLOAD_SHAPES[name]
    if traffic is not None and traffic.hours:
        prompt, output = traffic.prompt_tokens or prompt, traffic.output_tokens or output
    prompt, output = prompt_tokens or prompt, output_tokens or output
    per_day = tokens_per_day or (traffic.tokens_per_day if traffic else 0.0) or 10e6
    for label, value in (
        ("prompt tokens", prompt),
        ("output tokens", output),
        ("tokens/day", per_day),
    ):
        if value <= 0:
            raise PlanError(f"{label} must be positive (got {value:g})")
    average = per_day / (prompt + output) / 86400
    if peak_rps is not None:
        if peak_rps <= 0:
            raise PlanError(f"--peak-rps {peak_rps:g}: must be positive")
        peak, basis = peak_rps, "your --peak-rps"
    elif traffic is not None and traffic.peak_rps > 0:
        peak, basis = traffic.peak_rps, f"busiest hour of {traffic.hours} h in {traffic.source}"
    else:
        peak, basis = (
            average,
            "daily average: no --peak-rps or --from-ledger, real peaks are higher",
        )
    return Workload(name, per_day, prompt, output, peak, basis, p95_latency_s or p95)
