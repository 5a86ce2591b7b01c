"""The likelihood model of trouble-call analysis (故障研判), without the database.

Which devices failed, given who called? Each candidate device — a feeder, a transformer area —
is weighed by the calls under it *against the customers it supplies* (ADR 0008):

- a customer supplied through a faulted device calls within the window with a probability
  ``p`` on top of the background (unknown, 0.2 %–60 %: it depends on the hour, the weather and
  how long the outage has lasted; the model integrates over it, log-uniform);
- every customer also calls with a small background probability ``q`` (their own fault, a
  tripped switch in the house). ``q`` is estimated from the calls of the window themselves: the
  callers no faulted device explains, over the customers outside the faulted devices, with an
  ordinary day's rate (``background_rate``) counted as if seen on ``background_weight``
  customers — a storm with twelve times the usual lone faults raises it, a test grid of twenty
  customers does not make it absurd;
- under a faulted feeder the areas share one calling rate around which each area's rate varies
  (up to ``area_spread`` times above or below it), so calls spread thinly over
  every area are strong evidence for the feeder, and calls crowded in two areas while the
  others are silent are evidence against it;
- a device fails with a prior probability (``prior_area``, ``prior_feeder``: an ordinary day's,
  re-estimated in a storm from the devices the calls show failed): more devices must be paid
  for, so one feeder fault beats twenty area faults that say the same.

For each feeder with calls the posterior probability that it failed is computed exactly (the
sum over every subset of its areas factorizes), and, if it did not, the probability that each
of its areas did. These are the confidences shown on events. The roll-up turns them into events
with thresholds (``RepairSetting``): an event is made at ``*_event_at``, kept until it falls
below ``withdraw_below``, and a caller is not sent to check their own switch once their area or
feeder is suspect (``suspect_at``).

Everything here is pure: counts in, probabilities out, so the model can be tested and
benchmarked on any generated grid.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache


@dataclass(frozen=True)
class Params:
    """The model's parameters. Defaults come from the method, not from a storm (ADR 0008)."""

    # How often devices fail in one window on an ordinary day; in a storm the rates are
    # re-estimated from the devices the calls show failed, these counted as if seen on
    # ``prior_weight`` devices of the kind.
    prior_area: float = 2e-4  # a transformer area (a county's 1,000 areas: ~2 faults a day)
    prior_feeder: float = 1e-3  # a feeder (a county's 100 feeders: ~1 trip a day)
    prior_weight_areas: float = 1_000
    prior_weight_feeders: float = 100
    rate_low: float = 0.002  # the calling probability of an outage's customers: lowest considered
    rate_high: float = 0.6  # … and highest
    rate_points: int = 32  # integration points over that range (log-uniform)
    area_spread: float = 3.0  # an area of a feeder outage may call up to this factor above/below the feeder
    background_rate: float = 2e-5  # an ordinary day's lone-fault calling probability per window (prior)
    background_weight: float = 10_000  # … held as if seen on this many customers
    background_rounds: int = 6  # estimate q, judge, re-estimate …


@dataclass
class AreaCount:
    """One transformer area: customers it supplies and distinct callers in the window."""

    area_id: int
    customers: int
    callers: int = 0


@dataclass
class FeederCount:
    feeder_id: int
    areas: list[AreaCount]
    # Callers placed on the feeder but not on an area (address matched the line only).
    loose_callers: int = 0

    @property
    def customers(self) -> int:
        return sum(a.customers for a in self.areas)

    @property
    def callers(self) -> int:
        return sum(a.callers for a in self.areas) + self.loose_callers


@dataclass
class FeederVerdict:
    feeder_id: int
    probability: float  # P(the feeder failed | calls)
    areas: dict[int, float] = field(default_factory=dict)  # P(area failed | calls, feeder did not)
    rate: float = 0.0  # the most likely calling rate under the feeder fault (shown to the dispatcher)


