"""The printed bill (电费账单, PDF through ``core.pdf``): what seed 000 says a bill shows — the
account, the period and readings, kWh and its time-of-use split, every billing item with its unit
price, amount and tariff version, the total, the payment prompt (what is owed, by when) and the
reminders (late fees, withholding, arrears), the payment points, and why the bill is what it is.
The name is masked (a bill leaves the building); every print is audited as an export."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _

from gridcare.core import masking, pdf

from . import answers
from .models import Bill

ZERO = Decimal("0")


def _sections(bill: Bill) -> tuple[list[str], list[pdf.Section]]:
    customer = bill.customer
    explained = answers.explain(bill)
    points = answers.payment_points_near(customer)
    lines = [
        _("户号：%(account)s　户名：%(name)s")
        % {"account": customer.account_no, "name": masking.mask_name(customer.name)},
        _("电费年月：%(month)s　计费期间：%(start)s 至 %(end)s（%(days)s天）")
        % {
            "month": f"{bill.period:%Y-%m}",
            "start": bill.period_start,
            "end": bill.period_end,
            "days": explained.days,
        },
        _("账单编号：%(number)s　发行日期：%(issued)s")
        % {"number": bill.number, "issued": bill.issued_on or ""},
    ]
    readings = pdf.Table(
        heading=_("抄表信息"),
        headers=[_("上次示数"), _("本次示数"), _("电量(kWh)"), _("峰"), _("平"), _("谷"), _("说明")],
        rows=[
            [
                bill.previous_total if bill.previous_total is not None else "",
                bill.current_total if bill.current_total is not None else "",
                bill.kwh,
                bill.peak_kwh or "",
                bill.flat_kwh or "",
                bill.valley_kwh or "",
                _("估抄") if bill.estimated else _("实抄"),
            ]
        ],
    )
    items = pdf.Table(
        heading=_("计费项目"),
        headers=[_("项目"), _("数量"), _("单位"), _("单价(元)"), _("金额(元)"), _("电价版本")],
        widths=[3, 1.2, 0.8, 1.2, 1.2, 2],
        rows=[
            [
                ln.label,
                ln.quantity,
                ln.unit,
                ln.price.normalize(),
                ln.amount,
                ln.version.label if ln.version else "",
            ]
            for ln in bill.lines.all()
        ]
        + [[_("合计"), bill.kwh, "kWh", "", bill.amount, ""]],
    )
    owed = bill.amount - bill.paid
    prompt = [
        _("本期电费 %(amount)s 元，已缴 %(paid)s 元，尚欠 %(owed)s 元，请于 %(due)s 前缴纳。")
        % {"amount": bill.amount, "paid": bill.paid, "owed": owed, "due": bill.due_on or ""}
        if owed > 0
        else _("本期电费 %(amount)s 元已缴清，谢谢。") % {"amount": bill.amount},
        _(
            "温馨提示：逾期未缴将按《供电营业规则》每日加收电费违约金；签约银行代扣的客户请保持账户余额充足；"
            "长期欠费将依法停止供电。"
        ),
    ]
    if explained.tier is not None and explained.tier.kwh_left_in_tier is not None:
        prompt.append(
            _("本阶梯年度已用 %(used)s 千瓦时，处于第%(tier)s档，距下一档还有 %(left)s 千瓦时。")
            % {
                "used": explained.tier.position_kwh,
                "tier": explained.tier.tier,
                "left": explained.tier.kwh_left_in_tier,
            }
        )
    why = pdf.Text(
        heading=_("电费说明"), lines=[r.text for r in explained.reasons] or [_("与上期相比无明显变化。")]
    )
    where = pdf.Table(
        heading=_("缴费网点"),
        headers=[_("网点"), _("地址"), _("营业时间")],
        widths=[2, 3, 2],
        rows=[[p.name, p.address, p.hours] for p in points],
        empty=_("可通过“网上国网”App、银行代扣或营业厅缴费"),
    )
    return lines, [readings, items, pdf.Text(heading=_("缴费提示"), lines=prompt), why, where]


def bill_pdf(bill: Bill) -> bytes:
    lines, sections = _sections(bill)
    return pdf.render(title=_("电费账单"), lines=lines, sections=sections, reference=bill.number)


def response(bill: Bill, user: Any, request: Any) -> HttpResponse:
    lines, sections = _sections(bill)
    return pdf.document_response(
        title=_("电费账单"),
        lines=lines,
        sections=sections,
        filename=bill.number,
        user=user,
        request=request,
        object_type="billing.bill",
        object_id=bill.number,
        reference=bill.number,
    )
