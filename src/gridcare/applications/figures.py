"""业扩报装 figures (issue 18, item 9): the time-limit compliance rate as SG186 measures it, the
average working days per node and per application type, and the overdue lists — for a unit's
subtree (by supply unit) and a period of local dates, through the scoping door.

- **HV 达标率**: an HV application energized in the period meets its limits only if *every* one of
  its timed nodes (供电方案答复, 设计审核, 中间检查, 竣工检验, 装表接电) finished by its due time. A
  node's ``due_at`` already moves forward by the working days the customer made it wait
  (``clocks.resume``), so the comparison is net of customer waits.
- **LV 达标率** (residential and LV non-residential): accept → energize, grid works included,
  within the path's whole-process limit: energized by ``total_due_at`` (acceptance + the path's
  ``total_days`` working days, moved forward by every customer wait — ``clocks.moved_total``).
- Only applications whose path carries a promised total are rated (新装、增容 and their kin);
  changes of use have no published total and count in the averages only.
- Working days are the official calendar's (``core.calendar.working_days_between``, which counts
  the working days that begin after the start up to the end), less the node's ``paused_days``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from gridcare.core import calendar, clock
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Viewer

from . import queries
from .models import (
    Application,
    ApplicationNode,
    ApplicationState,
    ApplicationType,
    CustomerCategory,
    NodeKind,
)

# The five timed nodes SG186 rates an HV connection by, in their order.
TIMED_NODES = (
    NodeKind.PLAN_REPLY,
    NodeKind.DESIGN_REVIEW,
    NodeKind.MID_INSPECTION,
    NodeKind.COMPLETION_INSPECTION,
    NodeKind.ENERGIZE,
)
LV = (CustomerCategory.RESIDENTIAL, CustomerCategory.LV_NON_RESIDENTIAL)
MAX_DAYS = 366  # the longest period one request may ask for


@dataclass(frozen=True)
class Selection:
    """A unit (its subtree) and a period of local dates [start, end], both ends included."""

    unit: Unit
    start: dt.date
    end: dt.date

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=clock.LOCAL_TZ)

    @property
    def until(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=clock.LOCAL_TZ)

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m-%d} ~ {self.end:%Y-%m-%d}"


def select(
    viewer: Viewer,
    *,
    unit_id: int | None = None,
    unit_code: str = "",
    start: dt.date | None = None,
    end: dt.date | None = None,
    active_unit: Unit | None = None,
) -> Selection:
    """The unit (default: the viewer's first root unit) and the period (default: this month up
    to today). A unit outside the scope is 404; an inverted or too long period 422."""
    roots = scoping.root_units(viewer, active_unit)
    if not roots:
        raise ApiError(ErrorCode.NOT_FOUND, _("您的管辖范围内没有该单位"), status=404)
    if unit_id is None and not unit_code:
        unit = min(roots, key=lambda u: (u.depth, u.pk))
    else:
        lookup = {"pk": unit_id} if unit_id is not None else {"code": unit_code}
        found = scoping.visible_units(viewer, active_unit).filter(**lookup).first()
        if found is None:
            raise ApiError(ErrorCode.NOT_FOUND, _("您的管辖范围内没有该单位"), status=404)
        unit = found
    today = clock.local_now().date()
    end = end or today
    start = start or end.replace(day=1)
    if start > end:
        raise ApiError(ErrorCode.INVALID_DATE_RANGE, _("开始日期不能晚于结束日期"), status=422)
    if (end - start).days >= MAX_DAYS:
        raise ApiError(
            ErrorCode.INVALID_DATE_RANGE, _("统计区间不能超过 %(days)s 天") % {"days": MAX_DAYS}, status=422
        )
    return Selection(unit, start, end)


def applications_of(
    viewer: Viewer, selection: Selection, active_unit: Unit | None = None
) -> QuerySet[Application]:
    """The applications the viewer may see whose supply unit lies in the unit's subtree."""
    return queries.visible_applications(viewer, active_unit).filter(supply_unit__in=selection.unit.subtree())


def net_days(start: dt.datetime, end: dt.datetime, paused_days: int) -> int:
    """Working days from ``start`` to ``end`` less the days the customer made the clock wait."""
    return max(calendar.working_days_between(start, end) - paused_days, 0)


def _avg(total: int, n: int) -> Decimal | None:
    if not n:
        return None
    return (Decimal(total) / n).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _rate(met: int, n: int) -> Decimal | None:
    if not n:
        return None
    return (Decimal(met) * 100 / n).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class Rate:
    key: str  # "hv" or "lv"
    label: str
    counted: int = 0
    met: int = 0

    @property
    def rate(self) -> Decimal | None:
        return _rate(self.met, self.counted)


@dataclass
class Average:
    key: str
    label: str
    counted: int = 0
    total_days: int = 0
    late: int = 0

    @property
    def average(self) -> Decimal | None:
        return _avg(self.total_days, self.counted)


@dataclass
class UnitRow:
    """One child unit's figures (its subtree)."""

    unit: Unit
    hv: Rate
    lv: Rate
    days: Average


