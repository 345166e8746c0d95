"""What every routing decision must hold, whatever the request and candidates (hypothesis draws
them): each candidate is either ordered once or excluded with its reasons, never both; nothing
excluded could have passed; private prompts stay home; the order is cheapest first after the
first pick; the first pick is a pinned one when allowed, else good enough by the router."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.route.decision import CONSTRAINTS, Candidate, Context, Facts, Rules, decide

NAMES = [f"m{i}" for i in range(6)]
CAPS = ("tools", "json_mode", "vision")
PRICES = st.sampled_from([0.0, 0.1, 1.0, 3.0, 15.0])


def sometimes(draw: st.DrawFn, strategy: st.SearchStrategy, usual: object) -> object:
    """``usual`` three times in four, else a draw of ``strategy``: most requests pass most
    constraints, so the ordering rules get exercised too."""
    return draw(strategy) if draw(st.integers(0, 3)) == 0 else usual


@st.composite
def candidates(draw: st.DrawFn) -> list[Candidate]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
    caps = st.one_of(st.none(), st.lists(st.sampled_from(CAPS)).map(tuple))
    return [
        Candidate(
            name,
            draw(PRICES),
            draw(PRICES),
            local=draw(st.booleans()),
            context_window=draw(st.sampled_from([None, 2_048, 8_192, 128_000])),
            capabilities=sometimes(draw, caps, CAPS),  # type: ignore[arg-type]
            barred=sometimes(draw, st.just(("license not permissive",)), ()),  # type: ignore[arg-type]
        )
        for name in names
    ]


@st.composite
def facts(draw: st.DrawFn) -> Facts:
    quality = draw(st.one_of(st.none(), st.fixed_dictionaries(
        {n: st.floats(0, 1, allow_nan=False) for n in NAMES})))  # fmt: skip
    return Facts(
        prompt_tokens=draw(st.integers(0, 6_000)),
        max_tokens=draw(st.integers(1, 2_000)),
        needs=sometimes(
            draw, st.lists(st.sampled_from(CAPS), max_size=2, unique=True).map(tuple), ()
        ),  # type: ignore[arg-type]
        min_context=sometimes(draw, st.sampled_from([4_096, 32_000]), 0),  # type: ignore[arg-type]
        private=sometimes(draw, st.sampled_from([("email",), ("key",)]), ()),  # type: ignore[arg-type]
        budget=sometimes(draw, st.floats(0, 0.1, allow_nan=False), None),  # type: ignore[arg-type]
        allowed=sometimes(draw, st.frozensets(st.sampled_from(NAMES)), None),  # type: ignore[arg-type]
        pinned=sometimes(draw, st.sampled_from(NAMES), None),  # type: ignore[arg-type]
        quality=quality,
    )


RULES = st.builds(Rules, threshold=st.floats(0, 1, allow_nan=False), cascade=st.booleans())


def reasons(c: Candidate, f: Facts) -> list[str]:
    ctx = Context(f, None, c.cost(f.prompt_tokens, f.max_tokens))
    return [r for check in CONSTRAINTS for r in check(c, ctx)]


@settings(max_examples=300, deadline=None)
@given(candidates(), facts(), RULES)
def test_every_candidate_is_ordered_or_excluded_once(cands: list[Candidate], f: Facts,
                                                     rules: Rules) -> None:  # fmt: skip
    d = decide(f, cands, rules)
    names = [c.name for c in cands]
    assert len(d.order) == len(set(d.order))
    assert set(d.order).isdisjoint(d.excluded)
    assert set(d.order) | set(d.excluded) == set(names)
    assert set(d.estimates) == set(d.order)
    for c in cands:  # excluded exactly when some constraint fails, with those reasons
        assert d.excluded.get(c.name, []) == reasons(c, f)


@settings(max_examples=300, deadline=None)
@given(candidates(), facts(), RULES)
def test_the_order_is_cheapest_first_after_the_first_pick(cands: list[Candidate], f: Facts,
                                                          rules: Rules) -> None:  # fmt: skip
    d = decide(f, cands, rules)
    by_name = {c.name: c for c in cands}
    cost = [by_name[n].cost(f.prompt_tokens, f.max_tokens) for n in d.order[1:]]
    assert cost == sorted(cost)
    for name in d.order:
        assert d.estimates[name]["cost_usd"] == by_name[name].cost(f.prompt_tokens, f.max_tokens)
        assert ("quality" in d.estimates[name]) == (f.quality is not None)


@settings(max_examples=300, deadline=None)
@given(candidates(), facts(), RULES)
def test_what_the_request_forbids_is_never_ordered(cands: list[Candidate], f: Facts,
                                                   rules: Rules) -> None:  # fmt: skip
    d = decide(f, cands, rules)
    chosen = [c for c in cands if c.name in d.order]
    for c in chosen:
        assert not c.barred
        assert c.local or not f.private
        assert f.allowed is None or c.name in f.allowed
        assert f.budget is None or c.cost(f.prompt_tokens, f.max_tokens) <= f.budget
        assert set(f.needs) <= set(c.capabilities or ())
        assert c.context_window is None or c.context_window >= f.prompt_tokens + f.max_tokens
    assert d.private == list(f.private)
    assert (d.model is None) == (not chosen) and (d.reason == "") == (not chosen)


@settings(max_examples=300, deadline=None)
@given(candidates(), facts(), RULES)
def test_the_first_pick(cands: list[Candidate], f: Facts, rules: Rules) -> None:
    d = decide(f, cands, rules)
    if not d.order:
        return
    first, allowed = d.order[0], d.order
    by_name = {c.name: c for c in cands}
    if f.pinned in allowed:
        assert first == f.pinned and d.reason.endswith("pinned to session")
        return
    cost = {n: by_name[n].cost(f.prompt_tokens, f.max_tokens) for n in allowed}
    if f.quality is None or rules.cascade or len(allowed) == 1:
        assert cost[first] == min(cost.values())
        return
    best = max(f.quality[n] for n in allowed)
    assert f.quality[first] >= best - rules.threshold  # good enough
    good = [n for n in allowed if f.quality[n] >= best - rules.threshold]
    assert cost[first] == min(cost[n] for n in good)  # and the cheapest of those
    assert "router, cheapest within" in d.reason


@settings(max_examples=100, deadline=None)
@given(candidates(), facts(), RULES)
def test_the_same_request_gets_the_same_decision(cands: list[Candidate], f: Facts,
                                                 rules: Rules) -> None:  # fmt: skip
    assert decide(f, cands, rules) == decide(f, list(cands), rules)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(PRICES, st.floats(0, 1, allow_nan=False)), min_size=2, max_size=6),
    st.floats(0, 0.5, allow_nan=False),
)
def test_the_router_pick_is_the_cheapest_good_enough(
    offers: list[tuple[float, float]], threshold: float
) -> None:
    """Constraints aside: the first pick is exactly the cheapest candidate predicted within
    ``threshold`` of the best (of equal prices the best predicted), the rest cheapest first."""
    cands = [Candidate(f"m{i}", price, price) for i, (price, _) in enumerate(offers)]
    quality = {f"m{i}": q for i, (_, q) in enumerate(offers)}
    d = decide(Facts(100, max_tokens=100, quality=quality), cands, Rules(threshold))
    best = max(quality.values())
    good = [(price, -quality[c.name], i) for i, (c, (price, _)) in enumerate(zip(cands, offers,
            strict=True)) if quality[c.name] >= best - threshold]  # fmt: skip
    assert d.order[0] == f"m{min(good)[2]}"
    rest = sorted((p, -q, i) for i, (p, q) in enumerate(offers) if f"m{i}" != d.order[0])
    assert d.order[1:] == [f"m{i}" for _, _, i in rest]
