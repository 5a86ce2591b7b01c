"""业扩回访 falling due: the working day after each of four nodes (受理, 供电方案答复, 中间检查 during the
customer's construction, 装表接电), the 95598 center calls the customer with the fixed questions
of that node (``CallbackQuestion``, data). Seed 004: "座席员在受理用电申请后次日对客户进行回访" — every
application, not a sample, to stamp out 吃拿卡要 and 三指定.

This module only schedules (called by acceptance and by the ``finish`` follow-up); the calls, the
answers and what a finding raises are ``callback_work``.
"""

from __future__ import annotations

import datetime as dt

from gridcare.core import calendar, clock
from gridcare.workorders.models import CallbackSetting

from .models import Application, ApplicationCallback, CallbackQuestion, NodeKind

CALLBACK_NODES = (NodeKind.ACCEPT, NodeKind.PLAN_REPLY, NodeKind.MID_INSPECTION, NodeKind.ENERGIZE)


def questions(node: str) -> list[CallbackQuestion]:
    """The active questions asked after ``node``, in order."""
    return [q for q in CallbackQuestion.objects.filter(is_active=True) if node in (q.nodes or [])]


def _asked_after(node: str) -> bool:
    return any(
        node in (nodes or [])
        for nodes in CallbackQuestion.objects.filter(is_active=True).values_list("nodes", flat=True)
    )


def window(done_at: dt.datetime, setting: CallbackSetting) -> tuple[dt.datetime, dt.datetime]:
    """When the callback may be made and by when: the calling hours of the next working day after
    the node was done (the official calendar: a node done on the Friday before National Day is
    called back after the holiday)."""
    day = calendar.next_working_day(clock.local(done_at).date())
    return (
        dt.datetime.combine(day, setting.calls_from, tzinfo=clock.LOCAL_TZ),
        dt.datetime.combine(day, setting.calls_until, tzinfo=clock.LOCAL_TZ),
    )


def schedule(
    application: Application, node: str, done_at: dt.datetime, *, new_application: bool = False
) -> ApplicationCallback | None:
    """The callback after ``node`` (once per application and node); None for a node without one.
    ``new_application``: the application was created in this transaction, so it has no callback
    yet (one INSERT instead of a lookup and a savepoint)."""
    if node not in CALLBACK_NODES or not _asked_after(node):
        return None
    due_from, due_at = window(done_at, CallbackSetting.current())
    fields = {
        "unit_id": application.supply_unit_id,
        "node_done_at": done_at,
        "due_from": due_from,
        "due_at": due_at,
    }
    if new_application:
        return ApplicationCallback.objects.create(application=application, node=node, **fields)
    callback, _created = ApplicationCallback.objects.get_or_create(
        application=application, node=node, defaults=fields
    )
    return callback
