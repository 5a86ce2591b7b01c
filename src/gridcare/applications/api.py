"""Business applications over the API (``/api/v1/applications``): thin — parse, call a verb or a
query, answer. Errors are ``{code, message}`` (4xx)."""

from typing import Any, Literal

from django.db.models import Q, QuerySet
from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from gridcare.core import clock, paging
from gridcare.core.api_errors import (
    ApiError,
    ErrorCode,
    idempotency_key,
    request_fingerprint,
    stored_idempotency_key,
)
from gridcare.core.validation import CleanLine, Flag, LocalDate
from gridcare.customers.queries import get_customer_for_intake
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import ApiRequest

from . import figures, queries, services, views_documents
from .models import Application, ApplicationState, ApplicationType, NodeKind
from .schemas import (
    ApplicationActionIn,
    ApplicationDetailOut,
    ApplicationIn,
    ApplicationOut,
    ApplicationProgressOut,
    DocumentOut,
    FiguresOut,
    NodeActionIn,
    NodeOut,
    OverdueOut,
)

router = Router(tags=["applications"])


def _detail(application: Application) -> ApplicationDetailOut:
    now = clock.now()
    base = ApplicationOut.of(application).model_dump()
    return ApplicationDetailOut(
        **base,
        equipment=list(application.equipment),
        documents=[
            DocumentOut(
                kind=d.kind, label=d.get_kind_display(), via_shared_data=d.via_shared_data, note=d.note
            )
            for d in application.documents.all()
        ],
        nodes=[NodeOut.of(n, now) for n in queries.nodes_of(application)],
    )


def _supply_unit(request: ApiRequest, code: str | None) -> Unit | None:
    if not code:
        return None
    unit = scoping.unit_by_code(request.auth, code)
    if unit is None:
        raise ApiError(ErrorCode.INVALID_UNIT, "Unknown supply unit, or outside your scope.", status=422)
    return unit


@router.post(
    "",
    response={201: ApplicationDetailOut, 200: ApplicationDetailOut},
    summary="Accept an application (受理)",
)
def create_application(request: ApiRequest, body: ApplicationIn) -> Status[ApplicationDetailOut]:
    """Honours `Idempotency-Key`: the same key with the same body answers the first application
    (200); with another body 422 `idempotency_key_reused`. The path of nodes, their owners and
    limits come from the rule data (type × customer category × supply × voltage)."""
    key = idempotency_key(request)
    customer = get_customer_for_intake(request.auth, body.account_no) if body.account_no else None
    intake = services.Intake(
        app_type=body.app_type,
        applicant_name=body.applicant_name,
        id_type=body.id_type,
        id_number=body.id_number,
        address=body.address,
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
        usage_class=body.usage_class,
        requested_kva=body.requested_kva,
        supply=body.supply,
        industry=body.industry,
        load_nature=body.load_nature,
        households=body.households,
        equipment=[e.model_dump(mode="json") for e in body.equipment],
        documents=[services.Document(d.kind, d.via_shared_data, d.note) for d in body.documents],
        channel=body.channel,
        high_risk=body.high_risk,
        dishonest=body.dishonest,
        green_channel=body.green_channel,
        handed_in_by_account_manager=body.handed_in_by_account_manager,
        customer=customer,
        supply_unit=_supply_unit(request, body.supply_unit),
    )
    application, created = services.accept_application(
        actor=request.auth,
        intake=intake,
        idempotency_key=stored_idempotency_key(request.auth, key, "applications"),
        request_fingerprint=request_fingerprint(request) if key else "",
    )
    if not created:
        scoping.require_in_scope(application, request.auth, queries.UNIT_FIELDS)
    return Status(201 if created else 200, _detail(application))


class ListFilters(Schema):
    number: CleanLine = Field("", max_length=30, description="exact or a prefix")
    app_type: ApplicationType | None = None
    state: ApplicationState | None = None
    node: NodeKind | None = Field(None, description="the current node")
    open_only: bool = Field(True, description="only when no state is given")
    overdue: bool = Field(False, description="a node's clock is past its due time")
    my_customers: bool = Field(
        False, description="an account manager's own: their key customers' and those they handed in"
    )


ApplicationPage = paging.mapped(lambda rows: [ApplicationOut.of(a) for a in rows])


@router.get("", response=list[ApplicationOut], summary="Applications in your scope (业扩查询)")
@paginate(ApplicationPage)
def list_applications(request: ApiRequest, filters: Query[ListFilters]) -> QuerySet[Application]:
    """Priority first (account manager, green channel), then the oldest. An application outside
    your scope never appears."""
    qs = queries.visible_applications(request.auth).select_related("path")
    if filters.my_customers:
        qs = qs.filter(queries.my_customers(request.auth))
    if filters.number:
        qs = qs.filter(number__startswith=filters.number)
    if filters.app_type:
        qs = qs.filter(app_type=filters.app_type)
    if filters.state:
        qs = qs.filter(state=filters.state)
    elif filters.open_only:
        qs = qs.filter(state=ApplicationState.IN_PROGRESS)
    if filters.node:
        qs = qs.filter(current_node=filters.node)
    if filters.overdue:
        late = Q(nodes__finished_at__isnull=True, nodes__due_at__lt=clock.now())
        qs = qs.filter(pk__in=Application.objects.filter(late).values("pk"))
    return qs.order_by("-priority", "accepted_at", "id")


