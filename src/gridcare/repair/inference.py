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
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np


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


# --- numerics (vectorized over every area of every feeder judged) -------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -700, 700)))


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.squeeze(top, axis=axis) + np.log(np.sum(np.exp(x - top), axis=axis))


@lru_cache(maxsize=16)
def _rate_grid(low: float, high: float, points: int) -> np.ndarray:
    """The outage calling rates integrated over (log-uniform)."""
    return np.exp(np.linspace(math.log(low), math.log(high), points))


@lru_cache(maxsize=16)
def _spread(factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Multipliers of the feeder's calling rate for one of its areas, and their log weights:
    five points from 1/factor to factor (log-spaced, binomial weights 1-4-6-4-1)."""
    multipliers = factor ** ((np.arange(5) - 2) / 2)
    return multipliers, np.log(np.array([1, 4, 6, 4, 1]) / 16)


class _Window:
    """The feeders of one judgement as arrays: areas grouped by feeder."""

    def __init__(self, feeders: list[FeederCount]) -> None:
        self.feeders = feeders
        rows = [(i, a) for i, f in enumerate(feeders) for a in f.areas if a.customers or a.callers]
        self.index = np.array([i for i, _ in rows], dtype=np.int64)
        self.k = np.array([a.callers for _, a in rows], dtype=float)
        self.n = np.array([max(a.customers, a.callers) for _, a in rows], dtype=float)
        self.area_ids = [a.area_id for _, a in rows]
        self.size = len(feeders)
        self.placed = self.k > 0  # areas the judgement reports on: a caller was placed in them
        self.placed_k = self.k
        self.loose_callers = np.array([f.loose_callers for f in feeders], dtype=float)
        self.loose = self.loose_callers
        self.share_loose(self.n)

    def share_loose(self, weight: np.ndarray) -> None:
        """A caller placed on the feeder but not on an area (the address named only the road or
        village) came from one of its areas, which one is not known: such callers are shared
        among the feeder's areas in proportion to ``weight`` (by area: how many calls each is
        expected to make — at first its customers; then, as ``judge`` re-estimates, its
        customers at the background rate plus its own callers where it is judged failed), so
        they count for an area fault as they do for the feeder. Only a feeder whose areas are
        not known keeps them on the feeder itself."""
        if not self.loose_callers.any() or not len(self.k):
            return
        total = self.per_feeder(weight)[self.index]
        share = np.where(total > 0, weight / np.where(total > 0, total, 1.0), 0.0)
        self.k = self.placed_k + self.loose_callers[self.index] * share
        self.n = np.maximum(self.n, self.k)
        has_areas = self.per_feeder(np.ones_like(self.k)) > 0
        self.loose = np.where(has_areas, 0.0, self.loose_callers)

    def reshare_by(self, verdicts: list[FeederVerdict], q: np.ndarray) -> bool:
        """Share the loose callers again by what ``verdicts`` say; whether the shares moved."""
        if not self.loose_callers.any() or not len(self.k):
            return False
        feeder_p = np.array([v.probability for v in verdicts])[self.index]
        area_p = np.array(
            [verdicts[i].areas.get(a, 0.0) for i, a in zip(self.index, self.area_ids, strict=True)]
        )
        before = self.k
        self.share_loose(self.n * q[self.index] + self.placed_k * (feeder_p + (1 - feeder_p) * area_p))
        return not np.allclose(before, self.k, rtol=0.05, atol=0.05)

    def per_feeder(self, values: np.ndarray) -> np.ndarray:
        """Sum ``values`` (areas × …) by feeder."""
        out = np.zeros((self.size, *values.shape[1:]))
        np.add.at(out, self.index, values)
        return out

    def judge(self, q: np.ndarray, pa: np.ndarray, pf: np.ndarray, params: Params) -> list[FeederVerdict]:
        """P(feeder failed) and, if it did not, P(each area failed), exactly, for every feeder at
        its own background ``q`` and failure rates ``pa``/``pf`` (arrays by feeder)."""
        grid = _rate_grid(params.rate_low, params.rate_high, params.rate_points)
        log_w = -math.log(len(grid))
        multipliers, log_m = _spread(params.area_spread)
        qa = q[self.index][:, None]  # areas × 1
        k, n = self.k[:, None], self.n[:, None]

        # The area failed on its own: its rate r on top of the background.
        p = 1.0 - (1.0 - grid[None, :]) * (1.0 - qa)  # areas × rates
        area_fault = _logsumexp(log_w + k * np.log(p) + (n - k) * np.log1p(-p), axis=1)
        healthy = self.k * np.log(q[self.index]) + (self.n - self.k) * np.log1p(-q[self.index])
        pa_a = pa[self.index]
        failed_a = np.log(pa_a) + area_fault
        healthy_a = np.log1p(-pa_a) + healthy
        area_probability = _sigmoid(failed_a - healthy_a)
        not_failed = (
            np.log1p(-pf) + self.per_feeder(np.logaddexp(failed_a, healthy_a)) + self.loose * np.log(q)
        )

        # The feeder failed: one rate r for the feeder, each area's r times a spread multiplier.
        rates = np.minimum(grid[:, None] * multipliers[None, :], 0.95)  # rates × spread
        p3 = 1.0 - (1.0 - rates[None, :, :]) * (1.0 - qa[:, :, None])  # areas × rates × spread
        k3, n3 = k[:, :, None], n[:, :, None]
        per_area = _logsumexp(log_m + k3 * np.log(p3) + (n3 - k3) * np.log1p(-p3), axis=2)
        by_feeder = self.per_feeder(per_area)  # feeders × rates
        loose_p = 1.0 - (1.0 - grid[None, :]) * (1.0 - q[:, None])
        by_feeder += self.loose[:, None] * np.log(loose_p)
        feeder_ll = _logsumexp(log_w + by_feeder, axis=1)
        best = grid[np.argmax(by_feeder, axis=1)]
        feeder_probability = _sigmoid(np.log(pf) + feeder_ll - not_failed)

        verdicts = [
            FeederVerdict(
                feeder_id=f.feeder_id, probability=float(feeder_probability[i]), rate=float(best[i])
            )
            for i, f in enumerate(self.feeders)
        ]
        for row, (i, area_id) in enumerate(zip(self.index, self.area_ids, strict=True)):
            if self.placed[row]:
                verdicts[i].areas[area_id] = float(area_probability[row])
        return verdicts


# --- judgement ----------------------------------------------------------------------------------


def judge_feeder(
    feeder: FeederCount,
    q: float,
    params: Params,
    prior_area: float | None = None,
    prior_feeder: float | None = None,
) -> FeederVerdict:
    """One feeder at the given rates (see ``judge``)."""
    window = _Window([feeder])
    return window.judge(
        np.array([q]),
        np.array([params.prior_area if prior_area is None else prior_area]),
        np.array([params.prior_feeder if prior_feeder is None else prior_feeder]),
        params,
    )[0]


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
    ``decide_*``: the probabilities at which a device counts as failed for those estimates).
    Each feeder is judged with rates estimated from the rest of the county (leave-one-out), so a
    feeder's own calls never raise the prior that then judges them."""
    params = params or Params()
    feeders = [f for f in feeders if f.callers]
    if not feeders:
        q = (total_callers + params.background_rate * params.background_weight) / (
            max(total_customers, 0) + params.background_weight
        )
        return Judgement(
            background=q, feeders={}, prior_area=params.prior_area, prior_feeder=params.prior_feeder
        )
    window = _Window(feeders)
    callers = np.array([f.callers for f in feeders], dtype=float)
    customers = np.array([f.customers for f in feeders], dtype=float)
    areas = np.array([len(f.areas) for f in feeders], dtype=float)

    def rate(seen, of, prior: float, weight: float):
        return np.minimum(0.5, (np.maximum(seen, 0) + prior * weight) / (np.maximum(of, 0) + weight))

    # What each feeder's judgement explains: callers, customers, failed areas, failed feeders.
    own = np.zeros((len(feeders), 4))
    verdicts: list[FeederVerdict] = []
    used = None
    reshared = False
    for _round in range(params.background_rounds + 1):
        rest = own.sum(axis=0)[None, :] - own
        current = np.stack(
            [
                rate(
                    total_callers - callers - rest[:, 0],
                    total_customers - customers - rest[:, 1],
                    params.background_rate,
                    params.background_weight,
                ),
                rate(rest[:, 2], total_areas - areas, params.prior_area, params.prior_weight_areas),
                rate(rest[:, 3], total_feeders - 1, params.prior_feeder, params.prior_weight_feeders),
            ]
        )
        if used is not None and np.allclose(current, used, rtol=0.05, atol=0) and not reshared:
            break
        used = current
        verdicts = window.judge(current[0], current[1], current[2], params)
        reshared = window.reshare_by(verdicts, current[0])
        for i, (f, verdict) in enumerate(zip(feeders, verdicts, strict=True)):
            if verdict.probability >= decide_feeder:
                own[i] = (f.callers, f.customers, 0, 1)
                continue
            hit = [a for a in f.areas if verdict.areas.get(a.area_id, 0.0) >= decide_area]
            own[i] = (sum(a.callers for a in hit), sum(a.customers for a in hit), len(hit), 0)
    totals = own.sum(axis=0)
    return Judgement(
        background=float(
            rate(
                total_callers - totals[0],
                total_customers - totals[1],
                params.background_rate,
                params.background_weight,
            )
        ),
        feeders={v.feeder_id: v for v in verdicts},
        prior_area=float(rate(totals[2], total_areas, params.prior_area, params.prior_weight_areas)),
        prior_feeder=float(rate(totals[3], total_feeders, params.prior_feeder, params.prior_weight_feeders)),
    )
