"""The metric registry's building blocks: the rows a KPI may count and how (issue 17, item 1).

A metric (``models.Metric``) is data: ``{"source": …, "where": {…}, "agg": …}`` for its numerator
and denominator. What it may name is fixed here, so an administrator who edits a definition can
only combine these blocks, and every figure can be drilled down to the rows behind it:

- a **source** is a table GridCare holds (work orders, their time limits, calls, call-backs …)
  with the time that puts a row in a period, the unit a row counts for (and the units that may see
  it: the scoping door), the fields a condition may name, and the columns of its drill-down list;
- a **condition** (``where``, ``exclude``) maps ``field`` or ``field__lookup`` (exact, in, isnull,
  gt, gte, lt, lte) to a value, a list, ``{"F": "other_field"}`` (compare two fields of a row,
  e.g. a deadline met before it was due) or ``{"now": true}`` (the moment of computing); ``"any":
  [{…}, {…}]`` holds when one of its conditions does;
- an **aggregate** is ``count``, ``distinct:FIELD``, ``avg_minutes:START:END`` (the mean of
  END − START in minutes), ``avg_seconds:FIELD`` (or ``avg:FIELD``), ``avg_sum:FIELD:FIELD`` (the mean of two fields
  added, a missing one counting 0 — talk plus wrap-up), ``sum:FIELD``, or one of the calls' repeat
  rules (``repeat_within:MINUTES``: calls from a number that called within the minutes before;
  ``repeat_numbers:TIMES:DAYS``: answered calls that lie in a stretch shorter than DAYS days in
  which their number reached an agent TIMES or more times — the telecom definition; TIMES ≥ 3,
  DAYS ≤ 7).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Count, Exists, ExpressionWrapper, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce

from gridcare.core import clock
from gridcare.core.masking import mask_name, mask_phone
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Viewer

LOOKUPS = frozenset({"exact", "in", "isnull", "gt", "gte", "lt", "lte"})
# The telecom repeat rule's bounds: a new answered call changes whether the calls of its number in
# the REPEAT_MAX_DAYS around it are repeats only when 2 (REPEAT_MIN_TIMES − 1) others lie there —
# what the roll-ups' trigger on the calls checks before it marks their hours changed.
REPEAT_MIN_TIMES = 3
REPEAT_MAX_DAYS = 7


class SpecError(Exception):
    """A metric definition that names what the registry does not have."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(message)
        self.part, self.message = part, message


def _subtree(field: str) -> Callable[[Unit], Q]:
    return lambda unit: Q(**{f"{field}__in": unit.subtree()})


def _order_unit(prefix: str = "") -> Callable[[Unit], Q]:
    """A work order counts for the unit that handles it (派单/承办单位), or — never dispatched,
    answered at acceptance — the unit that accepted it."""

    def q(unit: Unit) -> Q:
        units = unit.subtree()
        return Q(**{f"{prefix}assigned_unit__in": units}) | Q(
            **{f"{prefix}assigned_unit__isnull": True, f"{prefix}accepted_unit__in": units}
        )

    return q


@dataclass(frozen=True)
class Source:
    key: str
    label: str
    model: str  # "app_label.ModelName"
    date_field: str | None  # the time that puts a row in a period (None: a stock, counted now)
    scope_fields: tuple[str, ...]  # the units that may see a row (the scoping door)
    unit_q: Callable[[Unit], Q]  # the rows that count for a unit's subtree
    fields: frozenset[str]  # what a condition or an aggregate may name
    columns: tuple[tuple[str, str], ...]  # the drill-down list: (field, heading)
    link: str = ""  # the field a drill-down row links to its page by (an order's number)
    agent_field: str = ""  # the staff member a row counts for in an agent's figures
    # The one unit a row counts for (the first of these that is set): what ``unit_q`` selects by
    # subtree, and what the roll-ups group by.
    count_unit: tuple[str, ...] = ()
    # Other tables a row's figures read through a foreign key (a time limit reads its order's
    # type, state and unit): (model, the row's field pointing at it). A change there is a change
    # of the row for the roll-ups.
    follows: tuple[tuple[str, str], ...] = ()
    # Values of a row computed in SQL from other rows (``QuerySet.alias``: never selected, never
    # grouped by), which a condition may name like a field: an application's energization "with
    # every timed node on time". Whatever they read must change only with a change of a row this
    # source stamps or follows (the roll-ups' triggers see no other).
    computed: Callable[[], dict[str, Any]] | None = None

    def queryset(self) -> models.QuerySet:
        qs = apps.get_model(self.model)._default_manager.all()
        return qs.alias(**self.computed()) if self.computed is not None else qs


