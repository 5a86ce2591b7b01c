"""个人服务品质评价 (issue 17, item 5): each agent's figures for a period — registry metrics
computed on the rows that count for them (calls they answered, orders they accepted) — turned into
points, weighted into a score and a star rating by the scheme in force (``EvaluationScheme``, data);
a leader's quarterly assessment keeps the figures as they were with the leader's remarks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext

from gridcare.core.api_errors import ApiError
from gridcare.core.clock import local_now
from gridcare.core.clock import now as clock_now
from gridcare.org import scoping
from gridcare.org.models import Role, RoleAssignment, Unit, User
from gridcare.org.types import Actor, Viewer

from . import statistics
from .models import AgentAssessment, EvaluationScheme, Metric

HUNDRED = Decimal(100)


@dataclass
class Points:
    metric: Metric
    weight: Decimal
    value: Decimal | None  # None: nothing to judge this period (no rows): the weight goes to the rest
    points: Decimal | None = None
    rows: int = 0


@dataclass
class AgentScore:
    agent: User
    indicators: list[Points] = field(default_factory=list)
    score: Decimal | None = None
    stars: int = 0


def scheme_in_force(on: dt.date | None = None) -> EvaluationScheme | None:
    on = on or local_now().date()
    return (
        EvaluationScheme.objects.filter(is_active=True)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on))
        .order_by("-version")
        .first()
    )


def agents_of(viewer: Viewer, unit: Unit) -> list[User]:
    """The agents assigned within ``unit``'s subtree that the viewer may see, by name."""
    ids = (
        scoping.restrict(
            RoleAssignment.objects.filter(role=Role.AGENT, unit__in=unit.subtree()), viewer, "unit"
        )
        .values_list("user_id", flat=True)
        .distinct()
    )
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("full_name", "username"))


def _linear(value: Decimal, full: Decimal, zero: Decimal) -> Decimal:
    if full == zero:
        return HUNDRED if value == full else Decimal(0)
    share = (value - zero) / (full - zero)
    return max(Decimal(0), min(HUNDRED, share * HUNDRED))


def _stars(score: Decimal, thresholds: list[Any]) -> int:
    for stars, line in zip((5, 4, 3, 2), thresholds, strict=False):
        if score >= Decimal(str(line)):
            return stars
    return 1


def evaluate(
    viewer: Viewer, unit: Unit, span: statistics.Span, agents: list[User] | None = None
) -> list[AgentScore]:
    """Every agent of ``unit`` (or ``agents``) scored over ``span``, best first."""
    scheme = scheme_in_force(span.start)
    if scheme is None:
        return []
    agents = agents_of(viewer, unit) if agents is None else agents
    scores = {a.pk: AgentScore(agent=a) for a in agents}
    figures: list[tuple[dict[str, Any], Metric, dict[int, statistics.Figure]]] = []
    for spec in scheme.indicators:
        metric = statistics.metric_in_force(spec["metric"], span.start)
        if metric is not None:
            figures.append(
                (spec, metric, {a.pk: statistics.figure(metric, viewer, unit, span, agent=a) for a in agents})
            )
    # Agents with no row at all (no call answered, no order taken: absent, new, working elsewhere)
    # are not scored and do not pull the averages down.
    active = {a.pk for a in agents if any(by_agent[a.pk].numerator_rows for _s, _m, by_agent in figures)}
    for spec, metric, by_agent in figures:
        weight = Decimal(str(spec.get("weight", 0)))
        known = [f.value for pk, f in by_agent.items() if pk in active and f.value is not None]
        average = sum(known, Decimal(0)) / len(known) if known else None
        for pk, f in by_agent.items():
            p = Points(metric=metric, weight=weight, value=f.value, rows=f.numerator_rows)
            if f.value is not None and pk in active:
                if spec.get("mode") == "relative":
                    if not average:
                        p.points = HUNDRED
                    elif metric.better == "higher":
                        p.points = min(HUNDRED, f.value / average * HUNDRED)
                    else:
                        p.points = HUNDRED if not f.value else min(HUNDRED, average / f.value * HUNDRED)
                else:
                    p.points = _linear(f.value, Decimal(str(spec["full_at"])), Decimal(str(spec["zero_at"])))
                p.points = p.points.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            scores[pk].indicators.append(p)
    for s in scores.values():
        if s.agent.pk not in active:
            continue
        judged = [p for p in s.indicators if p.points is not None and p.weight > 0]
        total = sum((p.weight for p in judged), Decimal(0))
        if total:
            s.score = (
                sum((p.points * p.weight for p in judged if p.points is not None), Decimal(0)) / total
            ).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            s.stars = _stars(s.score, scheme.stars)
    return sorted(scores.values(), key=lambda s: (s.score is None, -(s.score or 0), s.agent.full_name))


