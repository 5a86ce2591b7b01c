"""Pages of 业扩报装 (issue 18 items 7 and 10): the list, 受理, the detail with its node actions,
the customer's progress, and the 95598 card's slot. Thin: every change calls the same verbs as
the API (``services``), every read goes through the scoping door (``queries``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse, HttpResponseBase, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridcare.core import audit, clock
from gridcare.core.api_errors import ApiError, stored_idempotency_key
from gridcare.core.masking import mask_address, mask_id_number, mask_name, mask_phone
from gridcare.core.models import AuditLog
from gridcare.customers.queries import get_customer, normalize_phone
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Actor, StaffRequest

from . import documents as paper
from . import queries, services
from .forms import EQUIPMENT_ROWS, AcceptForm, NodeActionForm, fingerprint, new_form_token
from .models import (
    Application,
    ApplicationNode,
    ApplicationState,
    ApplicationType,
    DocumentKind,
    NodeKind,
    NodeState,
)
from .rules import clock_awaits_request, clock_to_stop, owner_unit_within_reach, request_recorded
from .transitions import APPLICATIONS, EVENT_LABELS, NODES

PAGE_SIZE = 50
# Who sees 业扩报装 in the menu and on the home page (the pages themselves are scoped, not gated:
# a 95598 agent reads an application's progress from the customer card).
USERS = ("business_clerk", "account_manager", "manager", "admin")
# Guards about who and when (not about input): a button is offered only when they pass.
SCREEN = (owner_unit_within_reach, clock_awaits_request, request_recorded, clock_to_stop)


# --- the list ----------------------------------------------------------------------------------


def unit_choices(user: Actor, active_unit: Unit | None = None) -> list[tuple[str, str]]:
    """The supply stations in the user's scope (the list's filter and 受理's supply unit)."""
    units = scoping.visible_units(user, active_unit).filter(kind=Unit.Kind.STATION, is_active=True)
    return [(str(u.pk), u.name) for u in units.order_by("path")[:300]]


def filtered(request: StaffRequest, user: Actor) -> tuple[QuerySet[Application], dict[str, str]]:
    g = request.GET
    f = {k: g.get(k, "").strip()[:30] for k in ("number", "type", "node", "state", "overdue", "near", "unit")}
    qs = queries.visible_applications(user, request.active_unit)
    now = clock.now()
    if f["number"]:
        qs = qs.filter(number__startswith=f["number"].upper())
    if f["type"] in ApplicationType.values:
        qs = qs.filter(app_type=f["type"])
    if f["node"] in NodeKind.values:
        qs = qs.filter(current_node=f["node"])
    if f["state"] in ApplicationState.values:
        qs = qs.filter(state=f["state"])
    elif f["state"] != "all":
        qs = qs.filter(state=ApplicationState.IN_PROGRESS)
    if f["overdue"] == "1":
        qs = queries.overdue_only(qs, now)
    if f["near"] == "1":
        qs = queries.near_due_only(qs, now)
    if f["unit"].isdigit():
        unit = Unit.objects.filter(pk=int(f["unit"])).first()
        if unit is not None:
            below = unit.subtree()
            qs = qs.filter(Q(supply_unit__in=below) | Q(accepted_unit__in=below))
    return qs.order_by("-priority", "accepted_at", "id"), f


def _current_nodes(applications: list[Application]) -> dict[int, ApplicationNode]:
    by_app: dict[int, ApplicationNode] = {}
    nodes = ApplicationNode.objects.filter(application__in=applications).select_related("owner_unit")
    current = {a.pk: a.current_node for a in applications}
    for n in nodes:
        if current.get(n.application_id) == n.kind:
            by_app[n.application_id] = n
    return by_app


@login_required
def application_list(request: StaffRequest) -> HttpResponse:
    """业扩报装: the applications of my scope, priority first, then the oldest."""
    user = scoping.signed_in(request.user)
    qs, f = filtered(request, user)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    apps = list(page.object_list)
    nodes = _current_nodes(apps)
    now = clock.now()
    rows = []
    for a in apps:
        node = nodes.get(a.pk)
        rows.append(
            {
                "a": a,
                "applicant": mask_name(a.applicant_name),
                "node": node,
                "left": node.seconds_left(now) if node is not None else None,
            }
        )
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "rows": rows,
        "page": page,
        "f": f,
        "params": params.urlencode(),
        "types": ApplicationType.choices,
        "nodes": NodeKind.choices,
        "states": ApplicationState.choices,
        "units": unit_choices(user, request.active_unit),
        "can_accept": scoping.has_role(user, *services.ACCEPT_ROLES),
    }
    template = "applications/_list_table.html" if request.htmx else "applications/list.html"
    return render(request, template, context)


