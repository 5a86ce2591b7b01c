"""What the nodes record, over the API (``/api/v1/applications/{number}/…``): the survey, the
supply-plan options and the customer's choice, the inspections and rectification, energization.
Thin: parse, call a verb of ``survey``, answer the application's records."""

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Field, Router, Schema

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.masking import mask_name
from gridcare.core.validation import CleanLine, CleanText, Flag
from gridcare.org.types import ApiRequest

from . import queries, survey
from .models import (
    AcceptanceInspection,
    Application,
    Energization,
    Metering,
    PlanOption,
    SignedVia,
    Supply,
    Survey,
    Voltage,
)

router = Router(tags=["applications"])

VERSION = Field(None, ge=1, le=2**31 - 1, description="the application's version you read")


class SurveyOut(Schema):
    possible: bool
    impossible_reason: str
    approved_kva: Decimal | None
    supply: str
    voltage: str
    grid_works: bool
    grid_works_note: str
    notes: str
    surveyed_at: dt.datetime


class OptionOut(Schema):
    id: int
    label: str
    source: str
    voltage: str
    property_boundary: str
    metering: str
    metering_label: str
    cost_yuan: Decimal
    construction_days: int
    note: str
    chosen: bool
    signed_by: str
    signed_at: dt.datetime | None
    signed_via: str


class InspectionOut(Schema):
    id: int
    node: str
    round: int
    result: str
    defects: list[str]
    accepting_unit: str
    departments: list[str]
    inspected_at: dt.datetime
    rectify_by: dt.date | None
    rectified_at: dt.datetime | None


class AcceptorOut(Schema):
    unit: str
    departments: list[str]
    capacity_kva: Decimal


class EnergizationOut(Schema):
    meters: list[dict[str, Any]]
    ct_ratio: str
    pt_ratio: str
    crew: str
    energized_at: dt.datetime


class RecordsOut(Schema):
    number: str
    version: int
    survey: SurveyOut | None
    plan_options: list[OptionOut]
    acceptance: AcceptorOut | None
    inspections: list[InspectionOut]
    energization: EnergizationOut | None


def _records(application: Application) -> RecordsOut:
    found = Survey.objects.filter(application=application).first()
    energized = Energization.objects.filter(application=application).first()
    try:
        who = survey.acceptor(application)
        acceptance = AcceptorOut(
            unit=who.unit.name, departments=who.departments, capacity_kva=survey.capacity(application)
        )
    except ApiError:  # no acceptance rule for this capacity: nothing to show
        acceptance = None
    return RecordsOut(
        number=application.number,
        version=application.version,
        survey=SurveyOut(
            possible=found.possible,
            impossible_reason=found.impossible_reason,
            approved_kva=found.approved_kva,
            supply=found.supply,
            voltage=found.voltage,
            grid_works=found.grid_works,
            grid_works_note=found.grid_works_note,
            notes=found.notes,
            surveyed_at=clock.local(found.surveyed_at),
        )
        if found
        else None,
        plan_options=[
            OptionOut(
                id=o.pk,
                label=o.label,
                source=o.source,
                voltage=o.voltage,
                property_boundary=o.property_boundary,
                metering=o.metering,
                metering_label=o.get_metering_display(),
                cost_yuan=o.cost_yuan,
                construction_days=o.construction_days,
                note=o.note,
                chosen=o.chosen,
                signed_by=mask_name(o.signed_by) if o.signed_by else "",
                signed_at=clock.local(o.signed_at) if o.signed_at else None,
                signed_via=o.signed_via,
            )
            for o in PlanOption.objects.filter(application=application)
        ],
        acceptance=acceptance,
        inspections=[
            InspectionOut(
                id=i.pk,
                node=i.node,
                round=i.round,
                result=i.result,
                defects=list(i.defects or []),
                accepting_unit=i.accepting_unit.name,
                departments=list(i.departments or []),
                inspected_at=clock.local(i.inspected_at),
                rectify_by=i.rectify_by,
                rectified_at=clock.local(i.rectified_at) if i.rectified_at else None,
            )
            for i in AcceptanceInspection.objects.filter(application=application).select_related(
                "accepting_unit"
            )
        ],
        energization=EnergizationOut(
            meters=list(energized.meters),
            ct_ratio=energized.ct_ratio,
            pt_ratio=energized.pt_ratio,
            crew=energized.crew,
            energized_at=clock.local(energized.energized_at),
        )
        if energized
        else None,
    )


