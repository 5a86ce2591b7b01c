"""Write N open work orders with their deadlines and history, as the engine would have, with COPY.

The picture: orders of every type arrived over the past days (each type over a span that fits its
time limits), were accepted by a hotline agent, some dispatched to the customer's supply station
and taken by someone there. The engine raised every warning that fell due until ``missed`` ago;
then the worker stopped, so every warning whose time falls in the last ``missed`` minutes is due
now — what the reconciliation sweep (``gridcare check-deadlines``) is for.

Each deadline comes from the policy ``policies.applicable_policies`` chooses, its ``due_at`` from
``policies.due_at`` (working days across the holiday calendar), its warning level and
``next_warning_at`` from ``policies.warning_times``; each raised level has its history row.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from dataclasses import dataclass, field

from django.db import connection, models
from psycopg.types.json import Jsonb

from gridcare.core import clock
from gridcare.customers.models import Customer
from gridcare.org.models import Role, RoleAssignment, Unit
from gridcare.workorders import policies
from gridcare.workorders.models import (
    NUMBER_PREFIX,
    Deadline,
    Milestone,
    OrderType,
    Priority,
    State,
    WorkOrder,
    WorkOrderEvent,
)

# (type, share of the open orders, how far back (hours) its open orders were accepted)
TYPE_MIX = [
    (OrderType.FAULT_REPAIR, 0.12, 6),
    (OrderType.COMPLAINT, 0.14, 24 * 10),
    (OrderType.BUSINESS, 0.30, 24 * 12),
    (OrderType.CONSULTATION, 0.12, 24 * 2),
    (OrderType.BILL_QUERY, 0.08, 24 * 2),
    (OrderType.REPORT, 0.05, 24 * 18),
    (OrderType.OPINION, 0.06, 24 * 9),
    (OrderType.SERVICE_REQUEST, 0.08, 24 * 9),
    (OrderType.VERIFICATION, 0.05, 24 * 9),
]
CHANNELS = [("hotline", 0.78), ("web", 0.08), ("wechat", 0.08), ("hall", 0.04), ("regulator_12398", 0.02)]
CONTENT = {
    OrderType.FAULT_REPAIR: "家里突然停电，邻居家也没电，请尽快派人抢修。",
    OrderType.COMPLAINT: "抢修人员迟迟未到，服务态度差，要求答复。",
    OrderType.BUSINESS: "申请居民用电增容，请联系上门勘查。",
    OrderType.CONSULTATION: "咨询本月计划停电时间。",
    OrderType.BILL_QUERY: "本月电费比上月高很多，请核实。",
    OrderType.REPORT: "举报有人私拉电线窃电。",
    OrderType.OPINION: "建议营业厅周末延长营业时间。",
    OrderType.SERVICE_REQUEST: "申请更换电表位置。",
    OrderType.VERIFICATION: "核查客户档案信息。",
}


@dataclass
class Population:
    now: dt.datetime
    missed_minutes: float = 0.0
    orders: int = 0
    deadlines: int = 0
    running: int = 0
    events: int = 0
    due_deadlines: int = 0
    due_levels: int = 0
    due_orders: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def save(self, path) -> None:
        data = dict(self.__dict__, now=self.now.isoformat())
        path.write_text(json.dumps(data))

    @classmethod
    def load(cls, path) -> Population:
        data = json.loads(path.read_text())
        data["now"] = dt.datetime.fromisoformat(data["now"])
        return cls(**data)


def _table(model: type[models.Model], with_id: bool) -> tuple[str, list[str], list]:
    """Table name, its columns, and a row of the fields' defaults to copy and fill in."""
    fields = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
    defaults = []
    for f in fields:
        value = None if f.primary_key else f.get_default()
        if isinstance(value, dict | list):
            value = Jsonb(value)
        defaults.append(value)
    return model._meta.db_table, [f.column for f in fields], defaults