# --- 受理 ----------------------------------------------------------------------------------------


def _accept_context(form: AcceptForm) -> dict[str, Any]:
    rows = form.equipment_rows or [{} for _ in range(EQUIPMENT_ROWS)]
    data = form.data if form.is_bound else {}
    docs = [
        {
            "kind": kind,
            "label": label,
            "checked": data.get(f"doc-{kind}") == "on",
            "shared": data.get(f"doc-{kind}-shared") == "on",
            "note": data.get(f"doc-{kind}-note", ""),
        }
        for kind, label in DocumentKind.choices
    ]
    return {"form": form, "equipment_rows": rows, "documents": docs}


@login_required
def accept(request: StaffRequest) -> HttpResponseBase:
    """受理: all of SG186's fields. A hidden form token is the idempotency key: a double click or a
    resubmitted page answers the application the first click created."""
    actor = scoping.signed_in(request.user)
    if not scoping.has_role(actor, *services.ACCEPT_ROLES):
        raise PermissionDenied
    units = unit_choices(actor, request.active_unit)
    if request.method != "POST":
        form = AcceptForm(
            initial={"form_token": new_form_token(), "account_no": request.GET.get("account_no", "")},
            unit_choices=units,
        )
        return render(request, "applications/accept.html", _accept_context(form))
    form = AcceptForm(request.POST, unit_choices=units)
    equipment = form.equipment(request.POST)
    documents = form.documents(request.POST)
    if form.is_valid() and not form.equipment_errors:
        data = form.cleaned_data
        customer = None
        if data["account_no"]:
            try:
                customer = get_customer(actor, data["account_no"], active_unit=request.active_unit)
            except Http404:
                form.add_error("account_no", _("在您的管辖范围内没有该户号"))
        supply_unit = None
        if data["supply_unit"]:
            supply_unit = Unit.objects.filter(pk=int(data["supply_unit"])).first()
        if form.is_valid():
            intake = services.Intake(
                app_type=data["app_type"],
                applicant_name=data["applicant_name"],
                id_type=data["id_type"],
                id_number=data["id_number"],
                address=data["address"],
                contact_name=data["contact_name"],
                contact_phone=data["contact_phone"],
                usage_class=data["usage_class"],
                requested_kva=data["requested_kva"],
                supply=data["supply"],
                industry=data["industry"],
                load_nature=data["load_nature"],
                households=data["households"],
                equipment=equipment,
                documents=[services.Document(kind, shared, note) for kind, shared, note in documents],
                channel=data["channel"],
                high_risk=data["high_risk"],
                dishonest=data["dishonest"],
                green_channel=data["green_channel"],
                handed_in_by_account_manager=data["handed_in_by_account_manager"],
                customer=customer,
                supply_unit=supply_unit,
            )
            try:
                application, created = services.accept_application(
                    actor=actor,
                    intake=intake,
                    idempotency_key=stored_idempotency_key(actor, data["form_token"], "applications-page"),
                    request_fingerprint=fingerprint(request.POST),
                    active_unit=request.active_unit,
                )
            except ApiError as exc:
                if exc.status == 422 and exc.code == "idempotency_key_reused":
                    form.add_error(None, _("此表单已提交过，请刷新页面后重新填写"))
                else:
                    form.add_error(None, exc.message)
            else:
                if created:
                    messages.success(
                        request, _("用电申请 %(number)s 已受理") % {"number": application.number}
                    )
                else:
                    scoping.require_in_scope(application, actor, queries.UNIT_FIELDS, request.active_unit)
                    messages.info(request, _("该申请已受理（重复提交未再次受理）"))
                return redirect("applications:detail", number=application.number)
    return render(request, "applications/accept.html", _accept_context(form), status=422)


# --- detail and actions ------------------------------------------------------------------------


def _node_rows(application: Application, actor: Actor, nodes: list[ApplicationNode]) -> list[dict[str, Any]]:
    now = clock.now()
    waits: dict[int, list[Any]] = {}
    from .models import NodeWait

    for w in NodeWait.objects.filter(node__application=application).order_by("started_at", "id"):
        waits.setdefault(w.node_id, []).append(w)
    rows = []
    for n in nodes:
        n.application = application
        left = n.seconds_left(now)
        offered = NODES.available(n, actor, screen=SCREEN) if application.is_open else []
        rows.append(
            {
                "n": n,
                "left": left,
                "overdue": left is not None and left < 0,
                "late": n.on_time is False,
                "current": n.kind == application.current_node,
                "waits": waits.get(n.pk, []),
                "actions": offered,
                "awaits_request": n.definition.clock_starts in ("customer_request", "formalities_complete")
                and n.started_at is None
                and n.state == NodeState.OPEN,
            }
        )
    return rows