def _answer(request: ApiRequest, number: str) -> RecordsOut:
    return _records(queries.get_application(request.auth, number))


@router.get(
    "/{number}/records", response=RecordsOut, summary="Survey, plan options, inspections, energization"
)
def records(request: ApiRequest, number: str) -> RecordsOut:
    """What the nodes recorded, and who accepts the customer's works (四级验收) by its capacity."""
    return _answer(request, number)


@router.get("/{number}/survey", response=RecordsOut, summary="The survey and the other node records")
def get_survey(request: ApiRequest, number: str) -> RecordsOut:
    """The same answer as `records`, at the survey's own address (what `POST …/survey` writes)."""
    return _answer(request, number)


class SurveyIn(Schema):
    version: int | None = VERSION
    possible: Flag
    voltage: Voltage
    supply: Supply = Supply.SINGLE
    approved_kva: Decimal | None = Field(None, gt=0, lt=10**8, max_digits=10, decimal_places=1)
    impossible_reason: CleanText = Field("", max_length=2000)
    grid_works: Flag = False
    grid_works_note: CleanLine = Field("", max_length=300)
    notes: CleanText = Field("", max_length=4000)


@router.post("/{number}/survey", response=RecordsOut, summary="Record the survey (现场勘查)")
def record_survey(request: ApiRequest, number: str, body: SurveyIn) -> RecordsOut:
    """Whether supply is possible (or why not), the approved capacity, supply mode and voltage,
    whether grid works are needed. Finishing the survey node needs it (409 `survey_missing`);
    where supply is not possible the application is cancelled with the reason (409
    `supply_impossible` on finishing)."""
    application = queries.get_application(request.auth, number)
    survey.record_survey(
        application=application,
        actor=request.auth,
        version=body.version,
        survey=survey.SurveyIn(
            possible=body.possible,
            voltage=body.voltage,
            supply=body.supply,
            approved_kva=body.approved_kva,
            impossible_reason=body.impossible_reason,
            grid_works=body.grid_works,
            grid_works_note=body.grid_works_note,
            notes=body.notes,
        ),
    )
    return _answer(request, number)


class OptionIn(Schema):
    version: int | None = VERSION
    label: CleanLine = Field(..., min_length=1, max_length=40)
    source: CleanLine = Field(..., min_length=1, max_length=120, description="substation and feeder")
    voltage: Voltage
    property_boundary: CleanLine = Field(..., min_length=1, max_length=120)
    metering: Metering
    cost_yuan: Decimal = Field(..., ge=0, lt=10**10, max_digits=12, decimal_places=2)
    construction_days: int = Field(..., ge=1, le=3650)
    note: CleanLine = Field("", max_length=300)


@router.post("/{number}/plan-options", response=RecordsOut, summary="Add a supply-plan option (供电方案)")
def add_option(request: ApiRequest, number: str, body: OptionIn) -> RecordsOut:
    application = queries.get_application(request.auth, number)
    survey.add_option(
        application=application,
        actor=request.auth,
        version=body.version,
        option=survey.OptionIn(
            label=body.label,
            source=body.source,
            voltage=body.voltage,
            property_boundary=body.property_boundary,
            metering=body.metering,
            cost_yuan=body.cost_yuan,
            construction_days=body.construction_days,
            note=body.note,
        ),
    )
    return _answer(request, number)


class ChooseIn(Schema):
    version: int | None = VERSION
    signed_by: CleanLine = Field(..., min_length=1, max_length=60, description="the customer who signed")
    signed_via: SignedVia