@dataclass
class Figures:
    selection: Selection
    rates: list[Rate]
    nodes: list[Average]  # per timed node: finished in the period
    types: list[Average]  # per application type: energized in the period, accept → energize
    energized: int
    average_days: Decimal | None  # 业扩平均接电时间 (working days, net of customer waits)
    overdue_running: int
    finished_late: int
    by_unit: list[UnitRow] = field(default_factory=list)


def _energized(apps: QuerySet[Application], selection: Selection) -> dict[int, ApplicationNode]:
    """The energize node of each application energized in the period, by application id."""
    found = ApplicationNode.objects.filter(
        application__in=apps,
        kind=NodeKind.ENERGIZE,
        finished_at__gte=selection.since,
        finished_at__lt=selection.until,
    ).select_related("application", "application__supply_unit")
    return {n.application_id: n for n in found}


def _met(application: Application, nodes: list[ApplicationNode], energize: ApplicationNode) -> bool | None:
    """Whether an energized application met its limits (None: not rated — no promised total)."""
    if application.total_days is None:
        return None
    if application.category == CustomerCategory.HV:
        timed = [n for n in nodes if n.kind in TIMED_NODES and n.limit_days is not None]
        return all(
            n.due_at is not None and n.finished_at is not None and n.finished_at <= n.due_at for n in timed
        )
    return (
        application.total_due_at is not None
        and energize.finished_at is not None
        and (energize.finished_at <= application.total_due_at)
    )


def running_overdue(apps: QuerySet[Application], now: dt.datetime) -> QuerySet[ApplicationNode]:
    """Running node clocks past their due time (a paused clock counts to its pause)."""
    return ApplicationNode.objects.filter(
        Q(paused_at__isnull=True, due_at__lt=now) | Q(paused_at__isnull=False, due_at__lt=F("paused_at")),
        application__in=apps.filter(state=ApplicationState.IN_PROGRESS),
        finished_at__isnull=True,
        due_at__isnull=False,
    )


def finished_late(apps: QuerySet[Application], selection: Selection) -> QuerySet[ApplicationNode]:
    """Nodes finished in the period after their due time."""
    return ApplicationNode.objects.filter(
        application__in=apps,
        finished_at__gte=selection.since,
        finished_at__lt=selection.until,
        due_at__isnull=False,
        finished_at__gt=F("due_at"),
    )


def _unit_key(units: dict[str, Unit], path: str) -> Unit | None:
    """The child unit (of the selection's) whose subtree holds ``path``."""
    for prefix, unit in units.items():
        if path.startswith(prefix):
            return unit
    return None


def figures(
    viewer: Viewer, selection: Selection, *, now: dt.datetime | None = None, active_unit: Unit | None = None
) -> Figures:
    now = now or clock.now()
    apps = applications_of(viewer, selection, active_unit)
    energized = _energized(apps, selection)
    nodes_by_app: dict[int, list[ApplicationNode]] = defaultdict(list)
    for node in ApplicationNode.objects.filter(application_id__in=list(energized)).order_by("seq"):
        nodes_by_app[node.application_id].append(node)

    rates = {"hv": Rate("hv", _("高压业扩时限达标率")), "lv": Rate("lv", _("低压业扩时限达标率"))}
    types = {t.value: Average(t.value, str(t.label)) for t in ApplicationType}
    children = {u.path: u for u in Unit.objects.filter(parent=selection.unit).order_by("code", "pk")}
    units = {u.pk: UnitRow(u, Rate("hv", ""), Rate("lv", ""), Average("all", "")) for u in children.values()}
    total_days = 0
    for app_id, energize in energized.items():
        application = energize.application
        nodes = nodes_by_app[app_id]
        waited = sum(n.paused_days for n in nodes)
        assert energize.finished_at is not None
        days = net_days(application.accepted_at, energize.finished_at, waited)
        total_days += days
        kind = types[application.app_type]
        kind.counted += 1
        kind.total_days += days
        met = _met(application, nodes, energize)
        rate = rates["hv" if application.category == CustomerCategory.HV else "lv"]
        if met is not None:
            rate.counted += 1
            rate.met += int(met)
            if not met:
                kind.late += 1
        child = _unit_key(children, application.supply_unit.path)
        if child is not None:
            unit_row = units[child.pk]
            unit_row.days.counted += 1
            unit_row.days.total_days += days
            if met is not None:
                unit_rate = unit_row.hv if rate.key == "hv" else unit_row.lv
                unit_rate.counted += 1
                unit_rate.met += int(met)

    averages = {k.value: Average(k.value, str(k.label)) for k in TIMED_NODES}
    done = ApplicationNode.objects.filter(
        application__in=apps,
        kind__in=list(averages),
        finished_at__gte=selection.since,
        finished_at__lt=selection.until,
        started_at__isnull=False,
    ).values_list("kind", "started_at", "finished_at", "paused_days", "due_at")
    for node_kind, started, finished, paused, due in done:
        assert started is not None and finished is not None  # filtered above
        average = averages[node_kind]
        average.counted += 1
        average.total_days += net_days(started, finished, paused)
        average.late += int(due is not None and finished > due)

    return Figures(
        selection=selection,
        rates=list(rates.values()),
        nodes=list(averages.values()),
        types=[t for t in types.values() if t.counted],
        energized=len(energized),
        average_days=_avg(total_days, len(energized)),
        overdue_running=running_overdue(apps, now).count(),
        finished_late=finished_late(apps, selection).count(),
        by_unit=list(units.values()),
    )