ORDER_FIELDS = frozenset(
    {
        "order_type",
        "subtype",
        "channel",
        "state",
        "area_class",
        "customer_class",
        "complaint_class",
        "at_fault",
        "callback_required",
        "satisfaction",
        "created_at",
        "closed_at",
        "priority",
        "merged_into",
        "customer",
        "assigned_unit",
        "accepted_unit",
    }
)

# The five timed nodes an HV connection is rated by (SG186): 供电方案答复, 设计审核, 中间检查,
# 竣工检验, 装表接电 (gridcare.applications.figures.TIMED_NODES).
APPLICATION_TIMED_NODES = (
    "plan_reply",
    "design_review",
    "mid_inspection",
    "completion_inspection",
    "energize",
)


def _application_computed() -> dict[str, Any]:
    """``nodes_on_time``: no timed node of the row's application finished after its due time, or
    without one (its due time already moved by the customer's waits)."""
    node = apps.get_model("applications", "ApplicationNode")
    late = node._default_manager.filter(
        application=OuterRef("application"),
        kind__in=APPLICATION_TIMED_NODES,
        limit_days__isnull=False,
    ).filter(Q(due_at__isnull=True) | Q(finished_at__isnull=True) | Q(finished_at__gt=F("due_at")))
    return {"nodes_on_time": ~Exists(late)}


SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source(
            key="orders",
            label="工单",
            model="workorders.WorkOrder",
            date_field="created_at",
            scope_fields=("assigned_unit", "accepted_unit"),
            unit_q=_order_unit(),
            count_unit=("assigned_unit", "accepted_unit"),
            fields=ORDER_FIELDS,
            agent_field="accepted_by",
            columns=(
                ("number", "工单编号"),
                ("order_type", "工单类型"),
                ("channel", "受理渠道"),
                ("state", "状态"),
                ("assigned_unit__name", "承办单位"),
                ("created_at", "受理时间"),
            ),
            link="number",
        ),
        Source(
            key="deadlines",
            label="工单时限",
            model="workorders.Deadline",
            date_field="started_at",
            scope_fields=("order__assigned_unit", "order__accepted_unit"),
            unit_q=_order_unit("order__"),
            count_unit=("order__assigned_unit", "order__accepted_unit"),
            follows=(("workorders.WorkOrder", "order"),),
            agent_field="order__accepted_by",
            fields=frozenset(
                {"milestone", "started_at", "due_at", "met_at", "paused_at", "provisional"}
                | {f"order__{f}" for f in ORDER_FIELDS}
            ),
            columns=(
                ("order__number", "工单编号"),
                ("milestone", "节点"),
                ("started_at", "起算时间"),
                ("due_at", "到期时间"),
                ("met_at", "完成时间"),
                ("order__assigned_unit__name", "承办单位"),
            ),
            link="order__number",
        ),
        Source(
            key="calls",
            label="来电",
            model="hotline.Call",
            date_field="arrived_at",
            scope_fields=("unit",),
            unit_q=_subtree("unit"),
            count_unit=("unit",),
            agent_field="answered_by",
            fields=frozenset(
                {
                    "state",
                    "outcome",
                    "arrived_at",
                    "queued_at",
                    "ringing_at",
                    "answered_at",
                    "abandoned_at",
                    "ended_at",
                    "wrapped_up_at",
                    "abandoned_in",
                    "short_abandon",
                    "wait_seconds",
                    "talk_seconds",
                    "wrap_up_seconds",
                    "transfers_count",
                    "agent",
                    "answered_by",
                    "customer",
                }
            ),
            columns=(
                ("call_id", "呼叫标识"),
                ("caller_number", "主叫号码"),
                ("agent__username", "座席"),
                ("arrived_at", "来电时间"),
                ("outcome", "结果"),
                ("wait_seconds", "等待秒数"),
                ("talk_seconds", "通话秒数"),
            ),
        ),
        Source(
            key="inspections",
            label="质检",
            model="quality.Inspection",
            date_field="scored_at",
            scope_fields=("unit",),
            unit_q=_subtree("unit"),
            count_unit=("unit",),
            agent_field="agent",
            fields=frozenset({"state", "score", "fatal", "reason", "business", "scored_at", "week"}),
            columns=(
                ("call__call_id", "呼叫标识"),
                ("agent__full_name", "座席"),
                ("reason", "抽检原因"),
                ("score", "得分"),
                ("state", "状态"),
                ("scored_at", "评分时间"),
            ),
        ),
        Source(
            key="agent_time",
            label="座席状态时长",
            model="hotline.AgentStateSpell",
            date_field="started_at",
            scope_fields=("unit",),
            unit_q=_subtree("unit"),
            count_unit=("unit",),
            agent_field="agent",
            fields=frozenset({"state", "seconds", "started_at", "ended_at"}),
            columns=(
                ("agent__full_name", "座席"),
                ("state", "状态"),
                ("started_at", "开始时间"),
                ("ended_at", "结束时间"),
                ("seconds", "时长（秒）"),
            ),
        ),
        Source(
            key="app_callbacks",
            label="业扩回访",
            model="applications.ApplicationCallback",
            date_field="answered_at",
            scope_fields=("unit",),
            unit_q=_subtree("unit"),
            count_unit=("unit",),
            agent_field="answered_by",
            fields=frozenset({"node", "state", "satisfaction", "report_order", "answered_at", "due_at"}),
            columns=(
                ("application__number", "申请编号"),
                ("node", "回访环节"),
                ("satisfaction", "满意度"),
                ("answered_at", "回访时间"),
                ("unit__name", "供电单位"),
            ),
        ),
        Source(
            key="app_nodes",
            label="业扩环节",
            model="applications.ApplicationNode",
            date_field="finished_at",
            scope_fields=("application__supply_unit", "application__accepted_unit"),
            unit_q=_subtree("application__supply_unit"),
            count_unit=("application__supply_unit",),
            # Every node change goes through its application's row (locked, its version bumped:
            # applications.services.act_on_node), so a change of a sibling node — what
            # ``nodes_on_time`` reads — stamps this row's hour through the application.
            follows=(("applications.Application", "application"),),
            computed=_application_computed,
            agent_field="finished_by",
            fields=frozenset(
                {
                    "kind",
                    "state",
                    "limit_days",
                    "started_at",
                    "due_at",
                    "finished_at",
                    "paused_days",
                    "nodes_on_time",
                    "application__app_type",
                    "application__category",
                    "application__voltage",
                    "application__supply",
                    "application__channel",
                    "application__accepted_at",
                    "application__total_days",
                    "application__total_due_at",
                }
            ),
            columns=(
                ("application__number", "申请编号"),
                ("application__app_type", "业务类型"),
                ("kind", "环节"),
                ("application__accepted_at", "受理时间"),
                ("due_at", "到期时间"),
                ("finished_at", "完成时间"),
                ("application__supply_unit__name", "供电单位"),
            ),
        ),
        Source(
            key="customers",
            label="客户",
            model="customers.Customer",
            date_field=None,
            scope_fields=("station",),
            unit_q=_subtree("station"),
            count_unit=("station",),
            fields=frozenset({"customer_class"}),
            columns=(("account_no", "户号"), ("name", "户名"), ("station__name", "供电单位")),
        ),
    )
}

