"""The public-facing wording of outage messages (短信/邮件正文) and status lines, in Chinese.

One place, so every notice a customer receives reads the same way:
【国网城关县供电公司】尊敬的客户：因10kV东风线检修，我公司计划于11月24日08:00至18:00对东风路沿线停电……
"""

from __future__ import annotations

import datetime as dt

from gridcare.core import clock
from gridcare.org.models import Unit

from .models import Outage, OutageArea, OutageKind, OutageState

HOTLINE = "95598"


def when(value: dt.datetime | None) -> str:
    """11月24日08:00 (local time)."""
    if value is None:
        return ""
    local = value.astimezone(clock.LOCAL_TZ)
    return f"{local.month}月{local.day}日{local:%H:%M}"


def span(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """11月24日08:00至18:00 (the date is said once when both ends fall on the same day)."""
    if start is None:
        return ""
    if end is None:
        return f"{when(start)}起"
    a, b = start.astimezone(clock.LOCAL_TZ), end.astimezone(clock.LOCAL_TZ)
    tail = f"{b:%H:%M}" if a.date() == b.date() else when(end)
    return f"{when(start)}至{tail}"


def company_of(unit: Unit) -> str:
    """The signature: the nearest county (or city, province) company above the publishing unit,
    as "国网XX供电公司"."""
    candidates = [unit, *reversed(list(unit.ancestors().exclude(pk=unit.pk)))]
    for kinds in ((Unit.Kind.COUNTY,), (Unit.Kind.CITY,), (Unit.Kind.PROVINCE,)):
        for candidate in candidates:
            if candidate.kind in kinds:
                name = candidate.name
                return name if name.startswith("国网") else f"国网{name}"
    return f"国网{unit.name}"


def scope_text(outage: Outage) -> str:
    if outage.area_text:
        return outage.area_text
    names = list(
        outage.areas.select_related("transformer_area").values_list("transformer_area__name", flat=True)[:3]
    )
    return _scope_of(names, outage.areas.count() if names else 0)


def scope_texts(outages: list[Outage]) -> dict[int, str]:
    """``scope_text`` of each of ``outages`` (a list page's), by id, with one query for all."""
    texts = {o.pk: o.area_text for o in outages if o.area_text}
    names: dict[int, list[str]] = {o.pk: [] for o in outages if not o.area_text}
    totals: dict[int, int] = dict.fromkeys(names, 0)
    if names:
        rows = (
            OutageArea.objects.filter(outage_id__in=list(names))
            .order_by("outage_id", "transformer_area__code")  # as ``outage.areas`` is ordered
            .values_list("outage_id", "transformer_area__name")
        )
        for outage_id, name in rows:
            totals[outage_id] += 1
            if len(names[outage_id]) < 3:
                names[outage_id].append(name)
    texts.update((pk, _scope_of(found, totals[pk])) for pk, found in names.items())
    return texts


def _scope_of(names: list[str], total: int) -> str:
    """The scope of an outage without a written one, from its first area names and their count."""
    if not names:
        return "相关区域"
    joined = "、".join(names)
    return f"{joined}等{total}个台区供电范围" if total > len(names) else f"{joined}供电范围"


def customer_notice(outage: Outage, company: str) -> str:
    scope = scope_text(outage)
    if outage.kind == OutageKind.FAULT:
        until = (
            f"预计{when(outage.estimated_end)}前恢复供电" if outage.estimated_end else "恢复时间将另行通知"
        )
        return (
            f"【{company}】尊敬的客户：因{outage.reason}，{scope}于{when(outage.actual_start)}起停电，"
            f"抢修人员正在全力抢修，{until}，给您带来不便敬请谅解。咨询请拨打{HOTLINE}。"
        )
    label = "计划" if outage.kind == OutageKind.PLANNED else "临时"
    return (
        f"【{company}】尊敬的客户：因{outage.reason}，我公司{label}于{span(outage.planned_start, outage.planned_end)}"
        f"对{scope}停电，预计{when(outage.planned_end)}恢复供电，请提前做好准备，给您带来不便敬请谅解。"
        f"咨询请拨打{HOTLINE}。"
    )


def correction_notice(outage: Outage, company: str) -> str:
    """A fault outage's scope changed (the event was promoted to the feeder, re-assigned …): to a
    customer told of it who is still (or again) in it, what is now known, instead of a second
    notice."""
    until = f"预计{when(outage.estimated_end)}前恢复供电" if outage.estimated_end else "恢复时间将另行通知"
    return (
        f"【{company}】尊敬的客户：经进一步核实，您所在区域{when(outage.actual_start)}起的停电系{outage.reason}，"
        f"停电范围更新为{scope_text(outage)}，抢修人员正在全力抢修，{until}，给您带来不便敬请谅解。"
        f"咨询请拨打{HOTLINE}。"
    )


def withdrawal_notice(outage: Outage, company: str) -> str:
    """A fault outage's scope changed: to a customer told of it who is no longer in it."""
    return (
        f"【{company}】尊敬的客户：经核实，您所在台区不在{when(outage.actual_start)}起的本次故障停电范围内，"
        f"此前发送的停电通知有误，特此更正，给您带来不便敬请谅解。如您家中仍无电，请拨打{HOTLINE}报修。"
    )


def restoration_notice(outage: Outage, company: str) -> str:
    return (
        f"【{company}】尊敬的客户：{scope_text(outage)}已于{when(outage.actual_end)}恢复供电，"
        f"感谢您的理解与支持。如您家中仍无电，请拨打{HOTLINE}报修。"
    )


def cancellation_notice(outage: Outage, company: str) -> str:
    return (
        f"【{company}】尊敬的客户：原定于{span(outage.planned_start, outage.planned_end)}"
        f"对{scope_text(outage)}的停电已取消，届时正常供电，特此告知。咨询请拨打{HOTLINE}。"
    )


def status_line(outage: Outage, now: dt.datetime | None = None) -> str:
    """One line that answers "is it out, until when" for an agent or a lookup page."""
    now = now or clock.now()
    if outage.state == OutageState.RESTORED:
        return f"已于{when(outage.actual_end)}恢复供电"
    if outage.state == OutageState.CANCELLED:
        return "停电已取消"
    if outage.state == OutageState.MERGED and outage.merged_into_id:
        return f"已并入停电信息 {outage.merged_into.number}"
    until = outage.expected_end
    until_text = f"，预计{when(until)}恢复" if until else "，恢复时间待定"
    if outage.state == OutageState.IN_PROGRESS or (outage.starts_at and outage.starts_at <= now):
        return f"正在停电（{when(outage.starts_at)}起）{until_text}"
    if outage.state == OutageState.PUBLISHED:
        return f"将于{span(outage.starts_at, outage.expected_end)}停电"
    return "草稿，尚未发布"