class FigureFilters(Schema):
    unit: CleanLine = Field("", max_length=40, description="a unit code in your scope (default: your unit)")
    start: LocalDate | None = Field(None, description="first local date (default: the 1st of this month)")
    end: LocalDate | None = Field(None, description="last local date, included (default: today)")


def _selection(request: ApiRequest, filters: FigureFilters) -> figures.Selection:
    return figures.select(request.auth, unit_code=filters.unit, start=filters.start, end=filters.end)


@router.get("/figures", response=FiguresOut, summary="达标率 and average working days (业扩报装统计)")
def get_figures(request: ApiRequest, filters: Query[FigureFilters]) -> FiguresOut:
    """SG186's 达标率 — HV: all five timed nodes within their limits; LV: accept → energize within
    the path's total — net of customer waits, over the applications energized in the period whose
    supply unit lies in the unit's subtree; average working days per node and per type; the
    counts of the overdue lists. A unit outside your scope is 404."""
    return FiguresOut.of(figures.figures(request.auth, _selection(request, filters)))


class OverdueFilters(FigureFilters):
    which: Literal["running", "finished"] = Field(
        "running", description="running: clocks past due now; finished: nodes finished late in the period"
    )


def _overdue_rows(rows: list[Any]) -> list[OverdueOut]:
    now = clock.now()
    return [OverdueOut.of(figures.overdue_row(n, now)) for n in rows]


OverduePage = paging.mapped(_overdue_rows)


@router.get("/figures/overdue", response=list[OverdueOut], summary="Overdue nodes (超期清单)")
@paginate(OverduePage)
def list_overdue(request: ApiRequest, filters: Query[OverdueFilters]) -> QuerySet[Any]:
    """``running``: node clocks past due now (a paused clock counted to its pause); ``finished``:
    nodes finished late in the period. Most overdue first."""
    return figures.overdue_nodes(request.auth, _selection(request, filters), filters.which)


@router.get("/{number}", response=ApplicationDetailOut, summary="One application with its nodes")
def get_application(request: ApiRequest, number: str) -> ApplicationDetailOut:
    return _detail(queries.get_application(request.auth, number))


@router.get(
    "/{number}/progress", response=ApplicationProgressOut, summary="Where the application stands (进度查询)"
)
def get_progress(request: ApiRequest, number: str) -> ApplicationProgressOut:
    """The nodes with their due dates, the current node and its owner unit, the promised date,
    and what the customer has to do now (a wait for them, or a request only they can make)."""
    application = queries.get_application(request.auth, number)
    return ApplicationProgressOut.of(queries.progress(application), clock.now())


@router.post(
    "/{number}/nodes/{node}/actions/{action}",
    response=ApplicationDetailOut,
    summary="Act on a node (登记起算、完成环节、客户原因中止、恢复计时)",
)
def act_on_node(
    request: ApiRequest, number: str, node: str, action: str, body: NodeActionIn
) -> ApplicationDetailOut:
    """`start` records the customer's request (送审/报验) or the formalities on a node whose clock
    waits for it; `finish` completes the node and opens the next; `wait` (with `reason`) stops
    only this node's clock for a customer-caused wait; `resume` restarts it, its due date moved
    by the working days lost."""
    application = queries.get_application(request.auth, number)
    payload: dict[str, Any] = {"reason": body.reason} if body.reason else {}
    services.act_on_node(
        application=application,
        node=node,
        action=action,
        actor=request.auth,
        version=body.version,
        note=body.note,
        **payload,
    )
    return _detail(queries.get_application(request.auth, number))


@router.get(
    "/{number}/documents/{kind}",
    response={200: None},
    summary="A form as PDF (用电申请书, 勘查工作单, 供电方案答复单, 验收单, 供用电合同)",
    openapi_extra={"responses": {200: {"content": {"application/pdf": {}}}}},
)
def document(request: ApiRequest, number: str, kind: str) -> HttpResponse:
    """`kind`: `application`, `survey`, `plan`, `acceptance`, `contract` — each once the
    application has reached it (404 before). Personal data printed in full only for roles that
    may see it; every print audited."""
    application = queries.get_application(request.auth, number)
    return views_documents.response(application, kind, request.auth, request)


class GreenChannelIn(Schema):
    version: int | None = Field(None, ge=1, le=2**31 - 1)
    on: Flag
    reason: CleanLine = Field("", max_length=500)


@router.post(
    "/{number}/green-channel", response=ApplicationDetailOut, summary="绿色通道 on or off (重点项目)"
)
def green_channel(request: ApiRequest, number: str, body: GreenChannelIn) -> ApplicationDetailOut:
    """A manager opens (or closes) the green channel for a key project, with the reason; the
    application then goes before ordinary ones in every queue. Recorded in the history."""
    application = queries.get_application(request.auth, number)
    services.set_green_channel(
        application=application, actor=request.auth, on=body.on, reason=body.reason, version=body.version
    )
    return _detail(queries.get_application(request.auth, number))


@router.post(
    "/{number}/actions/{action}", response=ApplicationDetailOut, summary="Act on the application (终止)"
)
def act(request: ApiRequest, number: str, action: str, body: ApplicationActionIn) -> ApplicationDetailOut:
    application = queries.get_application(request.auth, number)
    services.act(
        application=application, action=action, actor=request.auth, version=body.version, note=body.note
    )
    return _detail(queries.get_application(request.auth, number))