# Drill-down columns holding personal data, and how each is shown (masked, as everywhere).
MASKS: dict[str, Callable[[Any], str]] = {"caller_number": mask_phone, "name": mask_name}


def masked(field: str, value: Any) -> Any:
    """A drill-down cell as anyone may see it: personal data masked."""
    mask = MASKS.get(field)
    return mask(value) if mask is not None else value


# --- checking a definition ---------------------------------------------------------------------------


def _field_of(source: Source, key: str, part: str) -> tuple[str, str]:
    field, lookup = key, "exact"
    if "__" in key:
        head, tail = key.rsplit("__", 1)
        if tail in LOOKUPS:
            field, lookup = head, tail
    if field not in source.fields:
        raise SpecError(part, f"“{field}” is not a field of {source.key} a metric may use")
    return field, lookup


def _check_where(source: Source, where: Any, part: str) -> None:
    if not isinstance(where, dict):
        raise SpecError(part, "a condition is an object of field: value")
    for key, value in where.items():
        if key == "any":
            if not isinstance(value, list) or not value:
                raise SpecError(part, "“any” takes a list of conditions (one of them must hold)")
            for alternative in value:
                _check_where(source, alternative, part)
            continue
        _field, lookup = _field_of(source, str(key), part)
        if isinstance(value, dict):
            other = value.get("F")
            if value == {"now": True}:
                continue
            if set(value) != {"F"} or not isinstance(other, str) or other not in source.fields:
                raise SpecError(part, f'{key}: compare with {{"F": field}} naming a field of {source.key}')
        elif lookup == "in" and not isinstance(value, list):
            raise SpecError(part, f"{key}: “in” takes a list")
        elif lookup == "isnull" and not isinstance(value, bool):
            raise SpecError(part, f"{key}: “isnull” takes true or false")


def _check_agg(source: Source, agg: str, part: str) -> None:
    name, *args = agg.split(":")
    fields = {
        "count": 0,
        "distinct": 1,
        "avg_seconds": 1,
        "avg": 1,
        "sum": 1,
        "avg_minutes": 2,
        "avg_sum": 2,
    }
    if name in fields:
        if len(args) != fields[name]:
            raise SpecError(part, f"{name} takes {fields[name]} field(s)")
        for a in args:
            if a not in source.fields:
                raise SpecError(part, f"“{a}” is not a field of {source.key} a metric may use")
        return
    if name in ("repeat_within", "repeat_numbers") and source.key == "calls":
        try:
            numbers = [int(a) for a in args]
        except ValueError:
            numbers = []
        if len(numbers) != (1 if name == "repeat_within" else 2) or min(numbers) <= 0:
            raise SpecError(part, f"{name} takes positive whole numbers")
        if name == "repeat_numbers" and (numbers[0] < REPEAT_MIN_TIMES or numbers[1] > REPEAT_MAX_DAYS):
            # The roll-ups' triggers re-count a number's calls this far around a new call.
            raise SpecError(
                part,
                f"repeat_numbers counts {REPEAT_MIN_TIMES} or more calls within at most {REPEAT_MAX_DAYS} days",
            )
        return
    raise SpecError(part, f"unknown aggregate “{agg}”")


def check_spec(spec: Any, part: str) -> Source:
    if not isinstance(spec, dict) or not isinstance(spec.get("source"), str):
        raise SpecError(part, 'give {"source": …, "where": {…}, "agg": …}')
    unknown = set(spec) - {"source", "where", "agg"}
    if unknown:
        raise SpecError(part, f"unknown keys: {', '.join(sorted(unknown))}")
    source = SOURCES.get(spec["source"])
    if source is None:
        raise SpecError(part, f"unknown source “{spec['source']}” (one of {', '.join(SOURCES)})")
    _check_where(source, spec.get("where", {}), part)
    _check_agg(source, str(spec.get("agg", "count")), part)
    return source


