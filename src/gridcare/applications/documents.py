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

from .models import (
    AcceptanceInspection,
    Application,
    ApplicationNode,
    Energization,
    NodeKind,
    NodeState,
    PlanOption,
    Survey,
)


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


def _survey_of(application: Application) -> Survey | None:
    return Survey.objects.filter(application=application).select_related("surveyor").first()


def survey_sheet(application: Application, full: bool) -> Document:
    """勘查工作单: what the surveyor goes out with, and what they found once recorded."""
    found = _survey_of(application)
    findings: list[list[Any]] = []
    if found is not None:
        findings = [
            [
                _("具备供电条件"),
                _("是") if found.possible else _("否：%(r)s") % {"r": found.impossible_reason},
            ],
            [_("核定容量(kVA)"), str(found.approved_kva or "")],
            [_("供电电压 / 电源"), f"{found.get_voltage_display()} {found.get_supply_display()}"],
            [
                _("电网配套工程"),
                (_("需要：%(n)s") % {"n": found.grid_works_note}) if found.grid_works else _("不需要"),
            ],
            [_("勘查记录"), found.notes],
            [
                _("勘查人 / 时间"),
                f"{found.surveyor.full_name if found.surveyor else ''} {_day(found.surveyed_at)}",
            ],
        ]
    node = _node(application, NodeKind.SURVEY)
    return Document(
        title=_("现场勘查工作单"),
        lines=[*_head(application), _("责任单位：%(unit)s") % {"unit": node.owner_unit.name if node else ""}],
        sections=[
            _applicant(application, full),
            _request(application),
            _equipment(application),
            pdf.Table(
                heading=_("勘查结论"),
                headers=[_("项目"), _("内容")],
                widths=[1, 3],
                rows=findings,
                empty=_("（现场填写）"),
            ),
            _signatures(_("勘查人"), _("客户")),
        ],
    )


def _options_table(application: Application) -> pdf.Table:
    return pdf.Table(
        heading=_("供电方案（供客户选择）"),
        headers=[
            _("方案"),
            _("电源点"),
            _("电压"),
            _("产权分界点"),
            _("计量方式"),
            _("估算投资(元)"),
            _("工期(天)"),
            _("选定"),
        ],
        widths=[1.3, 2, 0.9, 1.8, 0.9, 1.1, 0.7, 0.6],
        rows=[
            [
                o.label,
                o.source,
                o.get_voltage_display(),
                o.property_boundary,
                o.get_metering_display(),
                o.cost_yuan,
                o.construction_days,
                "✓" if o.chosen else "",
            ]
            for o in PlanOption.objects.filter(application=application)
        ],
        empty=_("无"),
    )


def plan_reply(application: Application, full: bool) -> Document:
    """供电方案答复单: the options side by side and the customer's signed choice."""
    chosen = PlanOption.objects.filter(application=application, chosen=True).first()
    found = _survey_of(application)
    lines = [
        _("核定容量：%(kva)s kVA") % {"kva": found.approved_kva if found else application.requested_kva},
    ]
    if chosen is not None:
        lines.append(
            _("客户选定：%(label)s，%(who)s于%(at)s%(via)s")
            % {
                "label": chosen.label,
                "who": chosen.signed_by,
                "at": _day(chosen.signed_at),
                "via": chosen.get_signed_via_display(),
            }
        )
    return Document(
        title=_("供电方案答复单"),
        lines=_head(application),
        sections=[
            _applicant(application, full),
            _options_table(application),
            pdf.Text(heading=_("答复"), lines=lines),
            _signatures(_("客户"), _("答复人")),
        ],
    )


def acceptance_sheet(application: Application, full: bool) -> Document:
    """验收单: every inspection round by the accepting unit, defects and rectification, and the
    meters fitted."""
    rounds = AcceptanceInspection.objects.filter(application=application).select_related(
        "accepting_unit", "inspector"
    )
    sections: list[pdf.Section] = [
        _applicant(application, full),
        pdf.Table(
            heading=_("检验记录"),
            headers=[
                _("环节"),
                _("次数"),
                _("验收单位 / 部门"),
                _("结论"),
                _("缺陷"),
                _("整改期限"),
                _("检验时间"),
            ],
            widths=[1.1, 0.5, 2.2, 1, 2.4, 0.9, 1.1],
            rows=[
                [
                    i.get_node_display(),
                    str(i.round),
                    f"{i.accepting_unit.name}（{'、'.join(i.departments or [])}）",
                    i.get_result_display(),
                    "；".join(i.defects or []),
                    str(i.rectify_by or ""),
                    _day(i.inspected_at),
                ]
                for i in rounds
            ],
            empty=_("无"),
        ),
    ]
    energized = Energization.objects.filter(application=application).first()
    if energized is not None:
        sections.append(
            pdf.Table(
                heading=_("装表接电"),
                headers=[_("资产编号"), _("类型"), _("示数起度")],
                widths=[1.5, 1.2, 3],
                rows=[
                    [
                        m["asset_no"],
                        m.get("kind", ""),
                        "；".join(f"{r['name']} {r['reading']}" for r in m.get("registers", [])),
                    ]
                    for m in energized.meters
                ],
            )
        )
        sections.append(
            pdf.Text(
                lines=[
                    _("电流互感器变比：%(ct)s　电压互感器变比：%(pt)s")
                    % {"ct": energized.ct_ratio or "—", "pt": energized.pt_ratio or "—"},
                    _("装接人员：%(crew)s　送电时间：%(at)s")
                    % {"crew": energized.crew, "at": _day(energized.energized_at)},
                ]
            )
        )
    sections.append(_signatures(_("验收人"), _("客户")))
    return Document(title=_("客户受电工程验收单"), lines=_head(application), sections=sections)


