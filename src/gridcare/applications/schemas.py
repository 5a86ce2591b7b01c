"""The API's shapes for business applications. Personal data (applicant, ID number, address,
contact phone) is answered masked."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from gridcare.core import clock
from gridcare.core.masking import mask_address, mask_id_number, mask_name, mask_phone
from gridcare.core.validation import CleanLine, Flag, Phone
from gridcare.customers.models import Customer
from gridcare.workorders.models import Channel

from . import figures
from .models import (
    Application,
    ApplicationNode,
    ApplicationType,
    DocumentKind,
    IdType,
    NodeWait,
    Supply,
    WaitReason,
)
from .queries import Progress


class EquipmentIn(Schema):
    name: CleanLine = Field(..., min_length=1, max_length=60)
    kw: Decimal = Field(..., gt=0, le=1_000_000, max_digits=12, decimal_places=2)
    phase: Literal[1, 3] = 3
    voltage: CleanLine = Field("380V", max_length=10)
    count: int = Field(1, ge=1, le=10_000)


class DocumentIn(Schema):
    kind: DocumentKind
    via_shared_data: Flag = Field(False, description="一证办电: fetched from the government's shared data")
    note: CleanLine = Field("", max_length=200)


class ApplicationIn(Schema):
    app_type: ApplicationType
    applicant_name: CleanLine = Field(..., min_length=1, max_length=100)
    id_type: IdType = IdType.RESIDENT_ID
    id_number: CleanLine = Field(..., min_length=4, max_length=30)
    address: CleanLine = Field(..., min_length=1, max_length=200)
    contact_name: CleanLine = Field(..., min_length=1, max_length=60)
    contact_phone: Phone = Field(..., min_length=1)
    usage_class: Customer.CustomerClass
    requested_kva: Decimal = Field(..., gt=0, le=1_000_000, max_digits=10, decimal_places=1)
    supply: Supply = Supply.SINGLE
    industry: CleanLine = Field("", max_length=60)
    load_nature: Literal[1, 2, 3] = 3
    households: int = Field(1, ge=1, le=100_000)
    equipment: list[EquipmentIn] = Field(default_factory=list, max_length=500)
    documents: list[DocumentIn] = Field(default_factory=list, max_length=50)
    channel: Channel = Channel.HALL
    high_risk: Flag = False
    dishonest: Flag = False
    green_channel: Flag = Field(False, description="绿色通道: a key project")
    handed_in_by_account_manager: Flag = False
    account_no: CleanLine | None = Field(None, max_length=32, description="户号 of an existing customer")
    supply_unit: CleanLine | None = Field(
        None,
        max_length=32,
        description="code of the supplying unit; default: the customer's station or yours",
    )


class NodeActionIn(Schema):
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="the application's version you read")
    note: CleanLine = Field("", max_length=1000)
    reason: WaitReason | None = Field(None, description="`wait` only: the customer's reason")


class ApplicationActionIn(Schema):
    version: int | None = Field(None, ge=1, le=2**31 - 1)
    note: CleanLine = Field("", max_length=1000)


class NodeOut(Schema):
    node: str
    label: str
    state: str
    owner_unit: str
    owner_role: str
    clock_starts: str
    limit_days: int | None
    opened_at: dt.datetime | None
    started_at: dt.datetime | None
    due_at: dt.datetime | None
    provisional: bool
    paused: bool
    paused_days: int
    finished_at: dt.datetime | None
    on_time: bool | None
    overdue: bool
    warning_level: int

    @staticmethod
    def of(node: ApplicationNode, now: dt.datetime) -> NodeOut:
        left = node.seconds_left(now)
        return NodeOut(
            node=node.kind,
            label=node.get_kind_display(),
            state=node.state,
            owner_unit=node.owner_unit.name,
            owner_role=node.get_owner_role_display(),
            clock_starts=node.definition.clock_starts,
            limit_days=node.limit_days,
            opened_at=clock.local(node.opened_at),
            started_at=clock.local(node.started_at),
            due_at=clock.local(node.due_at),
            provisional=node.provisional,
            paused=node.paused_at is not None,
            paused_days=node.paused_days,
            finished_at=clock.local(node.finished_at),
            on_time=node.on_time,
            overdue=left is not None and left < 0,
            warning_level=node.warning_level,
        )


class ApplicationOut(Schema):
    number: str
    app_type: str
    category: str
    supply: str
    voltage: str
    path: str
    state: str
    current_node: str
    priority: int
    green_channel: bool
    account_no: str | None
    applicant_masked: str
    id_number_masked: str
    address_masked: str
    contact_phone_masked: str
    usage_class: str
    industry: str
    load_nature: int
    requested_kva: Decimal
    households: int
    supply_unit: str
    accepted_unit: str
    accepted_at: dt.datetime
    promised_by: dt.datetime | None
    high_risk: bool
    dishonest: bool
    closed_at: dt.datetime | None
    version: int

    @staticmethod
    def of(application: Application) -> ApplicationOut:
        return ApplicationOut(
            number=application.number,
            app_type=application.app_type,
            category=application.category,
            supply=application.supply,
            voltage=application.voltage,
            path=application.path.name,
            state=application.state,
            current_node=application.current_node,
            priority=application.priority,
            green_channel=application.green_channel,
            account_no=application.customer.account_no if application.customer is not None else None,
            applicant_masked=mask_name(application.applicant_name),
            id_number_masked=mask_id_number(application.id_number),
            address_masked=mask_address(application.address),
            contact_phone_masked=mask_phone(application.contact_phone),
            usage_class=application.usage_class,
            industry=application.industry,
            load_nature=application.load_nature,
            requested_kva=application.requested_kva,
            households=application.households,
            supply_unit=application.supply_unit.name,
            accepted_unit=application.accepted_unit.name,
            accepted_at=clock.local(application.accepted_at),
            promised_by=clock.local(application.total_due_at),
            high_risk=application.high_risk,
            dishonest=application.dishonest,
            closed_at=clock.local(application.closed_at),
            version=application.version,
        )


class DocumentOut(Schema):
    kind: str
    label: str
    via_shared_data: bool
    note: str


class ApplicationDetailOut(ApplicationOut):
    equipment: list[dict[str, object]]
    documents: list[DocumentOut]
    nodes: list[NodeOut]


class WaitOut(Schema):
    node: str
    reason: str
    reason_label: str
    note: str
    since: dt.datetime

    @staticmethod
    def of(node: ApplicationNode, wait: NodeWait) -> WaitOut:
        return WaitOut(
            node=node.kind,
            reason=wait.reason,
            reason_label=wait.get_reason_display(),
            note=wait.note,
            since=clock.local(wait.started_at),
        )


class ApplicationProgressOut(Schema):
    """For the customer's self-service and the 95598 agent: where the application stands."""

    number: str
    app_type: str
    state: str
    current_node: str | None
    current_node_label: str | None
    current_owner_unit: str | None
    current_due_at: dt.datetime | None
    promised_by: dt.datetime | None
    customer_action_needed: bool
    customer_action: str
    waits: list[WaitOut]
    nodes: list[NodeOut]

    @staticmethod
    def of(answer: Progress, now: dt.datetime) -> ApplicationProgressOut:
        application, current = answer.application, answer.current
        return ApplicationProgressOut(
            number=application.number,
            app_type=application.app_type,
            state=application.state,
            current_node=current.kind if current is not None else None,
            current_node_label=current.get_kind_display() if current is not None else None,
            current_owner_unit=current.owner_unit.name if current is not None else None,
            current_due_at=clock.local(current.due_at) if current is not None else None,
            promised_by=clock.local(application.total_due_at),
            customer_action_needed=bool(answer.customer_action),
            customer_action=answer.customer_action,
            waits=[WaitOut.of(n, answer.waits[n.pk]) for n in answer.nodes if n.pk in answer.waits],
            nodes=[NodeOut.of(n, now) for n in answer.nodes],
        )