@router.post(
    "/{number}/plan-options/{option_id}/choose",
    response=RecordsOut,
    summary="The customer's choice, signed off",
)
def choose_option(request: ApiRequest, number: str, option_id: int, body: ChooseIn) -> RecordsOut:
    """Choosing another option later switches the choice; the plan reply is finished only with a
    chosen and signed option (409 `plan_not_chosen`)."""
    application = queries.get_application(request.auth, number)
    survey.choose_option(
        application=application,
        actor=request.auth,
        option_id=option_id,
        signed_by=body.signed_by,
        signed_via=body.signed_via,
        version=body.version,
    )
    return _answer(request, number)


class InspectionIn(Schema):
    version: int | None = VERSION
    node: Literal["mid_inspection", "completion_inspection"]
    passed: Flag
    defects: list[CleanLine] = Field(default_factory=list, max_length=50)
    rectify_days: int = Field(0, ge=0, le=180)
    note: CleanText = Field("", max_length=2000)


@router.post(
    "/{number}/inspections", response=RecordsOut, summary="Record an inspection (中间检查、竣工检验)"
)
def record_inspection(request: ApiRequest, number: str, body: InspectionIn) -> RecordsOut:
    """By the accepting unit of 四级验收 (below 50 kVA the supply station, from 50 kVA the
    county's customer service center with the departments of the voltage level; 403
    `not_node_owner` otherwise). A failed one lists its defects and a rectification deadline and
    stops only that node's clock (客户整改)."""
    application = queries.get_application(request.auth, number)
    survey.record_inspection(
        application=application,
        actor=request.auth,
        version=body.version,
        inspection=survey.InspectionIn(
            node=body.node,
            passed=body.passed,
            defects=body.defects,
            rectify_days=body.rectify_days,
            note=body.note,
        ),
    )
    return _answer(request, number)


class RectifiedIn(Schema):
    version: int | None = VERSION


@router.post(
    "/{number}/inspections/{ref}/rectified",
    response=RecordsOut,
    summary="The customer reports rectification done",
)
def rectified(request: ApiRequest, number: str, ref: str, body: RectifiedIn) -> RecordsOut:
    """`ref`: the failed inspection's `id` (as `records` answers it), or its node
    (`mid_inspection`, `completion_inspection`). Resumes that node's clock; the re-inspection
    follows. 409 `illegal_transition` when it is not the node's last, failed, unrectified round."""
    application = queries.get_application(request.auth, number)
    if ref.isdigit():
        survey.rectified(
            application=application, actor=request.auth, inspection_id=int(ref), version=body.version
        )
    else:
        survey.rectified(application=application, actor=request.auth, node=ref, version=body.version)
    return _answer(request, number)


class RegisterIn(Schema):
    name: CleanLine = Field(..., min_length=1, max_length=20, description="正向有功总, 峰, 谷 …")
    reading: Decimal = Field(..., ge=0, lt=10**9, max_digits=14, decimal_places=2)


class MeterIn(Schema):
    asset_no: CleanLine = Field(..., min_length=1, max_length=30)
    kind: CleanLine = Field("", max_length=30)
    registers: list[RegisterIn] = Field(..., min_length=1, max_length=12)


class EnergizationIn(Schema):
    version: int | None = VERSION
    meters: list[MeterIn] = Field(..., min_length=1, max_length=20)
    crew: CleanLine = Field(..., min_length=1, max_length=100)
    ct_ratio: CleanLine = Field("", max_length=20)
    pt_ratio: CleanLine = Field("", max_length=20)


@router.post("/{number}/energization", response=RecordsOut, summary="Record energization (装表接电)")
def record_energization(request: ApiRequest, number: str, body: EnergizationIn) -> RecordsOut:
    application = queries.get_application(request.auth, number)
    survey.record_energization(
        application=application,
        actor=request.auth,
        version=body.version,
        energization=survey.EnergizationIn(
            meters=[m.model_dump(mode="json") for m in body.meters],
            crew=body.crew,
            ct_ratio=body.ct_ratio,
            pt_ratio=body.pt_ratio,
        ),
    )
    return _answer(request, number)