def check_metric(numerator: Any, denominator: Any, exclude: Any) -> None:
    """Raise ``SpecError`` (naming the part) unless the definition uses only what exists."""
    source = check_spec(numerator, "numerator")
    if denominator is not None:
        check_spec(denominator, "denominator")
    if exclude:
        _check_where(source, exclude, "exclude")


# --- computing ---------------------------------------------------------------------------------------


def _q(where: dict, now: dt.datetime | None = None) -> Q:
    """The condition ``where`` as a ``Q``; ``{"now": true}`` is ``now`` (default: this moment)."""
    condition = Q()
    for key, value in where.items():
        if key == "any":
            either = Q()
            for alternative in value:
                either |= _q(alternative, now)
            condition &= either
            continue
        if isinstance(value, dict):
            value = (now or clock.now()) if value == {"now": True} else F(value["F"])
        condition &= Q(**{key: value})
    return condition


def now_fields(where: dict | None) -> set[str]:
    """The fields a condition compares with the moment of computing (its figure changes by itself
    as time passes: a time limit falls due)."""
    found: set[str] = set()
    for key, value in (where or {}).items():
        if key == "any":
            for alternative in value:
                found |= now_fields(alternative)
        elif value == {"now": True}:
            found.add(key.rsplit("__", 1)[0] if key.rsplit("__", 1)[-1] in LOOKUPS else key)
    return found


def rows(
    spec: dict,
    exclude: dict | None,
    *,
    viewer: Viewer,
    unit: Unit,
    start: dt.datetime,
    end: dt.datetime,
    agent: Any = None,
) -> models.QuerySet:
    """The rows behind one side of a figure: the source's rows of ``unit``'s subtree whose time
    lies in [start, end), that meet ``where``, not ``exclude`` (when the same source), and that
    the viewer may see; with ``agent``, only the rows that count for that staff member (a source
    with no agent field has none)."""
    source = SOURCES[spec["source"]]
    qs = scoping.restrict(source.queryset(), viewer, source.scope_fields).filter(source.unit_q(unit))
    if agent is not None:
        if not source.agent_field:
            return qs.none()
        qs = qs.filter(**{source.agent_field: agent})
    if source.date_field:
        qs = qs.filter(**{f"{source.date_field}__gte": start, f"{source.date_field}__lt": end})
    qs = qs.filter(_q(spec.get("where", {})))
    if exclude:
        qs = qs.exclude(_q(exclude))
    return qs


def _duration(start: str, end: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=models.DurationField())


# Aggregates whose value over a union of disjoint row sets follows from each set's (total, rows):
# what the roll-ups store. (``distinct`` looks across the whole set.)
ADDITIVE = frozenset(
    {"count", "sum", "avg", "avg_seconds", "avg_sum", "avg_minutes", "repeat_within", "repeat_numbers"}
)
REPEATS = frozenset({"repeat_within", "repeat_numbers"})  # a property of each call, from its number's calls


def agg_name(spec: dict) -> tuple[str, list[str]]:
    name, *args = str(spec.get("agg", "count")).split(":")
    return name, args


def kept(spec: dict) -> Q:
    """The rows an aggregate stands on, as a condition (an average skips rows without its value)."""
    name, args = agg_name(spec)
    if name in ("avg_seconds", "avg"):
        return Q(**{f"{args[0]}__isnull": False})
    if name == "avg_sum":
        return ~Q(**{f"{args[0]}__isnull": True, f"{args[1]}__isnull": True})
    if name == "avg_minutes":
        return Q(**{f"{args[0]}__isnull": False, f"{args[1]}__isnull": False})
    return Q()