def _events(application: Application) -> list[dict[str, Any]]:
    labels = {t.history_action: t.label for wf in (NODES, APPLICATIONS) for t in wf.transitions}
    labels.update(EVENT_LABELS)
    node_labels = dict(NodeKind.choices)
    states = {**dict(NodeState.choices), **dict(ApplicationState.choices)}
    return [
        {
            "e": e,
            "label": labels.get(e.action, e.action),
            "node": node_labels.get(e.node, ""),
            "from": states.get(e.from_state, ""),
            "to": states.get(e.to_state, ""),
        }
        for e in application.events.select_related("actor", "actor_unit").order_by("at", "id")
    ]


def _detail_context(request: StaffRequest, application: Application) -> dict[str, Any]:
    actor = scoping.signed_in(request.user)
    nodes = queries.nodes_of(application)
    progress = queries.progress(application)
    return {
        "a": application,
        "masked": {
            "applicant": mask_name(application.applicant_name),
            "id_number": mask_id_number(application.id_number),
            "address": mask_address(application.address),
            "contact": mask_name(application.contact_name),
            "phone": mask_phone(application.contact_phone),
        },
        "can_reveal": scoping.can_see_personal_data(actor),
        "documents": list(application.documents.all()),
        "printable": paper.available(application),
        "nodes": _node_rows(application, actor, nodes),
        "events": _events(application),
        "customer_action": progress.customer_action,
        "app_actions": APPLICATIONS.available(application, actor) if application.is_open else [],
    }


@login_required
def detail(request: StaffRequest, number: str) -> HttpResponse:
    application = queries.get_application(request.user, number, request.active_unit)
    return render(request, "applications/detail.html", _detail_context(request, application))


@login_required
@require_POST
def reveal(request: StaffRequest, number: str) -> HttpResponse:
    """htmx: the applicant's full personal data for a role that needs it; written to the audit log."""
    application = queries.get_application(request.user, number, request.active_unit)
    actor = scoping.signed_in(request.user)
    if not scoping.can_see_personal_data(actor):
        return HttpResponseForbidden(_("您的岗位无权查看完整个人信息"))
    audit.record(
        action=AuditLog.Action.VIEW_SENSITIVE,
        actor=actor,
        obj=application,
        request=request,
        detail={"fields": ["applicant_name", "id_number", "address", "contact_name", "contact_phone"]},
    )
    return render(request, "applications/_personal_data.html", {"a": application})


def _done(request: StaffRequest, application: Application, label: Any) -> HttpResponse:
    messages.success(request, _("已办理：%(action)s") % {"action": label})
    url = reverse("applications:detail", args=[application.number])
    if not request.htmx:
        return redirect(url)
    response = HttpResponse(status=204)
    response["HX-Redirect"] = url
    return response


