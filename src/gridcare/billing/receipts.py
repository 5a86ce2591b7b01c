"""The printed receipt (收据, PDF through ``core.pdf``): the receipt number, the account and masked
name, the channel and its reference, when and by whom, the amount in figures, and what each part
paid (a bill's late fee, a bill, credit) adding up to it; a reversed payment says so. Every print
is audited as an export, as the printed bill is (``documents``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _

from gridcare.core import clock, masking, pdf

from .models import Allocation, Payment

ZERO = Decimal("0")


def parts(payment: Payment) -> list[Allocation]:
    """What the payment paid, in the order it was applied (with the bills)."""
    return list(payment.allocations.select_related("bill").order_by("id"))


def _sections(payment: Payment) -> tuple[list[str], list[pdf.Section]]:
    customer = payment.customer
    allocations = parts(payment)
    lines = [
        _("收据号：%(number)s") % {"number": payment.receipt_no},
        _("户号：%(account)s　户名：%(name)s")
        % {"account": customer.account_no, "name": masking.mask_name(customer.name)},
        _("缴费时间：%(at)s　渠道：%(channel)s　流水号：%(reference)s")
        % {
            "at": clock.local(payment.paid_at).strftime("%Y-%m-%d %H:%M"),
            "channel": payment.get_channel_display(),
            "reference": payment.reference,
        },
    ]
    table = pdf.Table(
        heading=_("本次缴费明细"),
        headers=[_("账单"), _("电费年月"), _("科目"), _("金额(元)")],
        widths=[2.5, 1.5, 1.5, 1.5],
        rows=[
            [
                a.bill.number if a.bill else "",
                f"{a.bill.period:%Y-%m}" if a.bill else "",
                a.get_part_display(),
                a.amount,
            ]
            for a in allocations
        ]
        + [[_("合计"), "", "", sum((a.amount for a in allocations), ZERO)]],
    )
    notes = [_("实收金额：%(amount)s 元") % {"amount": payment.amount}]
    if payment.operator is not None:
        notes.append(_("收费员：%(name)s") % {"name": payment.operator.display_name})
    if payment.state == Payment.State.REVERSED:
        notes.append(_("本笔缴费已冲正，收据作废。%(note)s") % {"note": payment.note})
    return lines, [table, pdf.Text(heading=_("收款"), lines=notes)]


def receipt_pdf(payment: Payment) -> bytes:
    lines, sections = _sections(payment)
    return pdf.render(title=_("电费收据"), lines=lines, sections=sections, reference=payment.receipt_no)


def response(payment: Payment, user: Any, request: Any) -> HttpResponse:
    lines, sections = _sections(payment)
    return pdf.document_response(
        title=_("电费收据"),
        lines=lines,
        sections=sections,
        filename=payment.receipt_no,
        user=user,
        request=request,
        object_type="billing.payment",
        object_id=payment.receipt_no,
        reference=payment.receipt_no,
    )