# --- the overdue lists -------------------------------------------------------------------------

RUNNING, FINISHED = "running", "finished"


@dataclass(frozen=True)
class OverdueRow:
    number: str
    app_type: str
    category: str
    node: str
    owner_unit: str
    supply_unit: str
    due_at: dt.datetime
    finished_at: dt.datetime | None
    days_late: int  # working days from the due time to the finish (or now)


def overdue_nodes(
    viewer: Viewer,
    selection: Selection,
    which: str,
    *,
    now: dt.datetime | None = None,
    active_unit: Unit | None = None,
) -> QuerySet[ApplicationNode]:
    """``running``: running clocks past due now (whenever they began); ``finished``: nodes
    finished late in the period. Most overdue first."""
    now = now or clock.now()
    apps = applications_of(viewer, selection, active_unit)
    if which == RUNNING:
        qs = running_overdue(apps, now)
    elif which == FINISHED:
        qs = finished_late(apps, selection)
    else:
        raise ApiError(ErrorCode.INVALID_INPUT, _("清单类型应为 running 或 finished"), status=422)
    return qs.select_related("application", "application__supply_unit", "owner_unit").order_by("due_at", "pk")


def overdue_row(node: ApplicationNode, now: dt.datetime) -> OverdueRow:
    application = node.application
    assert node.due_at is not None
    end = node.finished_at or node.paused_at or now
    return OverdueRow(
        number=application.number,
        app_type=application.get_app_type_display(),
        category=application.get_category_display(),
        node=node.get_kind_display(),
        owner_unit=node.owner_unit.name,
        supply_unit=application.supply_unit.name,
        due_at=node.due_at,
        finished_at=node.finished_at,
        days_late=calendar.working_days_between(node.due_at, end),
    )


# --- Excel ----------------------------------------------------------------------------------------


def workbook(found: Figures, running: list[OverdueRow], late: list[OverdueRow]) -> bytes:
    """The figures as an Excel workbook: rates, node and type averages, by unit, both lists."""
    import io

    from openpyxl import Workbook

    def num(value: Decimal | None) -> float | None:
        return None if value is None else float(value)

    def when(value: dt.datetime | None) -> str:
        return "" if value is None else f"{clock.local(value):%Y-%m-%d %H:%M}"

    sel = found.selection
    book = Workbook()
    sheet = book.active
    sheet.title = _("达标率")
    sheet.append([_("业扩报装统计"), sel.unit.name, sel.label])
    sheet.append([_("指标"), _("考核件数"), _("达标件数"), _("达标率（%）")])
    for r in found.rates:
        sheet.append([r.label, r.counted, r.met, num(r.rate)])
    sheet.append([_("业扩平均接电时间（工作日）"), found.energized, None, num(found.average_days)])
    sheet.append([_("超期在途环节"), found.overdue_running])
    sheet.append([_("超期完成环节"), found.finished_late])
    sheet.column_dimensions["A"].width = 28

    nodes = book.create_sheet(_("环节平均"))
    nodes.append([_("环节"), _("完成件数"), _("平均工作日"), _("超期件数")])
    for a in found.nodes:
        nodes.append([a.label, a.counted, num(a.average), a.late])
    types = book.create_sheet(_("业务类型平均"))
    types.append([_("业务类型"), _("接电件数"), _("平均接电工作日"), _("未达标件数")])
    for a in found.types:
        types.append([a.label, a.counted, num(a.average), a.late])
    units = book.create_sheet(_("分单位"))
    units.append(
        [
            _("单位"),
            _("高压考核"),
            _("高压达标"),
            _("低压考核"),
            _("低压达标"),
            _("接电件数"),
            _("平均接电工作日"),
        ]
    )
    for u in found.by_unit:
        units.append(
            [
                u.unit.name,
                u.hv.counted,
                u.hv.met,
                u.lv.counted,
                u.lv.met,
                u.days.counted,
                num(u.days.average),
            ]
        )
    for title, rows in ((_("超期在途"), running), (_("超期完成"), late)):
        sheet = book.create_sheet(title)
        sheet.append(
            [
                _("申请编号"),
                _("业务类型"),
                _("客户类别"),
                _("环节"),
                _("责任单位"),
                _("供电单位"),
                _("到期时间"),
                _("完成时间"),
                _("超期工作日"),
            ]
        )
        for row in rows:
            sheet.append(
                [
                    row.number,
                    row.app_type,
                    row.category,
                    row.node,
                    row.owner_unit,
                    row.supply_unit,
                    when(row.due_at),
                    when(row.finished_at),
                    row.days_late,
                ]
            )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