def _action_form(
    request: StaffRequest,
    application: Application,
    form: NodeActionForm,
    *,
    post_url: str,
    title: str,
    needs_note: bool,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {"a": application, "form": form, "post_url": post_url, "title": title, "needs_note": needs_note}
    context["error"] = error
    if not request.htmx and request.method == "POST":
        if error:
            messages.error(request, error)
        return redirect("applications:detail", number=application.number)
    return render(request, "applications/_action_form.html", context, status=status)


@login_required
def node_action(request: StaffRequest, number: str, node: str, action: str) -> HttpResponseBase:
    """GET: the form of one node action (htmx); POST: carry it out through ``services.act_on_node``
    with the version the page was read at (409 shown as a message: someone else changed it)."""
    application = queries.get_application(request.user, number, request.active_unit)
    try:
        transition = NODES.transition(action)
    except ApiError as exc:
        raise Http404(exc.message) from exc
    if node not in NodeKind.values:
        raise Http404
    actor = scoping.signed_in(request.user)
    title = f"{NodeKind(node).label} · {transition.label}"
    post_url = reverse("applications:node_action", args=[number, node, action])
    if request.method != "POST":
        form = NodeActionForm(initial={"version": application.version}, fields=transition.fields)
        return _action_form(request, application, form, post_url=post_url, title=title, needs_note=False)
    form = NodeActionForm(request.POST, fields=transition.fields)
    if not form.is_valid():
        return _action_form(
            request, application, form, post_url=post_url, title=title, needs_note=False,
            error=_("请检查填写的内容"), status=422,
        )  # fmt: skip
    payload = {"reason": form.cleaned_data["reason"]} if form.cleaned_data.get("reason") else {}
    try:
        services.act_on_node(
            application=application,
            node=node,
            action=action,
            actor=actor,
            version=form.cleaned_data["version"],
            note=form.cleaned_data.get("note") or "",
            **payload,
        )
    except ApiError as exc:
        return _action_form(
            request, application, form, post_url=post_url, title=title, needs_note=False,
            error=exc.message, status=exc.status,
        )  # fmt: skip
    return _done(request, application, title)


@login_required
def application_action(request: StaffRequest, number: str, action: str) -> HttpResponseBase:
    """终止申请 (a row of ``transitions.APPLICATIONS``) through ``services.act``."""
    application = queries.get_application(request.user, number, request.active_unit)
    try:
        transition = APPLICATIONS.transition(action)
    except ApiError as exc:
        raise Http404(exc.message) from exc
    post_url = reverse("applications:action", args=[number, action])
    title = str(transition.label)
    if request.method != "POST":
        form = NodeActionForm(initial={"version": application.version})
        return _action_form(request, application, form, post_url=post_url, title=title, needs_note=True)
    form = NodeActionForm(request.POST)
    if not form.is_valid():
        return _action_form(
            request, application, form, post_url=post_url, title=title, needs_note=True,
            error=_("请检查填写的内容"), status=422,
        )  # fmt: skip
    try:
        services.act(
            application=application,
            action=action,
            actor=scoping.signed_in(request.user),
            version=form.cleaned_data["version"],
            note=form.cleaned_data.get("note") or "",
        )
    except ApiError as exc:
        return _action_form(
            request, application, form, post_url=post_url, title=title, needs_note=True,
            error=exc.message, status=exc.status,
        )  # fmt: skip
    return _done(request, application, title)


# --- the customer's view -----------------------------------------------------------------------


def progress_rows(progress: queries.Progress) -> list[dict[str, Any]]:
    now = clock.now()
    return [
        {
            "n": n,
            "current": progress.current is not None and n.pk == progress.current.pk,
            "overdue": queries.overdue(n, now),
            "wait": progress.waits.get(n.pk),
        }
        for n in progress.nodes
    ]


@login_required
def progress(request: StaffRequest, number: str) -> HttpResponse:
    """进度查询: what the customer hears (网上国网 / SMS / 95598): the nodes with their due dates,
    where it stands now and what they have to do."""
    application = queries.get_application(request.user, number, request.active_unit)
    answer = queries.progress(application)
    context = {
        "a": application,
        "p": answer,
        "rows": progress_rows(answer),
        "applicant": mask_name(application.applicant_name),
    }
    return render(request, "applications/progress.html", context)


# --- the 95598 customer card -------------------------------------------------------------------


def _card_rows(applications: list[Application]) -> list[dict[str, Any]]:
    rows = []
    for a in applications:
        answer = queries.progress(a)
        # The current node's due date; an untimed node (the survey) answers the next running clock's.
        running = [n.due_at for n in answer.nodes if n.due_at is not None and n.finished_at is None]
        due = answer.current.due_at if answer.current is not None and answer.current.due_at else None
        rows.append(
            {
                "a": a,
                "current": answer.current,
                "due": due or (min(running) if running else None),
                "paused": answer.current is not None and answer.current.paused_at is not None,
                "action": answer.customer_action,
            }
        )
    return rows


CARD_LIMIT = 5


@login_required
def customer_card(request: StaffRequest, account_no: str) -> HttpResponse:
    """The slot of the agent's customer card: the customer's applications (linked by 户号) with
    their current node, its due date and what the customer has to do; and a lookup box."""
    user = scoping.signed_in(request.user)
    customer = get_customer(user, account_no, active_unit=request.active_unit)
    apps = list(
        queries.visible_applications(user, request.active_unit)
        .filter(customer=customer)
        .order_by("state", "-accepted_at")[:CARD_LIMIT]
    )
    return render(request, "applications/_card.html", {"rows": _card_rows(apps), "account_no": account_no})


@login_required
def lookup(request: StaffRequest) -> HttpResponse:
    """By application number (or its beginning) or the contact phone: the agent's answer to "where
    is my application?" when the caller is not (yet) a customer."""
    user = scoping.signed_in(request.user)
    q = request.GET.get("q", "").strip()[:30]
    rows: list[dict[str, Any]] = []
    if len(q) >= 4:
        qs = queries.visible_applications(user, request.active_unit)
        phone = normalize_phone(q)
        if q.upper().startswith(services.NUMBER_PREFIX):
            qs = qs.filter(number__startswith=q.upper())
        elif phone.isdigit() and len(phone) >= 7:
            qs = qs.filter(contact_phone=phone)
        else:
            qs = qs.none()
        rows = _card_rows(list(qs.order_by("state", "-accepted_at")[:CARD_LIMIT]))
    return render(request, "applications/_lookup_results.html", {"rows": rows, "q": q})
