"""The node engine's choices, all read from data: the supply voltage for a requested capacity
(``VoltageBand``), the customer category, the path of nodes (``NodePath``, the most specific active
row), the unit that owns each node, and the node instances an accepted application starts with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext

from gridcare.core import calendar
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.core.memo import Memo
from gridcare.customers.models import Customer
from gridcare.org.models import Unit

from . import clocks
from .models import (
    Application,
    ApplicationNode,
    ClockStart,
    CustomerCategory,
    NodePath,
    NodeState,
    PathNode,
    Supply,
    Voltage,
    VoltageBand,
)

# The rule data (bands, active paths with their nodes) is read on every acceptance and changed
# rarely: kept by the process for a minute; a save or delete of a row forgets it at once in the
# process that made it (signals, apps.py), every other process within the minute.
RULES_SECONDS = 60.0
_rules: Memo[tuple[list[VoltageBand], list[NodePath]]] = Memo(RULES_SECONDS)


def _load_rules() -> tuple[list[VoltageBand], list[NodePath]]:
    bands = list(VoltageBand.objects.filter(is_active=True))
    paths = list(NodePath.objects.filter(is_active=True).prefetch_related("nodes"))
    return bands, paths


def rules() -> tuple[list[VoltageBand], list[NodePath]]:
    return _rules.get("rules", _load_rules)


# The owner candidates of a (supply unit, path): read once a minute per pair (units change
# rarely; forgotten with the rules).
_owners: Memo[list[Unit]] = Memo(RULES_SECONDS, max_size=10_000)


def forget_rules(**_signal: object) -> None:
    _rules.forget()
    _owners.forget()


def definitions_of(path: NodePath) -> list[PathNode]:
    """The node rows of ``path`` in order (from the kept rule data when it holds the path)."""
    kept = next((p for p in rules()[1] if p.pk == path.pk), None)
    if kept is not None:
        return sorted(kept.nodes.all(), key=lambda d: d.seq)
    return list(path.nodes.order_by("seq"))


def voltage_for(requested_kva: Decimal) -> Voltage:
    """The supply voltage of the smallest active band that holds the request (422
    ``no_capacity_band`` when no band does)."""
    bands = rules()[0]
    holding = [b for b in bands if b.up_to_kva is None or b.up_to_kva >= requested_kva]
    if not holding:
        raise ApiError(
            ErrorCode.NO_CAPACITY_BAND,
            gettext("没有适用于该申请容量的供电电压档，请联系管理员配置"),
            status=422,
        )
    best = min(holding, key=lambda b: (b.up_to_kva is None, b.up_to_kva or 0))
    return Voltage(best.voltage)


def category_for(voltage: str, usage_class: str) -> CustomerCategory:
    if voltage != Voltage.LV:
        return CustomerCategory.HV
    if usage_class == Customer.CustomerClass.RESIDENTIAL:
        return CustomerCategory.RESIDENTIAL
    return CustomerCategory.LV_NON_RESIDENTIAL


@dataclass(frozen=True)
class Route:
    """What the rule data decided for one application."""

    voltage: Voltage
    category: CustomerCategory
    path: NodePath


def route(*, app_type: str, requested_kva: Decimal, usage_class: str, supply: str) -> Route:
    voltage = voltage_for(requested_kva)
    if supply == Supply.DUAL and voltage == Voltage.LV:
        raise ApiError(
            ErrorCode.INVALID_SUPPLY,
            gettext("双电源仅适用于高压供电的申请"),
            status=422,
        )
    category = category_for(voltage, usage_class)
    return Route(voltage, category, path_for(app_type, category, supply, voltage))


def path_for(app_type: str, category: str, supply: str, voltage: str) -> NodePath:
    """The most specific active path matching the four selectors (blank selectors match any)."""
    best: NodePath | None = None
    for path in rules()[1]:
        if path.app_types and app_type not in path.app_types:
            continue
        if path.category and path.category != category:
            continue
        if path.supply and path.supply != supply:
            continue
        if path.voltage and path.voltage != voltage:
            continue
        if best is None or path.specificity > best.specificity:
            best = path
    if best is None or not best.nodes.all():
        raise ApiError(
            ErrorCode.NO_NODE_PATH,
            gettext("没有适用于该业务类型、客户类别和电压的办理流程，请联系管理员配置"),
            status=422,
        )
    return best


def owner_unit(supply_unit: Unit, definition: PathNode, units: list[Unit] | None = None) -> Unit:
    """The unit that owns a node (``unit_for`` its level and function)."""
    return unit_for(supply_unit, definition.owner_level, definition.owner_function, units)


def unit_for(supply_unit: Unit, level_kind: str, function: str, units: list[Unit] | None = None) -> Unit:
    """The supply unit's ancestor (or itself) of kind ``level_kind``, then its team or center of
    ``function`` below it, else that unit itself. ``units``: the organization's units when the
    caller read them once."""
    tree = units if units is not None else list(Unit.objects.filter(is_active=True))
    chain = [u for u in tree if supply_unit.is_within(u)]  # its ancestors and itself
    level = next((u for u in sorted(chain, key=lambda u: -u.depth) if u.kind == level_kind), None)
    if level is None:
        # The supply unit sits above the node's level (a county supplying an HV customer itself).
        level = supply_unit
    if function:
        below = [u for u in tree if u.is_within(level) and u.function == function and u.is_active]
        if below:
            return min(below, key=lambda u: (u.depth, u.path))
    return level


def owner_candidates(supply_unit: Unit, definitions: list[PathNode]) -> list[Unit]:
    """The units that may own the nodes of ``definitions`` for ``supply_unit`` — its ancestors
    and itself, and the teams and centers of the nodes' functions below those — in two small
    queries (not the whole organization)."""
    ids = [int(p) for p in supply_unit.path.strip("/").split("/") if p] or [supply_unit.pk]
    chain = list(Unit.objects.filter(pk__in=ids, is_active=True))
    levels = [u for u in chain if u.kind in {d.owner_level for d in definitions}] or [supply_unit]
    functions = {d.owner_function for d in definitions if d.owner_function}
    if not functions:
        return chain
    within = Q()
    for unit in levels:
        within |= Q(pk__in=unit.subtree().values("pk"))
    return chain + list(
        Unit.objects.filter(within, function__in=functions, is_active=True).exclude(pk__in=ids)
    )


def build_nodes(application: Application, at: dt.datetime) -> list[ApplicationNode]:
    """The node instances of a just-accepted application (unsaved): 受理 done at ``at``, the next
    node open, and every clock whose start event is the acceptance running from ``at``."""
    definitions = definitions_of(application.path)
    supply = application.supply_unit
    units = _owners.get(
        (supply.pk, supply.path, application.path_id), lambda: owner_candidates(supply, definitions)
    )
    nodes: list[ApplicationNode] = []
    for index, definition in enumerate(definitions):
        node = ApplicationNode(
            application=application,
            seq=definition.seq,
            kind=definition.kind,
            definition=definition,
            owner_unit=owner_unit(application.supply_unit, definition, units),
            owner_role=definition.owner_role,
            limit_days=definition.limit_days,
        )
        if index == 0:
            node.state, node.opened_at, node.finished_at = NodeState.DONE, at, at
            node.finished_by = application.accepted_by
        elif index == 1:
            node.state, node.opened_at = NodeState.OPEN, at
        if definition.clock_starts == ClockStart.ACCEPTED or (
            index == 1 and definition.clock_starts == ClockStart.NODE_OPENED
        ):
            clocks.start(node, at)
        if index == 0 and node.due_at is not None:
            node.next_warning_at = None  # the acceptance itself: done on the spot
        nodes.append(node)
    return nodes


def promised_total(path: NodePath, at: dt.datetime) -> calendar.Deadline | None:
    if path.total_days is None:
        return None
    return calendar.add_working_days(at, path.total_days)
