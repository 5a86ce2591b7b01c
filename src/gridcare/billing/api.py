"""Billing over the API: a customer's money position, bills and "why is my bill high" (for the agent,
the IVR and the app), and the monthly calculation runs (calculate, review, release, correct).
Thin — parse, call a verb or a query, answer. Errors are ``{code, message}`` (4xx)."""

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from ninja import Router, Status
from ninja.pagination import paginate

from gridcare.core import paging
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import ApiRequest

from . import answers, runs
from .models import Anomaly, BillingRun
from .schemas import (
    AnomalyOut,
    BillDetailOut,
    CorrectionIn,
    ExplanationOut,
    PositionOut,
    ReviewIn,
    RunDetailOut,
    RunIn,
    RunOut,
    month_of,
)

router = Router(tags=["billing"])
runs_router = Router(tags=["billing"])


@router.get(
    "/customers/{account_no}", response=PositionOut, summary="A customer's money position (余额、欠费)"
)
def customer_position(request: ApiRequest, account_no: str) -> PositionOut:
    """Arrears, money paid ahead, the open bills and the last 13, any disconnection or
    reconnection under way, and the payment points nearest the customer."""
    return PositionOut.of(answers.position(request.auth, account_no))


@router.get("/bills/{number}", response=BillDetailOut, summary="A bill with its lines")
def get_bill(request: ApiRequest, number: str) -> BillDetailOut:
    return BillDetailOut.of(answers.bill_for(request.auth, number))


@router.get(
    "/bills/{number}/explanation",
    response=ExplanationOut,
    summary="Why the bill is what it is (电费为什么高)",
)
def explain_bill(request: ApiRequest, number: str) -> ExplanationOut:
    """Usage against last month and the same month last year, days in the period, tier position
    and kWh left in the band, time-of-use split, price changes, estimated readings; the reasons
    in Chinese, the costliest first."""
    return ExplanationOut.of(answers.explain(answers.bill_for(request.auth, number)))


@router.post(
    "/bills/{number}/correction",
    response={201: BillDetailOut},
    summary="Correct a released bill from a corrected reading (退补)",
)
def correct_bill(request: ApiRequest, number: str, body: CorrectionIn) -> Status[BillDetailOut]:
    bill = answers.bill_for(request.auth, number)
    correction = runs.correct_bill(
        actor=request.auth, bill=bill, corrected_total=body.corrected_total, reason=body.reason
    )
    return Status(201, BillDetailOut.of(answers.bill_for(request.auth, correction.number)))


def _unit(request: ApiRequest, code: str) -> Unit:
    unit = scoping.unit_by_code(request.auth, code)
    if unit is None:
        raise ApiError(ErrorCode.INVALID_UNIT, "Unknown unit, or outside your scope.", status=422)
    return unit


def _run(request: ApiRequest, run_id: int) -> BillingRun:
    run = get_object_or_404(BillingRun.objects.select_related("unit"), pk=run_id)
    return scoping.require_in_scope(run, request.auth, "unit_id")


def _detail(run: BillingRun) -> RunDetailOut:
    open_ones = (
        Anomaly.objects.filter(run=run, state=Anomaly.State.OPEN)
        .select_related("bill__customer")
        .order_by("id")[:500]
    )
    return RunDetailOut(**RunOut.of(run).model_dump(), open_anomalies=[AnomalyOut.of(a) for a in open_ones])


@runs_router.post("", response={201: RunDetailOut}, summary="Calculate a unit's month (电费核算)")
def calculate(request: ApiRequest, body: RunIn) -> Status[RunDetailOut]:
    """Opens the run of (month, unit), or calculates again a run not yet released (its drafts
    replaced). 409 once released."""
    run = runs.calculate_month(
        actor=request.auth, unit=_unit(request, body.unit), period=month_of(body.period)
    )
    return Status(201, _detail(run))


RunPage = paging.mapped(lambda rows: [RunOut.of(r) for r in rows])


@runs_router.get("", response=list[RunOut], summary="Calculation runs in your scope")
@paginate(RunPage)
def list_runs(request: ApiRequest) -> QuerySet[Any]:
    return scoping.restrict(BillingRun.objects.select_related("unit"), request.auth, "unit_id").order_by(
        "-period", "unit__code"
    )


@runs_router.get("/{run_id}", response=RunDetailOut, summary="A run with its open anomalies")
def get_run(request: ApiRequest, run_id: int) -> RunDetailOut:
    return _detail(_run(request, run_id))


@runs_router.post("/{run_id}/release", response=RunOut, summary="Issue the run's bills")
def release(request: ApiRequest, run_id: int) -> RunOut:
    """409 `anomalies_open` while an anomaly waits for review."""
    return RunOut.of(runs.release(actor=request.auth, run=_run(request, run_id)))


@runs_router.post(
    "/{run_id}/anomalies/{anomaly_id}/review", response=AnomalyOut, summary="Accept or correct an anomaly"
)
def review(request: ApiRequest, run_id: int, anomaly_id: int, body: ReviewIn) -> AnomalyOut:
    run = _run(request, run_id)
    anomaly = get_object_or_404(
        Anomaly.objects.select_related("bill__customer", "run__unit"), pk=anomaly_id, run=run
    )
    decided = runs.review(
        actor=request.auth,
        anomaly=anomaly,
        accept=body.decision == "accept",
        note=body.note,
        corrected_total=body.corrected_total,
    )
    return AnomalyOut.of(Anomaly.objects.select_related("bill__customer").get(pk=decided.pk))
