"""Who hears about a warning: the four escalation tiers of the "1234" supervision mechanism.

Tier 1 the customer's manager (account manager, else the transformer area's grid customer
manager) and the assignee; tier 2 the head of the handling supply station; tier 3 the
functional department manager (managers at the county company); tier 4 the bureau leader
(managers at the city company). Warning level L reaches tiers 1..L; an order escalated by
hand (``escalate``) reaches its escalation tier too.
"""

from __future__ import annotations

from gridcare.org.models import Role, Unit, User

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


def _ancestors_of_kind(unit: Unit | None, kinds: set[str]) -> list[Unit]:
    if unit is None:
        return []
    return [u for u in unit.ancestors() if u.kind in kinds] + ([unit] if unit.kind in kinds else [])


def recipients(order: WorkOrder, tier: int) -> list[User]:
    handling = order.assigned_unit or order.accepted_unit
    if tier == 1:
        people: list[User] = []
        if order.customer_id and order.customer.account_manager_id:
            people.append(order.customer.account_manager)
        elif order.transformer_area_id and order.transformer_area.grid_manager_id:
            people.append(order.transformer_area.grid_manager)
        if order.assignee_id:
            people.append(order.assignee)
        return people
    if tier == 2:
        return _managers_at(_ancestors_of_kind(handling, {Unit.Kind.STATION}))
    if tier == 3:
        return _managers_at(_ancestors_of_kind(handling, {Unit.Kind.COUNTY}))
    return _managers_at(_ancestors_of_kind(handling, {Unit.Kind.CITY}))


def tier_recipients(order: WorkOrder, up_to_tier: int) -> dict[int, list[User]]:
    return {tier: recipients(order, tier) for tier in range(1, min(up_to_tier, 4) + 1)}


def notify_warning(deadline: Deadline, level: int) -> None:
    order = deadline.order
    what = f"{deadline.get_milestone_display()}时限{'已超期' if level == 3 else '即将到期'}"
    subject = f"【{level}级预警】工单 {order.number} {what}"
    body = (
        f"工单 {order.number}（{order.get_order_type_display()}）{what}，"
        f"到期时间 {deadline.due_at.astimezone().strftime('%Y-%m-%d %H:%M')}，请及时督办。"
    )
    _send(order, tier_recipients(order, level), subject, body, dedup=f"warning:{deadline.pk}:{level}")


def notify_escalation(order: WorkOrder, tier: int, note: str) -> None:
    subject = f"【升级督办】工单 {order.number} 升级至{TIER_LABELS.get(tier, tier)}"
    body = f"工单 {order.number}（{order.get_order_type_display()}）已升级督办：{note}"
    _send(order, {tier: recipients(order, tier)}, subject, body, dedup=f"escalate:{order.pk}:{tier}")


def _send(order: WorkOrder, by_tier: dict[int, list[User]], subject: str, body: str, dedup: str) -> None:
    """Each recipient once: a staff-inbox message, and an SMS when the person has a mobile."""
    from gridcare.notify import services as notify
    from gridcare.notify.models import Channel, Priority

    about = ("workorders.workorder", order.number)
    seen: set[int] = set()
    for people in by_tier.values():
        for person in people:
            if person.pk in seen:
                continue
            seen.add(person.pk)
            recipient = ("org.user", str(person.pk))
            notify.enqueue(
                channel=Channel.STAFF_INBOX,
                to=str(person.pk),
                to_name=person.display_name,
                subject=subject,
                body=body,
                priority=Priority.URGENT,
                recipient=recipient,
                about=about,
                dedup_key=f"{dedup}:inbox:{person.pk}",
            )
            if person.mobile:
                notify.enqueue(
                    channel=Channel.SMS,
                    to=person.mobile,
                    to_name=person.display_name,
                    subject=subject,
                    body=f"{subject} {body}",
                    priority=Priority.URGENT,
                    recipient=recipient,
                    about=about,
                    dedup_key=f"{dedup}:sms:{person.pk}",
                )
