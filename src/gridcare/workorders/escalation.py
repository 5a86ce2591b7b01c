"""Who hears about a warning: the four escalation tiers of the "1234" supervision mechanism.

Tier 1 the customer's manager (account manager, else the transformer area's grid customer
manager) and the assignee; tier 2 the head of the supply station (managers at the station);
tier 3 the functional department manager (managers at the county company, or at the city
department handling the order); tier 4 the bureau leader (managers at the city company).
Warning level L reaches tiers 1..L; an order escalated by hand (``escalate``) reaches its
escalation tier too.

The unit a tier is looked up from is the handling unit (assigned, else accepting unit) and,
when that unit has nobody of the tier above it (an order still at the city's 95598 center, or
handled by a city department), the supply station of the customer or of its transformer area:
a warning on an order not yet dispatched still reaches the station head and the county manager
of the place it is about. Each person hears of one order's warning level once, however many of
its deadlines reach that level (dedup key ``warning:<order>:<level>`` per person).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gridcare.core import clock
from gridcare.notify import services as notify
from gridcare.org.models import Role, RoleAssignment, Unit, User

from .models import Deadline, WorkOrder

TIER_LABELS = {1: "客户经理", 2: "供电所所长", 3: "职能部门经理", 4: "局领导"}


def _managers_at(units: list[Unit]) -> list[User]:
    if not units:
        return []
    return list(
        User.objects.filter(
            is_active=True, assignments__role=Role.MANAGER, assignments__unit__in=units
        ).distinct()
    )


def _ancestors_of_kind(unit: Unit | None, kinds: set[Unit.Kind]) -> list[Unit]:
    if unit is None:
        return []
    return [u for u in unit.ancestors() if u.kind in kinds] + ([unit] if unit.kind in kinds else [])


# The unit kinds whose managers form tiers 2–4.
TIER_KINDS = {
    2: {Unit.Kind.STATION},
    3: {Unit.Kind.COUNTY, Unit.Kind.DEPARTMENT},
    4: {Unit.Kind.CITY},
}


def _places(order: WorkOrder) -> list[Unit]:
    """The units a tier is looked up from, in order (see the module's docstring)."""
    units = [order.assigned_unit or order.accepted_unit]
    if order.customer is not None:
        units.append(order.customer.station)
    if order.transformer_area is not None:
        units.append(order.transformer_area.station)
    return [u for u in units if u is not None]


def recipients(order: WorkOrder, tier: int) -> list[User]:
    if tier == 1:
        people: list[User] = []
        customer, area = order.customer, order.transformer_area
        if customer is not None and customer.account_manager is not None:
            people.append(customer.account_manager)
        elif area is not None and area.grid_manager is not None:
            people.append(area.grid_manager)
        if order.assignee is not None:
            people.append(order.assignee)
        return people
    kinds = TIER_KINDS[min(tier, 4)]
    for unit in _places(order):
        people = _managers_at(_ancestors_of_kind(unit, kinds))
        if people:
            return people
    return []


def tier_recipients(order: WorkOrder, up_to_tier: int) -> dict[int, list[User]]:
    return {tier: recipients(order, tier) for tier in range(1, min(up_to_tier, 4) + 1)}


def warning_event(
    milestone: str, milestone_label: str, level: int, due_at: dt.datetime, *, skipped: bool = False
) -> tuple[str, dict[str, Any]]:
    """The note and data of a raised warning level's history row (shared by the single and the
    bulk path); the due time in Asia/Shanghai, as the API writes times. ``skipped``: a lower
    level passed over because a higher one was due at the same check — recorded, not notified."""
    note = f"{milestone_label}时限{'已超期' if level == 3 else '预警'}（{level}级）"
    data: dict[str, Any] = {"milestone": milestone, "level": level, "due_at": clock.local(due_at).isoformat()}
    if skipped:
        note += "，已由更高级别预警取代，未单独通知"
        data["skipped"] = True
    return note, data


def warning_dedup(order_id: int, level: int) -> str:
    """The dedup key prefix of a warning notice: per order and level (and person, added by
    ``notify.staff_notice``), whichever of the order's deadlines reached the level."""
    return f"warning:{order_id}:{level}"


def warning_text(
    order_number: str, order_type_label: str, milestone_label: str, due_at: dt.datetime, level: int
) -> tuple[str, str]:
    """Subject and body of a level-``level`` warning (shared by the single and the bulk path)."""
    what = f"{milestone_label}时限{'已超期' if level == 3 else '即将到期'}"
    subject = f"【{level}级预警】工单 {order_number} {what}"
    body = (
        f"工单 {order_number}（{order_type_label}）{what}，"
        f"到期时间 {due_at.astimezone(clock.LOCAL_TZ).strftime('%Y-%m-%d %H:%M')}，请及时督办。"
    )
    return subject, body


def notify_warning(deadline: Deadline, level: int) -> None:
    order = deadline.order
    subject, body = warning_text(
        order.number, order.get_order_type_display(), deadline.get_milestone_display(), deadline.due_at, level
    )
    _send(order, tier_recipients(order, level), subject, body, dedup=warning_dedup(order.pk, level))


def notify_escalation(order: WorkOrder, tier: int, note: str) -> None:
    subject = f"【升级督办】工单 {order.number} 升级至{TIER_LABELS.get(tier, tier)}"
    body = f"工单 {order.number}（{order.get_order_type_display()}）已升级督办：{note}"
    _send(order, {tier: recipients(order, tier)}, subject, body, dedup=f"escalate:{order.pk}:{tier}")


def _send(order: WorkOrder, by_tier: dict[int, list[User]], subject: str, body: str, dedup: str) -> None:
    """Each recipient once: a staff-inbox message, and an SMS when the person has a mobile."""
    notify.tell_staff(_everyone(by_tier), subject=subject, body=body, about=_about(order.number), dedup=dedup)


def outgoing(
    order_number: str, by_tier: dict[int, list[User]], subject: str, body: str, dedup: str
) -> list[notify.Outgoing]:
    """The messages of one notice as ``notify.services.Outgoing`` items (each recipient once)."""
    return notify.staff_notice(
        _everyone(by_tier), subject=subject, body=body, about=_about(order_number), dedup=dedup
    )


def _everyone(by_tier: dict[int, list[User]]) -> list[User]:
    return [person for tier_people in by_tier.values() for person in tier_people]


def _about(order_number: str) -> tuple[str, str]:
    return ("workorders.workorder", order_number)


class BulkRecipients:
    """``tier_recipients`` for many orders at once: the same people, found with a few queries.

    Tier 1 comes from ids read with the order (account manager, grid manager, assignee); tiers
    2–4 depend only on the handling unit, so they are computed once per unit and tier.
    """

    def __init__(self) -> None:
        self._users: dict[int, User] = {}
        self._by_unit: dict[tuple[int, int], list[User]] = {}
        self._units: dict[int, Unit] = {}  # the whole tree, read by the first ``load``
        self._managers: dict[int, list[User]] = {}

    def load(self, orders: list[dict[str, Any]]) -> None:
        """Fetch the users the given order rows (see ``ORDER_FIELDS``) will need."""
        user_ids = {
            uid
            for o in orders
            for uid in (
                o["customer__account_manager_id"],
                o["transformer_area__grid_manager_id"],
                o["assignee_id"],
            )
            if uid
        } - self._users.keys()
        if user_ids:
            self._users.update((u.pk, u) for u in User.objects.filter(pk__in=user_ids))
        if not self._units:
            # The organization tree and its managers are small: read them once per sweep.
            self._units = {u.pk: u for u in Unit.objects.all()}
            for a in RoleAssignment.objects.filter(role=Role.MANAGER, user__is_active=True).select_related(
                "user"
            ):
                self._managers.setdefault(a.unit_id, []).append(a.user)

    def _managers_of(self, unit_id: int, kinds: set[Unit.Kind]) -> list[User]:
        """``_managers_at(_ancestors_of_kind(unit, kinds))`` from the tree read in ``load``."""
        unit = self._units[unit_id]
        ids = [int(part) for part in unit.path.strip("/").split("/") if part] + [unit.pk]
        people: dict[int, User] = {}
        for uid in ids:
            if uid in self._units and self._units[uid].kind in kinds:
                for person in self._managers.get(uid, []):
                    people.setdefault(person.pk, person)
        return list(people.values())

    def tier_recipients(self, order: dict[str, Any], up_to_tier: int) -> dict[int, list[User]]:
        by_tier: dict[int, list[User]] = {}
        for tier in range(1, min(up_to_tier, 4) + 1):
            if tier == 1:
                people: list[User] = []
                if order["customer_id"] and order["customer__account_manager_id"]:
                    people.append(self._users[order["customer__account_manager_id"]])
                elif order["transformer_area_id"] and order["transformer_area__grid_manager_id"]:
                    people.append(self._users[order["transformer_area__grid_manager_id"]])
                if order["assignee_id"]:
                    people.append(self._users[order["assignee_id"]])
                by_tier[1] = people
                continue
            by_tier[tier] = []
            places = (
                order["assigned_unit_id"] or order["accepted_unit_id"],
                order["customer__station_id"],
                order["transformer_area__station_id"],
            )
            for unit_id in places:
                if not unit_id:
                    continue
                key = (unit_id, tier)
                if key not in self._by_unit:
                    self._by_unit[key] = self._managers_of(unit_id, TIER_KINDS[tier])
                if self._by_unit[key]:
                    by_tier[tier] = self._by_unit[key]
                    break
        return by_tier


# The order columns ``BulkRecipients`` reads (``WorkOrder.objects.values(*ORDER_FIELDS)``).
ORDER_FIELDS = (
    "id",
    "number",
    "order_type",
    "customer_id",
    "customer__account_manager_id",
    "transformer_area_id",
    "transformer_area__grid_manager_id",
    "assignee_id",
    "assigned_unit_id",
    "accepted_unit_id",
    "customer__station_id",
    "transformer_area__station_id",
)