# --- figures (业扩报装统计) ---


class RateOut(Schema):
    key: str
    label: str
    counted: int
    met: int
    rate: Decimal | None = Field(None, description="percent, 2 decimals; null when nothing was rated")


class AverageOut(Schema):
    key: str
    label: str
    counted: int
    average_days: Decimal | None = Field(None, description="working days, net of customer waits")
    late: int


class UnitFiguresOut(Schema):
    unit: str
    unit_name: str
    hv: RateOut
    lv: RateOut
    energized: int
    average_days: Decimal | None


class FiguresOut(Schema):
    unit: str
    unit_name: str
    start: dt.date
    end: dt.date
    rates: list[RateOut]
    energized: int
    average_days: Decimal | None = Field(None, description="业扩平均接电时间, working days")
    nodes: list[AverageOut]
    types: list[AverageOut]
    overdue_running: int
    finished_late: int
    by_unit: list[UnitFiguresOut]

    @staticmethod
    def of(found: figures.Figures) -> FiguresOut:
        def rate(r: figures.Rate) -> RateOut:
            return RateOut(key=r.key, label=r.label, counted=r.counted, met=r.met, rate=r.rate)

        def avg(a: figures.Average) -> AverageOut:
            return AverageOut(
                key=a.key, label=a.label, counted=a.counted, average_days=a.average, late=a.late
            )

        sel = found.selection
        return FiguresOut(
            unit=sel.unit.code,
            unit_name=sel.unit.name,
            start=sel.start,
            end=sel.end,
            rates=[rate(r) for r in found.rates],
            energized=found.energized,
            average_days=found.average_days,
            nodes=[avg(a) for a in found.nodes],
            types=[avg(a) for a in found.types],
            overdue_running=found.overdue_running,
            finished_late=found.finished_late,
            by_unit=[
                UnitFiguresOut(
                    unit=u.unit.code,
                    unit_name=u.unit.name,
                    hv=rate(u.hv),
                    lv=rate(u.lv),
                    energized=u.days.counted,
                    average_days=u.days.average,
                )
                for u in found.by_unit
            ],
        )


class OverdueOut(Schema):
    number: str
    app_type: str
    category: str
    node: str
    owner_unit: str
    supply_unit: str
    due_at: dt.datetime
    finished_at: dt.datetime | None
    days_late: int

    @staticmethod
    def of(row: figures.OverdueRow) -> OverdueOut:
        return OverdueOut(
            number=row.number,
            app_type=row.app_type,
            category=row.category,
            node=row.node,
            owner_unit=row.owner_unit,
            supply_unit=row.supply_unit,
            due_at=clock.local(row.due_at),
            finished_at=clock.local(row.finished_at) if row.finished_at else None,
            days_late=row.days_late,
        )