def summand(spec: dict) -> Any:
    """What an additive aggregate adds up over its rows (None: it only counts them)."""
    name, args = agg_name(spec)
    if name in ("sum", "avg_seconds", "avg"):
        return F(args[0])
    if name == "avg_sum":
        return Coalesce(F(args[0]), 0) + Coalesce(F(args[1]), 0)
    if name == "avg_minutes":
        return _duration(args[0], args[1])
    return None


def as_number(total: Any) -> Decimal:
    """A sum as a Decimal: durations in seconds (a timedelta; SQLite gives microseconds)."""
    if total is None:
        return Decimal(0)
    if isinstance(total, dt.timedelta):
        return Decimal(total.days * 86400 + total.seconds) + Decimal(total.microseconds).scaleb(-6)
    return Decimal(str(total))


def duration_total(total: Any) -> Decimal:
    """A sum of durations in seconds, whichever way the database returned it."""
    if isinstance(total, int | float | Decimal):  # microseconds (SQLite)
        return Decimal(str(total)).scaleb(-6)
    return as_number(total)


def value_of(spec: dict, total: Decimal, rows: int) -> Decimal | None:
    """An additive aggregate's value from the (total, rows) of the rows it stands on."""
    name, _args = agg_name(spec)
    if name == "count" or name in REPEATS:
        return Decimal(rows)
    if name == "sum":
        return total
    if not rows:
        return None
    if name == "avg_minutes":
        return total / rows / 60
    return total / rows


def parts(spec: dict, qs: models.QuerySet) -> tuple[Decimal, int]:
    """The (total, rows) of an additive aggregate over ``qs``."""
    name, args = agg_name(spec)
    if name in REPEATS:
        n = len(repeats(spec, qs))
        return Decimal(n), n
    qs = qs.filter(kept(spec))
    added = summand(spec)
    if added is None:
        return Decimal(0), qs.count()
    got = qs.aggregate(v=Sum(added), n=Count("pk"))
    total = (
        duration_total(got["v"]) if name == "avg_minutes" and got["v"] is not None else as_number(got["v"])
    )
    return total, got["n"]


def aggregate(spec: dict, qs: models.QuerySet, *, start: dt.datetime) -> tuple[Decimal | None, int]:
    """The aggregate of ``spec`` over ``qs``, and how many rows it stands on."""
    name, args = agg_name(spec)
    if name in ADDITIVE:
        total, n = parts(spec, qs)
        return value_of(spec, total, n), n
    if name == "distinct":
        n = qs.values(args[0]).distinct().count()
        return Decimal(n), n
    raise SpecError("agg", f"unknown aggregate “{name}”")


def aggregate_rows(spec: dict, qs: models.QuerySet) -> models.QuerySet:
    """The rows an aggregate stands on (the drill-down list of a figure)."""
    name, args = agg_name(spec)
    if name in ("avg_seconds", "avg", "avg_sum", "avg_minutes"):
        return qs.filter(kept(spec))
    if name in REPEATS:
        return qs.filter(pk__in=repeats(spec, qs))
    return qs


def repeats(spec: dict, qs: models.QuerySet) -> list[int]:
    """The calls of ``qs`` a repeat rule counts."""
    name, args = agg_name(spec)
    if name == "repeat_within":
        return repeat_within(qs, int(args[0]))
    return repeat_numbers(qs, int(args[0]), int(args[1]))


def repeat_within(qs: models.QuerySet, minutes: int) -> list[int]:
    """Calls of ``qs`` whose number had called (any call, the one before included in ``qs`` or
    not) within ``minutes`` before: 重复来电 (within 2 h: ``repeat_within:120``)."""
    window = dt.timedelta(minutes=minutes)
    mine = list(qs.values_list("pk", "caller_number", "arrived_at"))
    if not mine:
        return []
    earliest = min(at for _, _, at in mine) - window
    latest = max(at for _, _, at in mine)
    numbers = {n for _, n, _ in mine}
    model = qs.model
    times: dict[str, list[dt.datetime]] = defaultdict(list)
    around = model._default_manager.filter(arrived_at__gte=earliest, arrived_at__lte=latest)
    if len(numbers) <= 500:  # a few numbers: their calls by the number's index, else the stretch
        around = around.filter(caller_number__in=numbers)
    for number, at in around.order_by("arrived_at").values_list("caller_number", "arrived_at"):
        if number in numbers:
            times[number].append(at)
    out = []
    for pk, number, at in mine:
        if any(at - window <= t < at for t in times[number]):
            out.append(pk)
    return out