def quarter_of(day: dt.date) -> tuple[int, int, statistics.Span]:
    span = statistics.period_of("quarter", day)
    return span.start.year, (span.start.month - 1) // 3 + 1, span


def agent_unit(agent: User) -> Unit | None:
    """The unit an agent answers for (their agent assignment; the first by the tree)."""
    found = (
        RoleAssignment.objects.filter(user=agent, role=Role.AGENT)
        .select_related("unit")
        .order_by("unit__path")
        .first()
    )
    return found.unit if found else None


def visible_agent(viewer: Viewer, agent_id: int) -> User:
    """An agent the viewer may read: themself, or — a reader — an agent within their scope; else 404."""
    agent = User.objects.filter(pk=agent_id, is_active=True).first()
    if agent is None:
        raise Http404
    if getattr(viewer, "pk", None) == agent.pk:
        return agent
    unit = agent_unit(agent)
    if unit is None or not scoping.unit_in_scope(viewer, unit):
        raise Http404
    try:
        statistics.require_reader(viewer)
    except ApiError as exc:  # another agent's figures: as if they did not exist
        raise Http404 from exc
    return agent


def snapshot(score: AgentScore) -> list[dict[str, Any]]:
    return [
        {
            "metric": p.metric.code,
            "name": p.metric.name,
            "unit_label": p.metric.unit_label,
            "value": None if p.value is None else str(p.value),
            "points": None if p.points is None else str(p.points),
            "weight": str(p.weight),
        }
        for p in score.indicators
    ]


ASSESSORS = (Role.MANAGER, Role.SHIFT_LEADER)


def may_assess(actor: Actor, agent: User) -> bool:
    """A manager or shift leader may assess an agent of their scope — never themself."""
    if actor.pk == agent.pk or not (actor.is_superuser or scoping.has_role(actor, *ASSESSORS)):
        return False
    unit = agent_unit(agent)
    return unit is not None and scoping.unit_in_scope(actor, unit)


def quarter_label(year: int, quarter: int) -> str:
    return gettext("%(year)s年第%(quarter)s季度") % {"year": year, "quarter": quarter}


def assess(*, actor: Actor, agent: User, day: dt.date, remarks: str) -> AgentAssessment:
    """Record the quarter holding ``day`` for ``agent``: the figures and score as they are now and
    the leader's remarks. A leader in the agent's scope only; once per agent and quarter."""
    if not may_assess(actor, agent):
        unit = agent_unit(agent)
        if unit is None or not scoping.unit_in_scope(actor, unit):
            raise ApiError("not_found", gettext("您的管辖范围内没有该座席"), status=404)
        raise ApiError("forbidden_role", gettext("只有管理人员和值班长可以考评座席"), status=403)
    unit = agent_unit(agent)
    assert unit is not None
    remarks = remarks.strip()
    if not remarks:
        raise ApiError("remarks_required", gettext("请填写考评评语"), status=422)
    year, quarter, span = quarter_of(day)
    scheme = scheme_in_force(span.start)
    if scheme is None:
        raise ApiError("no_scheme", gettext("没有启用的评价方案"), status=409)
    [score] = evaluate(actor, unit, span, agents=[agent])
    try:
        with transaction.atomic():
            return AgentAssessment.objects.create(
                agent=agent,
                unit=unit,
                year=year,
                quarter=quarter,
                scheme=scheme,
                score=score.score or Decimal(0),
                stars=score.stars or 1,
                figures=snapshot(score),
                remarks=remarks,
                assessed_by=actor,
                assessed_at=clock_now(),
            )
    except IntegrityError as exc:
        raise ApiError(
            "already_assessed",
            gettext("%(year)s年第%(quarter)s季度已考评") % {"year": year, "quarter": quarter},
            status=409,
        ) from exc
