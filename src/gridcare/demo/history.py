"""A few days of history for the demo county, made through the real services (so every order has
its deadlines, events, warnings and notifications exactly as in production): work orders of every
type in every stage, a planned outage next week, and a fault under one transformer area that the
trouble-call analysis rolls up into an outage event with a crew on the way."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db.models import Count

from gridcare.core import clock
from gridcare.customers.models import Customer, TransformerArea
from gridcare.org.models import RoleAssignment, User
from gridcare.workorders import services as engine
from gridcare.workorders.models import CallbackSetting
from gridcare.workorders.sweep import raise_due_warnings

CONTENT = {
    "consultation": ("policy", "咨询居民阶梯电价的分档标准和计算周期。"),
    "bill_query": ("", "本月电费比上月高出很多，想核实抄表电量。"),
    "business": ("new", "新建厂房需要新装一台 400kVA 变压器，咨询办理流程。"),
    "complaint": ("", "营业厅排队时间过长，工作人员态度冷淡。"),
    "report": ("", "邻居私拉电线疑似窃电，要求查处。"),
    "opinion": ("", "建议在村里增设自助缴费终端。"),
    "praise": ("", "抢修师傅半夜冒雨抢修，特别表扬。"),
    "service_request": ("", "电表箱门损坏，申请上门维修。"),
    "verification": ("", "核实客户户名变更资料。"),
    "fault_repair": ("", "家里突然没电，邻居家有电。"),
}
TYPES = (
    ["consultation"] * 6
    + ["bill_query"] * 3
    + ["business"] * 2
    + ["complaint"] * 2
    + [
        "report",
        "opinion",
        "praise",
        "service_request",
        "verification",
        "fault_repair",
        "fault_repair",
    ]
)


@dataclass
class HistoryReport:
    orders: int = 0
    warnings: int = 0
    outages: int = 0
    events: int = 0


def _user(username: str) -> User | None:
    return User.objects.filter(username=username).first()


def _advance(order, stage: int, people: dict, station, frozen, rng) -> None:
    """Walk an order through the first ``stage`` steps of its loop as the demo staff would."""
    agent, clerk, leader = people["agent"], people["clerk"], people["leader"]
    steps: list[tuple[str, User, dict]] = [("dispatch", agent, {"unit": station.pk}), ("take", clerk, {})]
    if order.order_type in {"fault_repair", "business"}:
        steps.append(("arrive", clerk, {}))
    reply = {"reply": "已按规定处理并答复客户。"}
    if order.order_type == "complaint":
        reply["at_fault"] = False
    steps += [("reply", clerk, reply), ("review", leader, {})]
    for action, actor, payload in steps[:stage]:
        frozen.advance(minutes=rng.uniform(2, 90))
        order = engine.perform(order=order, action=action, actor=actor, **payload)
    frozen.advance(minutes=rng.uniform(10, 240))
    if stage >= len(steps) and order.state == "reviewed" and order.callback_required:
        setting = CallbackSetting.current()
        if not setting.calls_from <= clock.local(clock.now()).time() < setting.calls_until:
            return  # reviewed after the calling hours: left on the callback work list
        order = engine.perform(order=order, action="callback", actor=agent, satisfaction="satisfied")
    if stage >= len(steps) and order.order_type != "complaint":
        engine.perform(order=order, action="archive", actor=leader)


def make_history(*, seed: int = 95598, orders: int = 120) -> HistoryReport:
    report = HistoryReport()
    people = {
        "agent": _user("agent01"),
        "clerk": _user("clerk01"),
        "leader": _user("leader01"),
        "dispatcher": _user("dispatch01"),
    }
    if not all(people.values()):
        return report
    assignment = RoleAssignment.objects.filter(user=people["clerk"]).select_related("unit").first()
    station = assignment.unit
    customers = list(Customer.objects.filter(station=station).order_by("account_no")[:400])
    if not customers:
        return report
    rng = random.Random(seed)
    now = clock.now()
    for i in range(orders):
        order_type = rng.choice(TYPES)
        subtype, content = CONTENT[order_type]
        at = now - dt.timedelta(hours=rng.uniform(0.2, 72))
        with clock.frozen(at) as frozen:
            intake = engine.Intake(
                order_type=order_type,
                channel=rng.choice(["hotline"] * 6 + ["wechat", "hall"]),
                content=content,
                customer=rng.choice(customers),
                subtype=subtype,
                complaint_class="service" if order_type == "complaint" else "",
            )
            order, _ = engine.create_work_order(
                actor=people["agent"], intake=intake, idempotency_key=f"demo-history-{seed}-{i}"
            )
            frozen.advance(minutes=rng.uniform(1, 20))
            # Older orders are further along, as in a center that keeps up; a few stay stuck.
            age_days = (now - at).total_seconds() / 86400
            stages = [6, 6, 6, 5, 4, 3, 2] if age_days > 1 else [0, 1, 2, 3, 4, 5, 6]
            _advance(order, rng.choice(stages), people, station, frozen, rng)
        report.orders += 1
    report.outages += _planned_outage(people["dispatcher"], station, now)
    report.events += _fault(people["agent"], station)
    report.warnings = raise_due_warnings(clock.now())
    return report


def _planned_outage(dispatcher: User, station, now: dt.datetime) -> int:
    from gridcare.outages import services as outages

    area = TransformerArea.objects.filter(station=station).order_by("code").first()
    if area is None:
        return 0
    local = now.astimezone(clock.LOCAL_TZ)
    start = (local + dt.timedelta(days=8)).replace(hour=8, minute=30, second=0, microsecond=0)
    outage, _ = outages.create_outage(
        kind="planned",
        reason="10kV线路检修及配变增容改造",
        actor=dispatcher,
        planned_start=start,
        planned_end=start.replace(hour=17, minute=30),
        feeders=[area.feeder],
        idempotency_key="demo-planned-1",
    )
    outages.publish(outage=outage, actor=dispatcher)
    return 1


def _fault(agent: User, station) -> int:
    """Five neighbours under one transformer area report no power: one outage event, crew dispatched."""
    from gridcare.repair import services as repair

    area = (
        TransformerArea.objects.filter(station=station)
        .annotate(n=Count("customers"))
        .order_by("-n", "code")
        .first()
    )
    neighbours = (
        list(Customer.objects.filter(transformer_area=area).order_by("account_no")[:5]) if area else []
    )
    if len(neighbours) < 3:
        return 0
    for customer in neighbours:
        repair.report_fault_call(
            actor=agent,
            content="家里没电了，周围邻居也没电。",
            customer=customer,
            idempotency_key=f"demo-fault-{customer.account_no}",
        )
    repair.run_analysis()
    return 1