@dataclass
class Judgement:
    background: float  # q used
    feeders: dict[int, FeederVerdict]
    prior_area: float = 0.0  # the failure rates used (re-estimated for the window)
    prior_feeder: float = 0.0

    def feeder_probability(self, feeder_id: int) -> float:
        verdict = self.feeders.get(feeder_id)
        return verdict.probability if verdict else 0.0

    def area_probability(self, feeder_id: int, area_id: int) -> float:
        verdict = self.feeders.get(feeder_id)
        return verdict.areas.get(area_id, 0.0) if verdict else 0.0


# --- numerics ---------------------------------------------------------------------------------


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    if top == -math.inf:
        return top
    return top + math.log(sum(math.exp(v - top) for v in values))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@lru_cache(maxsize=16)
def _rate_grid(low: float, high: float, points: int) -> tuple[tuple[float, ...], float]:
    lo, hi = math.log(low), math.log(high)
    grid = tuple(math.exp(lo + (hi - lo) * i / (points - 1)) for i in range(points))
    return grid, -math.log(points)


def _with_background(rate: float, q: float) -> float:
    """An out customer calls because of the outage or for their own reason."""
    return 1.0 - (1.0 - rate) * (1.0 - q)


def _bernoulli(k: int, n: int, p: float) -> float:
    """log P(these k of n customers call, the others not) at probability p."""
    return k * math.log(p) + (n - k) * math.log1p(-p)


@lru_cache(maxsize=16)
def _spread(factor: float) -> tuple[tuple[float, float], ...]:
    """Multipliers of the feeder's calling rate for one of its areas, with their log weights:
    five points from 1/factor to factor (log-spaced, binomial weights 1-4-6-4-1)."""
    weights = (1, 4, 6, 4, 1)
    return tuple((factor ** ((i - 2) / 2), math.log(w / 16)) for i, w in enumerate(weights))


def _spread_bernoulli(k: int, n: int, rate: float, q: float, factor: float) -> float:
    """log P(k of n customers of one area call) when the feeder's outage makes its customers call
    at ``rate`` and this area's rate is that times a spread multiplier (integrated)."""
    return _logsumexp(
        [w + _bernoulli(k, n, _with_background(min(rate * m, 0.95), q)) for m, w in _spread(factor)]
    )


def _area_fault(k: int, n: int, q: float, params: Params) -> float:
    """log P(calls | the area failed), integrated over the calling rate."""
    grid, weight = _rate_grid(params.rate_low, params.rate_high, params.rate_points)
    return _logsumexp([weight + _bernoulli(k, n, _with_background(r, q)) for r in grid])


def _feeder_fault(feeder: FeederCount, q: float, params: Params) -> tuple[float, float]:
    """log P(calls | the feeder failed), integrated over the feeder's calling rate; and the most
    likely rate. Areas of equal size and callers are computed once."""
    grid, weight = _rate_grid(params.rate_low, params.rate_high, params.rate_points)
    shapes: dict[tuple[int, int], int] = {}
    for a in feeder.areas:
        if a.customers > 0 or a.callers > 0:
            key = (max(a.customers, a.callers), a.callers)
            shapes[key] = shapes.get(key, 0) + 1
    terms = []
    for r in grid:
        total = weight + feeder.loose_callers * math.log(_with_background(r, q))
        for (n, k), times in shapes.items():
            total += times * _spread_bernoulli(k, n, r, q, params.area_spread)
        terms.append(total)
    best = max(range(len(grid)), key=terms.__getitem__)
    return _logsumexp(terms), grid[best]


# --- judgement ----------------------------------------------------------------------------------