def repeat_numbers(qs: models.QuerySet, times: int, days: int) -> list[int]:
    """Answered calls of ``qs`` that lie in a stretch shorter than ``days`` days in which their
    number reached an agent ``times`` or more times (the telecom repeat-call definition: the
    numerator's calls; ÷ answered calls). The number's answered calls are counted wherever they
    are — before and after the period, at other units — so whether a call is a repeat does not
    depend on where a period or a unit ends (and a period's figure is the sum of its days')."""
    window = dt.timedelta(days=days)
    mine = list(qs.filter(answered_at__isnull=False).values_list("pk", "caller_number", "arrived_at"))
    if not mine:
        return []
    model = qs.model
    around = model._default_manager.filter(
        answered_at__isnull=False,
        arrived_at__gt=min(at for _, _, at in mine) - window,
        arrived_at__lt=max(at for _, _, at in mine) + window,
    )
    numbers = {n for _, n, _ in mine}
    if len(numbers) > 5000:  # a whole day: only numbers with enough calls around can repeat (found by SQL)
        numbers &= set(
            around.order_by()
            .values("caller_number")
            .annotate(n=Count("pk"))
            .filter(n__gte=times)
            .values_list("caller_number", flat=True)
        )
    by_number: dict[str, list[tuple[int, dt.datetime]]] = defaultdict(list)
    for pk, number, at in (
        around.filter(caller_number__in=numbers)
        .order_by("arrived_at", "pk")
        .values_list("pk", "caller_number", "arrived_at")
    ):
        by_number[number].append((pk, at))
    hit: set[int] = set()
    for calls in by_number.values():
        if len(calls) < times:
            continue
        left = 0
        for right in range(len(calls)):
            while calls[right][1] - calls[left][1] >= window:
                left += 1
            if right - left + 1 >= times:
                hit.update(pk for pk, _ in calls[left : right + 1])
    return [pk for pk, _, _ in mine if pk in hit]


# --- what the bulletins and the command wall read for a unit (no viewer: the unit is the scope) ----


def unit_orders(unit: Unit) -> models.QuerySet:
    """The work orders that count for ``unit``'s subtree (its handling units; the accepting unit
    until dispatched) — for readers that are given a unit rather than a viewer: the bulletin issued
    to that unit, the wall screen set up for it."""
    return SOURCES["orders"].queryset().filter(SOURCES["orders"].unit_q(unit))


def warning_counts() -> dict[str, Count]:
    """Open orders, and those near due (warning levels 1–2) and overdue (3): as aggregates."""
    return {
        "open": Count("id"),
        "near": Count("id", filter=Q(warning_level__in=[1, 2])),
        "overdue": Count("id", filter=Q(warning_level__gte=3)),
    }


def complaint_hot_spots(
    unit: Unit, since: dt.datetime, *, minimum: int = 1, limit: int | None = None
) -> list[dict]:
    """The transformer areas of ``unit`` with the most complaints since ``since`` (merged and voided
    orders not counted), at least ``minimum`` each, most first."""
    names = (
        unit_orders(unit)
        .filter(order_type="complaint", created_at__gte=since, transformer_area__isnull=False)
        .exclude(state__in=["merged", "cancelled"])
        .values_list("transformer_area__name", flat=True)
    )
    counted = Counter(names).most_common(limit)
    return [{"where": name, "complaints": n} for name, n in counted if n >= minimum]
