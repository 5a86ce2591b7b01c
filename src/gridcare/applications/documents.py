"""Paper where paper is still used (issue 18, item 8): the 业扩 forms as PDF (``core.pdf``), made
from the application as it stands — 用电申请书, 勘查工作单, 供电方案答复单, 验收单 and the 供用电合同.

Each builder returns the document (title, lines under it, sections); ``document`` picks one by
its kind. The applicant's personal data is printed in full only for a person whose role may see
it (a form the customer signs carries their name, ID and phone); everyone else gets it masked, as
on the pages. Every print is audited as an export (``core.pdf.document_response``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridcare.core import clock, masking, pdf

from .models import Application, ApplicationNode


@dataclass(frozen=True)
class Document:
    title: str
    lines: list[str]
    sections: list[pdf.Section]


@dataclass(frozen=True)
class Kind:
    key: str
    label: Any
    build: Callable[[Application, bool], Document]
    available: Callable[[Application], bool]


def _day(at: Any) -> str:
    return clock.local(at).strftime("%Y-%m-%d") if at else ""


def _person(application: Application, full: bool) -> dict[str, str]:
    if full:
        return {
            "name": application.applicant_name,
            "id": application.id_number,
            "address": application.address,
            "contact": application.contact_name,
            "phone": application.contact_phone,
        }
    return {
        "name": masking.mask_name(application.applicant_name),
        "id": masking.mask_id_number(application.id_number),
        "address": masking.mask_address(application.address),
        "contact": masking.mask_name(application.contact_name),
        "phone": masking.mask_phone(application.contact_phone),
    }


def _head(application: Application) -> list[str]:
    return [
        _("申请编号：%(number)s") % {"number": application.number},
        _("供电单位：%(unit)s") % {"unit": application.supply_unit.name},
    ]


def _applicant(application: Application, full: bool) -> pdf.Table:
    p = _person(application, full)
    return pdf.Table(
        heading=_("申请人"),
        headers=[_("项目"), _("内容")],
        widths=[1, 3],
        rows=[
            [_("户名"), p["name"]],
            [_("证件"), f"{application.get_id_type_display()} {p['id']}"],
            [_("用电地址"), p["address"]],
            [_("联系人 / 电话"), f"{p['contact']} {p['phone']}"],
            [_("户号"), application.customer.account_no if application.customer else _("（新装立户）")],
        ],
    )


def _request(application: Application) -> pdf.Table:
    return pdf.Table(
        heading=_("申请事项"),
        headers=[_("项目"), _("内容")],
        widths=[1, 3],
        rows=[
            [_("业务类型"), application.get_app_type_display()],
            [
                _("客户类别 / 电源"),
                f"{application.get_category_display()} {application.get_supply_display()}",
            ],
            [_("供电电压"), application.get_voltage_display()],
            [_("申请容量(kVA)"), str(application.requested_kva)],
            [_("用电类别 / 行业"), f"{application.get_usage_class_display()} {application.industry}".strip()],
            [_("负荷性质"), application.get_load_nature_display()],
            [_("户数"), str(application.households)],
            [_("受理渠道"), application.get_channel_display()],
            [
                _("受理"),
                f"{application.accepted_unit.name} {application.accepted_by.full_name if application.accepted_by else ''} "
                f"{_day(application.accepted_at)}",
            ],
            [_("承诺办结"), _day(application.total_due_at)],
        ],
    )


def _equipment(application: Application) -> pdf.Table:
    return pdf.Table(
        heading=_("用电设备清单"),
        headers=[_("设备名称"), _("单台功率(kW)"), _("相数"), _("电压"), _("台数")],
        widths=[3, 1.2, 0.8, 1, 0.8],
        rows=[
            [e.get("name", ""), e.get("kw", ""), e.get("phase", ""), e.get("voltage", ""), e.get("count", "")]
            for e in (application.equipment or [])
        ],
        empty=_("无"),
    )


def _documents(application: Application) -> pdf.Table:
    return pdf.Table(
        heading=_("已收资料"),
        headers=[_("资料"), _("来源"), _("说明")],
        widths=[2, 2, 3],
        rows=[
            [
                d.get_kind_display(),
                _("政务共享获取（一证办电）") if d.via_shared_data else _("客户提供"),
                d.note,
            ]
            for d in application.documents.all()
        ],
        empty=_("无"),
    )


def _signatures(*who: str) -> pdf.Text:
    return pdf.Text(
        heading=_("签字"),
        lines=[f"{w}（签字）：＿＿＿＿＿＿＿＿　　日期：＿＿＿＿年＿＿月＿＿日" for w in who],
    )


def application_form(application: Application, full: bool) -> Document:
    """用电申请书: what the customer applied for, with what they brought, to sign at the window."""
    return Document(
        title=_("用电申请书"),
        lines=_head(application),
        sections=[
            _applicant(application, full),
            _request(application),
            _equipment(application),
            _documents(application),
            pdf.Text(
                lines=[
                    _("本人承诺以上所填内容及所提供资料真实有效。"),
                    _("办电进度可拨打95598或在网上国网查询（申请编号 %(number)s）。")
                    % {"number": application.number},
                ]
            ),
            _signatures(_("申请人"), _("受理人")),
        ],
    )


def _node(application: Application, kind: str) -> ApplicationNode | None:
    return (
        ApplicationNode.objects.filter(application=application, kind=kind)
        .select_related("owner_unit")
        .first()
    )


def _nodes_table(application: Application) -> pdf.Table:
    now = clock.now()
    rows = []
    for node in (
        ApplicationNode.objects.filter(application=application).select_related("owner_unit").order_by("seq")
    ):
        late = node.on_time is False or (
            node.finished_at is None and node.due_at is not None and node.due_at < now
        )
        rows.append(
            [
                node.get_kind_display(),
                node.owner_unit.name,
                node.get_state_display(),
                _day(node.due_at),
                _day(node.finished_at),
                _("超期") if late else "",
            ]
        )
    return pdf.Table(
        heading=_("办理环节"),
        headers=[_("环节"), _("责任单位"), _("状态"), _("到期"), _("完成"), ""],
        widths=[1.6, 2.2, 1, 1.1, 1.1, 0.6],
        rows=rows,
    )


KINDS: dict[str, Kind] = {
    k.key: k for k in (Kind("application", gettext_lazy("用电申请书"), application_form, lambda a: True),)
}


def available(application: Application) -> list[Kind]:
    return [k for k in KINDS.values() if k.available(application)]


def build(application: Application, kind: str, *, full: bool) -> Document:
    return KINDS[kind].build(application, full)