def judge_feeder(
    feeder: FeederCount,
    q: float,
    params: Params,
    prior_area: float | None = None,
    prior_feeder: float | None = None,
) -> FeederVerdict:
    """P(feeder failed) and, if it did not, P(each area failed), exactly."""
    pa = params.prior_area if prior_area is None else prior_area
    pf = params.prior_feeder if prior_feeder is None else prior_feeder
    log_pa, log_not_pa = math.log(pa), math.log1p(-pa)
    log_pf, log_not_pf = math.log(pf), math.log1p(-pf)
    area_terms = 0.0
    areas: dict[int, float] = {}
    cache: dict[tuple[int, int], tuple[float, float]] = {}
    for a in feeder.areas:
        n = max(a.customers, a.callers)
        key = (n, a.callers)
        if key not in cache:
            failed = log_pa + _area_fault(a.callers, n, q, params)
            healthy = log_not_pa + _bernoulli(a.callers, n, q)
            cache[key] = (_logsumexp([failed, healthy]), _sigmoid(failed - healthy))
        term, probability = cache[key]
        area_terms += term
        if a.callers:
            areas[a.area_id] = probability
    not_failed = log_not_pf + area_terms + feeder.loose_callers * math.log(q)
    feeder_ll, rate = _feeder_fault(feeder, q, params)
    failed = log_pf + feeder_ll
    return FeederVerdict(
        feeder_id=feeder.feeder_id, probability=_sigmoid(failed - not_failed), areas=areas, rate=rate
    )


def judge(
    feeders: Iterable[FeederCount],
    *,
    total_customers: int,
    total_callers: int,
    total_areas: int = 0,
    total_feeders: int = 0,
    params: Params | None = None,
    decide_feeder: float = 0.5,
    decide_area: float = 0.5,
) -> Judgement:
    """Judge every feeder with calls. ``total_*``: the whole county's customers, distinct callers
    in the window, transformer areas and feeders. The background rate and the two failure rates
    are re-estimated from what the judgement says (up to ``background_rounds`` times;
    ``decide_*``: the probabilities at which a device counts as failed for those estimates)."""
    params = params or Params()
    feeders = [f for f in feeders if f.callers]

    def rate(seen: float, of: float, prior: float, weight: float) -> float:
        return min(0.5, (max(seen, 0) + prior * weight) / (max(of, 0) + weight))

    # Each feeder is judged with rates estimated from the rest of the county (leave-one-out),
    # so a feeder's own calls never raise the prior that then judges them.
    own: dict[int, tuple[int, int, int, int]] = {f.feeder_id: (0, 0, 0, 0) for f in feeders}
    totals = (0, 0, 0, 0)  # explained callers, explained customers, failed areas, failed feeders

    def rates(feeder: FeederCount) -> tuple[float, float, float]:
        mine = own[feeder.feeder_id]
        callers, customers, areas, lines = (t - m for t, m in zip(totals, mine, strict=True))
        return (
            rate(
                total_callers - feeder.callers - callers,
                total_customers - feeder.customers - customers,
                params.background_rate,
                params.background_weight,
            ),
            rate(areas, total_areas - len(feeder.areas), params.prior_area, params.prior_weight_areas),
            rate(lines, total_feeders - 1, params.prior_feeder, params.prior_weight_feeders),
        )

    used: dict[int, tuple[float, float, float]] = {}
    verdicts: dict[int, FeederVerdict] = {}
    for _round in range(params.background_rounds + 1):
        changed = False
        for f in feeders:
            r = rates(f)
            before = used.get(f.feeder_id)
            if before is not None and all(
                math.isclose(x, y, rel_tol=0.05) for x, y in zip(r, before, strict=True)
            ):
                continue
            used[f.feeder_id] = r
            verdicts[f.feeder_id] = judge_feeder(f, r[0], params, r[1], r[2])
            changed = True
        if not changed:
            break
        for f in feeders:
            verdict = verdicts[f.feeder_id]
            if verdict.probability >= decide_feeder:
                own[f.feeder_id] = (f.callers, f.customers, 0, 1)
                continue
            hit = [a for a in f.areas if verdict.areas.get(a.area_id, 0.0) >= decide_area]
            own[f.feeder_id] = (sum(a.callers for a in hit), sum(a.customers for a in hit), len(hit), 0)
        totals = tuple(sum(o[i] for o in own.values()) for i in range(4))  # type: ignore[assignment]
    q = rate(
        total_callers - totals[0],
        total_customers - totals[1],
        params.background_rate,
        params.background_weight,
    )
    pa = rate(totals[2], total_areas, params.prior_area, params.prior_weight_areas)
    pf = rate(totals[3], total_feeders, params.prior_feeder, params.prior_weight_feeders)
    return Judgement(background=q, feeders=verdicts, prior_area=pa, prior_feeder=pf)
