"""The billing desk's pages under /billing/ for billing clerks and counter cashiers: 柜台收费 (look up
an account, see what is owed today, take the money, the receipt), 缴费记录 (a customer's payments,
a unit's day) with reversal (冲正) from the receipt, 违约金减免 (request; another person approves
or rejects), 对账 (a channel's day) and 文件导入 (a channel's or the system of record's file and its
row report).

Thin, like ``views``: the same verbs as the API (``payments``, ``latefees``, ``imports``), every
object through the scoping door, names masked, a refusal shown as the verb's message. The counter
form carries a one-time reference made when the page is drawn, so a double click or a resubmitted
form answers the payment already posted, never a second one."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.masking import mask_address, mask_name
from gridcare.customers.models import Customer
from gridcare.customers.queries import get_customer_for_intake
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Actor, StaffRequest

from . import answers, imports, latefees, payments, receipts
from .models import (
    BILLING_ROLES,
    CASHIER_ROLES,
    Bill,
    BillingAccount,
    BillState,
    Channel,
    LateFeeWaiver,
    Payment,
    PaymentFile,
    PrepaidAccount,
    Reconciliation,
)

ZERO = Decimal("0")
DESK_CHANNELS = (Channel.COUNTER, Channel.POS)
# The counter form's one-time reference (made when the page is drawn): 20 hex digits.
FORM_TOKEN = re.compile(r"[0-9a-f]{20}")
LIST_ROWS = 300


def _clerk(request: StaffRequest) -> Actor:
    """The signed-in billing clerk or manager; anyone else is refused (403)."""
    user = scoping.signed_in(request.user)
    if not scoping.has_role(user, *BILLING_ROLES):
        raise PermissionDenied
    return user


def _cashier(request: StaffRequest) -> Actor:
    """The signed-in cashier, billing clerk or manager (the counter's work); anyone else 403."""
    user = scoping.signed_in(request.user)
    if not scoping.has_role(user, *CASHIER_ROLES):
        raise PermissionDenied
    return user


def _units(user: Actor) -> list[Unit]:
    return list(scoping.visible_units(user).order_by("path")[:500])


def _day(value: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        return default


def _today() -> dt.date:
    return clock.local(clock.now()).date()


# --- 柜台收费 -------------------------------------------------------------------------------------


@dataclass
class OpenBill:
    bill: Bill
    owed: Decimal
    late_fee: Decimal
    waiver: LateFeeWaiver | None

    @property
    def total(self) -> Decimal:
        return self.owed + self.late_fee


def _open_bills(customer: Customer, day: dt.date) -> list[OpenBill]:
    rules = latefees.Rules.current()
    bills = list(
        Bill.objects.filter(customer=customer, state=BillState.OPEN)
        .select_related("customer")
        .order_by("due_on", "period", "id")
    )
    standing = {
        w.bill_id: w
        for w in LateFeeWaiver.objects.filter(
            bill__in=bills, state__in=[LateFeeWaiver.State.REQUESTED, LateFeeWaiver.State.APPROVED]
        )
    }
    return [
        OpenBill(b, b.amount - b.paid, latefees.owed(b, day, rules=rules), standing.get(b.pk)) for b in bills
    ]


@login_required
def desk(request: StaffRequest) -> HttpResponse:
    """柜台收费: an account looked up (in scope), what it owes today — each open bill with its late
    fee to today — its credit, and the form that takes the money."""
    user = _cashier(request)
    account_no = (request.GET.get("account_no") or "").strip()
    context: dict[str, Any] = {
        "account_no": account_no,
        "channels": [(c.value, c.label) for c in DESK_CHANNELS],
    }
    if not account_no:
        return render(request, "billing/desk.html", context)
    try:
        customer = get_customer_for_intake(user, account_no, active_unit=request.active_unit)
    except Http404:
        messages.error(request, _("户号不存在或不在您的管辖范围"))
        return render(request, "billing/desk.html", context, status=404)
    account = BillingAccount.objects.filter(customer=customer).first()
    today = _today()
    bills = _open_bills(customer, today) if account else []
    due = sum((b.total for b in bills), ZERO).quantize(Decimal("0.01"))
    context.update(
        customer=customer,
        name=mask_name(customer.name),
        address=mask_address(
            customer.addresses.order_by("-is_primary", "id").values_list("address", flat=True).first()
        ),
        account=account,
        prepaid=PrepaidAccount.objects.filter(customer=customer).first(),
        bills=bills,
        due=due,
        late_fees=sum((b.late_fee for b in bills), ZERO).quantize(Decimal("0.01")),
        token=secrets.token_hex(10),
        recent=Payment.objects.filter(customer=customer).order_by("-paid_at", "-id")[:5],
        today=today,
    )
    if account is None:
        messages.warning(request, _("该户没有计费档案"))
    return render(request, "billing/desk.html", context)


def _money(value: str | None) -> Decimal | None:
    try:
        amount = Decimal((value or "").strip().replace(",", ""))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


@login_required
@require_POST
def take_payment(request: StaffRequest) -> HttpResponseBase:
    """Take the money at the counter: posted once per form (its one-time reference), then the
    receipt. The same form again (a double click, a reload) answers the same receipt."""
    user = _cashier(request)
    account_no = (request.POST.get("account_no") or "").strip()
    back = f"{reverse('billing:desk')}?account_no={account_no}"
    customer = get_customer_for_intake(user, account_no, active_unit=request.active_unit)
    token = (request.POST.get("token") or "").strip()
    channel = request.POST.get("channel") or ""
    amount = _money(request.POST.get("amount"))
    entered = (request.POST.get("reference") or "").strip()
    if not FORM_TOKEN.fullmatch(token):
        messages.error(request, _("收费表单已失效，请重新查询后收费"))
        return redirect(back)
    if channel not in DESK_CHANNELS:
        messages.error(request, _("请选择收费方式"))
        return redirect(back)
    if amount is None:
        messages.error(request, _("请填写正确的收费金额"))
        return redirect(back)
    if channel == Channel.POS and not entered:
        messages.error(request, _("POS收费请填写POS凭证上的参考号"))
        return redirect(back)
    try:
        payment, created = payments.post_payment(
            customer=customer,
            channel=channel,
            reference=entered or f"GT{token.upper()}",
            amount=amount,
            paid_at=clock.now(),
            operator=user,
            unit=payments.acting_unit(user, request.active_unit),
            fingerprint=token,
        )
    except ApiError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    if created:
        messages.success(request, _("收费成功：%(amount)s 元") % {"amount": payment.amount})
    else:
        messages.info(request, _("该笔缴费已入账，未重复收取"))
    return redirect("billing:receipt", receipt_no=payment.receipt_no)


# --- 收据, 冲正 ------------------------------------------------------------------------------------


def _payment(request: StaffRequest, receipt_no: str) -> Payment:
    payment = get_object_or_404(
        Payment.objects.select_related("customer", "operator", "unit"), receipt_no=receipt_no
    )
    scoping.require_in_scope(payment.customer, _cashier(request), "station_id", request.active_unit)
    return payment


@login_required
def receipt(request: StaffRequest, receipt_no: str) -> HttpResponse:
    """收据: the payment and what each part paid (adding up to it); reversal from here."""
    payment = _payment(request, receipt_no)
    parts = receipts.parts(payment)
    return render(
        request,
        "billing/receipt.html",
        {
            "payment": payment,
            "name": mask_name(payment.customer.name),
            "parts": parts,
            "parts_total": sum((a.amount for a in parts), ZERO),
            "may_reverse": payments.may_reverse(scoping.signed_in(request.user)),
        },
    )


@login_required
def receipt_pdf(request: StaffRequest, receipt_no: str) -> HttpResponse:
    payment = _payment(request, receipt_no)
    return receipts.response(payment, scoping.signed_in(request.user), request)


@login_required
@require_POST
def reverse_payment(request: StaffRequest, receipt_no: str) -> HttpResponseBase:
    """冲正 from the receipt, with the reason (the verb refuses without one, and when the payment's
    credit has been spent)."""
    payment = _payment(request, receipt_no)
    try:
        payments.reverse_payment(
            payment, actor=scoping.signed_in(request.user), reason=request.POST.get("reason") or ""
        )
        messages.success(request, _("已冲正，所缴账单已恢复欠费"))
    except ApiError as exc:
        messages.error(request, exc.message)
    return redirect("billing:receipt", receipt_no=payment.receipt_no)


# --- 缴费记录 -------------------------------------------------------------------------------------


@login_required
def customer_payments(request: StaffRequest, account_no: str) -> HttpResponse:
    """A customer's payments, newest first, each linking to its receipt."""
    user = _cashier(request)
    customer = get_customer_for_intake(user, account_no, active_unit=request.active_unit)
    rows = (
        Payment.objects.filter(customer=customer)
        .select_related("operator")
        .order_by("-paid_at", "-id")[:LIST_ROWS]
    )
    return render(
        request,
        "billing/customer_payments.html",
        {"customer": customer, "name": mask_name(customer.name), "payments": rows},
    )


@login_required
def day_payments(request: StaffRequest) -> HttpResponse:
    """A unit's payments of a day (its customers'), by channel, with the day's figures."""
    user = _cashier(request)
    units = _units(user)
    unit = scoping.unit_by_id(user, request.GET.get("unit"), request.active_unit) or payments.acting_unit(
        user, request.active_unit
    )
    day = _day(request.GET.get("day"), _today())
    channel = request.GET.get("channel") or ""
    rows: QuerySet[Payment] = Payment.objects.none()
    if unit is not None and scoping.unit_in_scope(user, unit):
        rows = scoping.restrict(
            Payment.objects.filter(business_day=day, customer__station__in=unit.subtree()),
            user,
            "customer__station_id",
            request.active_unit,
        )
    if channel in Channel.values:
        rows = rows.filter(channel=channel)
    counted = payments.counted_as_money(channel)  # a refund offset is listed, not counted
    figures = rows.aggregate(count=Count("id", filter=counted), total=Sum("amount", filter=counted))
    return render(
        request,
        "billing/day_payments.html",
        {
            "units": units,
            "unit": unit,
            "day": day,
            "channel": channel,
            "channels": Channel.choices,
            "payments": rows.select_related("customer", "operator").order_by("-paid_at", "-id")[:LIST_ROWS],
            "count": figures["count"] or 0,
            "total": (figures["total"] or ZERO).quantize(Decimal("0.01")),
        },
    )


# --- 违约金减免 -----------------------------------------------------------------------------------


@login_required
@require_POST
def request_waiver(request: StaffRequest, number: str) -> HttpResponseBase:
    """A waiver asked on a bill, with the reason; back to the counter page of its account."""
    user = _cashier(request)
    bill = answers.bill_for(user, number)
    try:
        latefees.request_waiver(bill, actor=user, reason=request.POST.get("reason") or "")
        messages.success(request, _("减免申请已提交，须由其他核算员或管理人员审批"))
    except ApiError as exc:
        messages.error(request, exc.message)
    return redirect(f"{reverse('billing:desk')}?account_no={bill.customer.account_no}")


@login_required
def waivers(request: StaffRequest) -> HttpResponse:
    """减免审批: the requests waiting in the clerk's scope (their own marked, not decidable by
    them) and the latest decisions."""
    user = _clerk(request)
    rows = scoping.restrict(
        LateFeeWaiver.objects.select_related("bill__customer", "requested_by", "approved_by"),
        user,
        "bill__customer__station_id",
        request.active_unit,
    )
    today = _today()
    rules = latefees.Rules.current()
    waiting = list(rows.filter(state=LateFeeWaiver.State.REQUESTED).order_by("at", "id")[:LIST_ROWS])
    for w in waiting:
        w.fee_today = latefees.owed(w.bill, today, rules=rules)  # type: ignore[attr-defined]
        w.masked_name = mask_name(w.bill.customer.name)  # type: ignore[attr-defined]
    decided = rows.exclude(state=LateFeeWaiver.State.REQUESTED).order_by("-decided_at", "-id")[:50]
    return render(request, "billing/waivers.html", {"waiting": waiting, "decided": decided, "me": user})


def _waiver(request: StaffRequest, pk: int) -> LateFeeWaiver:
    waiver = get_object_or_404(LateFeeWaiver.objects.select_related("bill__customer"), pk=pk)
    scoping.require_in_scope(waiver.bill.customer, _clerk(request), "station_id", request.active_unit)
    return waiver


@login_required
@require_POST
def decide_waiver(request: StaffRequest, pk: int) -> HttpResponseBase:
    """Approve or reject a request (by another person than the requester: the verb refuses)."""
    waiver = _waiver(request, pk)
    user = scoping.signed_in(request.user)
    note = request.POST.get("note") or ""
    try:
        if request.POST.get("decision") == "approve":
            done = latefees.approve_waiver(waiver, actor=user, note=note)
            messages.success(request, _("已批准减免违约金 %(amount)s 元") % {"amount": done.amount})
        else:
            latefees.reject_waiver(waiver, actor=user, note=note)
            messages.success(request, _("已驳回减免申请"))
    except ApiError as exc:
        messages.error(request, exc.message)
    return redirect("billing:waivers")


# --- 对账 -----------------------------------------------------------------------------------------


def _their_rows(text: str) -> list[tuple[str, Decimal]] | str:
    """The channel's rows pasted one a line, "reference,amount"; the first bad line as a message."""
    rows: list[tuple[str, Decimal]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        reference, _sep, amount = line.replace("，", ",").replace("\t", ",").partition(",")
        value = _money(amount)
        if not reference.strip() or value is None or len(reference.strip()) > 64:
            return _("第%(line)s行须为“流水号,金额”：%(text)s") % {"line": n, "text": line[:80]}
        rows.append((reference.strip(), value))
    return rows


@login_required
def reconciliations(request: StaffRequest) -> HttpResponseBase:
    """对账: run a channel's day for a unit (against the channel's count, total and, pasted, its
    rows); the past results."""
    user = _clerk(request)
    if request.method == "POST":
        unit = scoping.unit_by_id(user, request.POST.get("unit"), request.active_unit)
        channel = request.POST.get("channel") or ""
        day = _day(request.POST.get("day"), dt.date.min)
        total = _money(request.POST.get("their_total"))
        count = (request.POST.get("their_count") or "").strip()
        rows = (
            _their_rows(request.POST.get("rows") or "") if (request.POST.get("rows") or "").strip() else None
        )
        problem = ""
        if unit is None:
            problem = _("请选择您管辖范围内的单位")
        elif day == dt.date.min or day > _today():
            problem = _("请选择账务日期")
        elif not count.isdigit() or total is None:
            problem = _("请填写渠道的笔数和金额")
        elif isinstance(rows, str):
            problem = rows
        if problem or unit is None or total is None or isinstance(rows, str):
            messages.error(request, problem)
            return redirect("billing:reconciliations")
        try:
            result = payments.reconcile(
                channel, day, int(count), total, actor=user, unit=unit, their_rows=rows
            )
        except ApiError as exc:
            messages.error(request, exc.message)
            return redirect("billing:reconciliations")
        if result.balanced:
            messages.success(request, _("对账平衡"))
        else:
            messages.warning(request, _("对账不平，请核对差异"))
        return redirect("billing:reconciliation", pk=result.pk)
    rows_qs = scoping.restrict(
        Reconciliation.objects.select_related("unit", "done_by"), user, "unit_id", request.active_unit
    ).order_by("-business_day", "-done_at")[:100]
    return render(
        request,
        "billing/reconciliations.html",
        {
            "results": rows_qs,
            "units": _units(user),
            "default_unit": payments.acting_unit(user, request.active_unit),
            "channels": Channel.choices,
            "yesterday": _today() - dt.timedelta(days=1),
        },
    )


@login_required
def reconciliation(request: StaffRequest, pk: int) -> HttpResponse:
    """One result: the figures side by side and each difference."""
    result = get_object_or_404(Reconciliation.objects.select_related("unit", "done_by"), pk=pk)
    scoping.require_in_scope(result, _clerk(request), "unit_id", request.active_unit)
    return render(request, "billing/reconciliation.html", {"r": result})


# --- 文件导入 -------------------------------------------------------------------------------------


def _files(request: StaffRequest, user: Actor) -> QuerySet[PaymentFile]:
    """The files imported for a unit in the clerk's scope, and their own."""
    return PaymentFile.objects.filter(
        scoping.scope_q(user, "unit_id", request.active_unit) | Q(uploaded_by=user)
    ).select_related("uploaded_by", "unit")


@login_required
def files(request: StaffRequest) -> HttpResponseBase:
    """文件导入: upload a file (checked whole: one bad row rejects it) and the files imported."""
    user = _clerk(request)
    if request.method == "POST":
        upload = request.FILES.get("file")
        kind = request.POST.get("kind") or ""
        if upload is None:
            messages.error(request, _("请选择要导入的文件"))
            return redirect("billing:files")
        try:
            record = imports.import_file(
                kind=kind,
                name=upload.name or "upload",
                content=upload.read(imports.MAX_BYTES + 1),
                actor=user,
                unit=payments.acting_unit(user, request.active_unit),
            )
        except ApiError as exc:
            messages.error(request, exc.message)
            if exc.extra.get("file_id"):
                return redirect("billing:file", pk=exc.extra["file_id"])
            return redirect("billing:files")
        messages.success(
            request,
            _("已导入%(rows)s行，金额合计 %(total)s 元") % {"rows": record.rows, "total": record.total},
        )
        return redirect("billing:file", pk=record.pk)
    return render(
        request,
        "billing/files.html",
        {
            "files": _files(request, user).order_by("-uploaded_at")[:100],
            "kinds": PaymentFile.Kind.choices,
            "columns": [
                (label, "、".join(imports.COLUMNS[value])) for value, label in PaymentFile.Kind.choices
            ],
        },
    )


@login_required
def file_report(request: StaffRequest, pk: int) -> HttpResponse:
    """A file's row report: a rejected file's bad rows first, each with what is wrong."""
    user = _clerk(request)
    record = get_object_or_404(_files(request, user), pk=pk)
    bad = [r for r in record.report if not r.get("ok")]
    good = [r for r in record.report if r.get("ok")]
    return render(
        request,
        "billing/file.html",
        {"f": record, "bad": bad[:1000], "good": good[:500], "more_good": max(len(good) - 500, 0)},
    )