def _next_id(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        return cursor.fetchone()[0] + 1


def _reset_sequence(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
        )


class _Copy:
    """Rows for one table, sent with COPY in chunks (one COPY at a time on a connection)."""

    def __init__(self, model: type[models.Model], with_id: bool = True):
        self.table, self.columns, self.defaults = _table(model, with_id)
        self.index = {c: i for i, c in enumerate(self.columns)}
        self.rows: list[list] = []
        self.count = 0

    def row(self, **values) -> None:
        row = list(self.defaults)
        for column, value in values.items():
            row[self.index[column]] = value
        self.rows.append(row)
        self.count += 1

    def flush(self) -> None:
        if not self.rows:
            return
        sql = f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN"
        with connection.cursor() as cursor:
            # The rows are valid by construction; skip the per-row foreign-key triggers while loading.
            cursor.execute("SET session_replication_role = replica")
            try:
                with cursor.cursor.copy(sql) as copy:
                    for row in self.rows:
                        copy.write_row(row)
            finally:
                cursor.execute("SET session_replication_role = DEFAULT")
        self.rows = []


def _pick(rng: random.Random, weighted: list[tuple]) -> object:
    r = rng.random()
    for value, weight, *_rest in weighted:
        r -= weight
        if r <= 0:
            return value
    return weighted[-1][0]


def populate(n: int, *, missed_minutes: float, seed: int = 20261124, progress=print) -> Population:
    """Write ``n`` open orders; ``missed_minutes``: how long ago the warnings stopped being raised."""
    started = time.perf_counter()
    rng = random.Random(seed)
    now = clock.now().replace(microsecond=0)
    cutoff = now - dt.timedelta(minutes=missed_minutes)
    pop = Population(now=now, missed_minutes=missed_minutes)

    customers = list(
        Customer.objects.values_list(
            "id",
            "transformer_area_id",
            "transformer_area__area_class",
            "customer_class",
            "station_id",
            "is_key",
            "is_vip",
        )
    )
    if not customers:
        raise SystemExit("no customers: seed the county first")
    agent_assignment = (
        RoleAssignment.objects.filter(role=Role.AGENT).select_related("user", "unit").order_by("id").first()
    )
    agent_id, agent_unit_id = agent_assignment.user_id, agent_assignment.unit_id
    stations = {u.pk: u for u in Unit.objects.filter(kind=Unit.Kind.STATION)}
    staff_at: dict[int, list[int]] = {}
    for user_id, path in RoleAssignment.objects.filter(
        role__in=[Role.CREW, Role.BUSINESS_CLERK, Role.ACCOUNT_MANAGER], user__is_active=True
    ).values_list("user_id", "unit__path"):
        for station in stations.values():
            if path.startswith(station.path):
                staff_at.setdefault(station.pk, []).append(user_id)

    policy_cache: dict[tuple, list] = {}

    def policies_for(order_type: str, area_class: str, customer_class: str, channel: str) -> list:
        key = (order_type, area_class, customer_class, channel)
        if key not in policy_cache:
            probe = WorkOrder(
                order_type=order_type, area_class=area_class, customer_class=customer_class, channel=channel
            )
            policy_cache[key] = policies.applicable_policies(probe, "accept")
        return policy_cache[key]

    from gridcare.core.models import NumberSequence

    limits: dict[tuple, tuple] = {}
    # Numbers continue any sequence already taken (the demo county comes with some history).
    sequences: dict[tuple[str, str], int] = {
        (prefix, period): value
        for prefix, period, value in NumberSequence.objects.values_list("prefix", "period", "value")
    }
    # Deadlines already in the database (the demo's history) that are due now are the sweep's too.
    for d in Deadline.objects.filter(
        met_at__isnull=True, paused_at__isnull=True, next_warning_at__isnull=False, next_warning_at__lte=now
    ).select_related("policy"):
        times = policies.warning_times(d.policy, d.started_at, d.due_at)
        level = d.warning_level
        while level < 3 and times[level] <= now:
            level += 1
        pop.due_deadlines += 1
        pop.due_levels += level - d.warning_level
    order_id = _next_id(WorkOrder._meta.db_table)
    deadline_id = _next_id(Deadline._meta.db_table)
    milestone_label = {m.value: str(m.label) for m in Milestone}
    orders_copy = _Copy(WorkOrder)
    deadlines_copy = _Copy(Deadline)
    events_copy = _Copy(WorkOrderEvent, with_id=False)
    for i in range(n):
        order_type, _share, span_hours = TYPE_MIX[_index(rng, TYPE_MIX)]
        channel = _pick(rng, CHANNELS)
        cid, area_id, area_class, customer_class, station_id, is_key, is_vip = customers[
            rng.randrange(len(customers))
        ]
        area_class = area_class or "urban"
        # Whole minutes back: the deadlines of orders accepted in the same minute are computed once.
        created = now - dt.timedelta(minutes=int(rng.random() * span_hours * 60) + 1)
        period = created.astimezone(clock.LOCAL_TZ).strftime("%Y%m%d")
        prefix = NUMBER_PREFIX[order_type]
        seq = sequences.get((prefix, period), 0) + 1
        sequences[(prefix, period)] = seq
        number = f"{prefix}{period}{seq:06d}"

        state = State.ACCEPTED
        dispatched = taken = None
        roll = rng.random()
        if roll > 0.25:
            dispatched = created + dt.timedelta(seconds=rng.randint(60, 280))
            if dispatched < now:
                state = State.DISPATCHED
                if roll > 0.55 and staff_at.get(station_id):
                    taken = dispatched + dt.timedelta(seconds=rng.randint(60, 1800))
                    state = State.IN_PROGRESS if taken < now else State.DISPATCHED
                    taken = taken if taken < now else None
            else:
                dispatched = None
        assignee = rng.choice(staff_at[station_id]) if taken else None
        handling_unit = station_id if dispatched else None

        order_level = 0
        order_due = False
        for policy in policies_for(order_type, area_class, customer_class, channel):
            key = (policy.pk, created)
            if key not in limits:
                due = policies.due_at(policy, created)
                limits[key] = (due, policies.warning_times(policy, created, due.at))
            due, times = limits[key]
            met_at = None
            if policy.milestone == Milestone.DISPATCH and dispatched:
                met_at = dispatched
                raised = sum(t <= min(dispatched, cutoff) for t in times)
                due_levels = 0
            else:
                raised = sum(t <= cutoff for t in times)
                due_levels = sum(t <= now for t in times) - raised
                pop.running += 1
            next_at = None if met_at or raised == 3 else times[raised]
            deadlines_copy.row(
                id=deadline_id,
                order_id=order_id,
                milestone=policy.milestone,
                policy_id=policy.pk,
                started_at=created,
                due_at=due.at,
                provisional=due.provisional,
                met_at=met_at,
                warning_level=raised,
                next_warning_at=next_at,
            )
            for level in range(1, raised + 1):
                events_copy.row(
                    order_id=order_id,
                    action="warning",
                    at=times[level - 1],
                    note=f"{milestone_label[policy.milestone]}时限{'已超期' if level == 3 else '预警'}（{level}级）",
                    data=f'{{"milestone": "{policy.milestone}", "level": {level}, "due_at": "{due.at.isoformat()}"}}',
                )
            order_level = max(order_level, raised)
            if due_levels:
                pop.due_deadlines += 1
                pop.due_levels += due_levels
                order_due = True
            deadline_id += 1
            pop.deadlines += 1
        pop.due_orders += order_due

        priority = Priority.GREEN_CHANNEL if (is_key or is_vip) else Priority.NORMAL
        version = 1 + (dispatched is not None) + (taken is not None)
        last = taken or dispatched or created
        orders_copy.row(
            id=order_id,
            number=number,
            order_type=order_type,
            channel=channel,
            state=state,
            priority=priority,
            customer_id=cid,
            transformer_area_id=area_id,
            area_class=area_class,
            customer_class=customer_class,
            content=CONTENT[order_type],
            complaint_class="service" if order_type == OrderType.COMPLAINT else "",
            accepted_by_id=agent_id,
            accepted_unit_id=agent_unit_id,
            assigned_unit_id=handling_unit,
            assignee_id=assignee,
            warning_level=order_level,
            callback_required=False,
            version=version,
            created_at=created,
            updated_at=last,
        )
        events_copy.row(
            order_id=order_id,
            action="accept",
            at=created,
            actor_id=agent_id,
            actor_unit_id=agent_unit_id,
            from_state="",
            to_state=State.ACCEPTED,
            data=f'{{"channel": "{channel}", "priority": {int(priority)}}}',
        )
        if dispatched:
            events_copy.row(
                order_id=order_id,
                action="dispatch",
                at=dispatched,
                actor_id=agent_id,
                actor_unit_id=agent_unit_id,
                from_state=State.ACCEPTED,
                to_state=State.DISPATCHED,
                data=f'{{"assigned_unit": {handling_unit}}}',
            )
        if taken:
            events_copy.row(
                order_id=order_id,
                action="take",
                at=taken,
                actor_id=assignee,
                actor_unit_id=station_id,
                from_state=State.DISPATCHED,
                to_state=State.IN_PROGRESS,
                data=f'{{"assignee": {assignee}}}',
            )
        pop.by_type[order_type] = pop.by_type.get(order_type, 0) + 1
        order_id += 1
        pop.orders += 1
        if (i + 1) % 20_000 == 0 or i + 1 == n:
            # Orders first: the deadlines and the history rows reference them.
            for copy in (orders_copy, deadlines_copy, events_copy):
                copy.flush()
            if progress and (i + 1) % 100_000 == 0:
                progress(f"  {i + 1:,} orders written ({time.perf_counter() - started:.0f} s)")
    pop.events = events_copy.count
    for model in (WorkOrder, Deadline, WorkOrderEvent):
        _reset_sequence(model._meta.db_table)
    for (prefix, period), value in sequences.items():
        NumberSequence.objects.update_or_create(prefix=prefix, period=period, defaults={"value": value})
    with connection.cursor() as cursor:
        for model in (WorkOrder, Deadline, WorkOrderEvent):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    pop.seconds = time.perf_counter() - started
    return pop


def _index(rng: random.Random, weighted: list[tuple]) -> int:
    r = rng.random()
    for i, (_value, weight, *_rest) in enumerate(weighted):
        r -= weight
        if r <= 0:
            return i
    return len(weighted) - 1