def contract(application: Application, full: bool) -> Document:
    """供用电合同, from the completed application: the parties, the approved capacity, the chosen
    plan (supply, voltage, property boundary, metering) and the usage class the tariff follows."""
    p = _person(application, full)
    found = _survey_of(application)
    chosen = PlanOption.objects.filter(application=application, chosen=True).first()
    kind = {
        "residential": _("居民供用电合同"),
        "lv_nonresidential": _("低压供用电合同"),
        "hv": _("高压供用电合同"),
    }.get(application.category, _("供用电合同"))
    terms = [
        [_("供电人"), application.supply_unit.name],
        [_("用电人"), f"{p['name']}（{application.get_id_type_display()} {p['id']}）"],
        [_("用电地址"), p["address"]],
        [_("用电类别"), application.get_usage_class_display()],
        [
            _("合同容量(kVA)"),
            str(found.approved_kva if found and found.approved_kva else application.requested_kva),
        ],
        [_("供电电压 / 电源"), f"{application.get_voltage_display()} {application.get_supply_display()}"],
    ]
    if chosen is not None:
        terms += [
            [_("电源点"), chosen.source],
            [_("产权分界点"), chosen.property_boundary],
            [_("计量方式"), chosen.get_metering_display()],
        ]
    terms.append([_("电价"), _("按国家和省电价政策规定执行，随电价调整而调整")])
    return Document(
        title=kind,
        lines=[*_head(application), _("合同依据：用电申请 %(number)s") % {"number": application.number}],
        sections=[
            pdf.Table(heading=_("合同要素"), headers=[_("条款"), _("内容")], widths=[1, 3], rows=terms),
            pdf.Text(
                heading=_("双方约定"),
                lines=[
                    _(
                        "一、供电人按约定的供电方式、电压、容量向用电人安全供电；因检修需停电的，按规定提前通知。"
                    ),
                    _("二、用电人按期交纳电费，不得擅自超过合同容量用电、改变用电类别或转供电。"),
                    _(
                        "三、产权分界点以电源侧为供电人所有，负荷侧为用电人所有，双方各自负责所属设施的运行维护与安全责任。"
                    ),
                    _("四、本合同有效期为五年，期满双方无异议的自动续延。"),
                ],
            ),
            _signatures(_("供电人（盖章）代表"), _("用电人（盖章）代表")),
        ],
    )


def _reached(kind: str) -> Callable[[Application], bool]:
    """A document exists once the application reached its node (or further)."""

    def check(application: Application) -> bool:
        node = ApplicationNode.objects.filter(application=application, kind=kind).first()
        return node is not None and node.state != NodeState.PENDING

    return check


def _surveyed(application: Application) -> bool:
    return Survey.objects.filter(application=application, possible=True).exists()


def _completed(application: Application) -> bool:
    return Energization.objects.filter(application=application).exists()


def _inspected(application: Application) -> bool:
    return AcceptanceInspection.objects.filter(application=application).exists() or _completed(application)


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind("application", gettext_lazy("用电申请书"), application_form, lambda a: True),
        Kind("survey", gettext_lazy("现场勘查工作单"), survey_sheet, _reached(NodeKind.SURVEY)),
        Kind("plan", gettext_lazy("供电方案答复单"), plan_reply, _surveyed),
        Kind("acceptance", gettext_lazy("验收单"), acceptance_sheet, _inspected),
        Kind("contract", gettext_lazy("供用电合同"), contract, _completed),
    )
}


def available(application: Application) -> list[Kind]:
    return [k for k in KINDS.values() if k.available(application)]


def build(application: Application, kind: str, *, full: bool) -> Document:
    return KINDS[kind].build(application, full)
