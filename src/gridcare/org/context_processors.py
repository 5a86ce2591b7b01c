"""What the base layout needs: the user's roles, units (for the switcher) and navigation."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from .models import Role
from .scoping import assignments_of, roles_of

# (label, url name, roles that see it; empty = every staff member)
NAVIGATION = [
    (_("工作台"), "home", ()),
    (_("座席工作台"), "hotline:workspace", (Role.AGENT, Role.SHIFT_LEADER)),
    (_("客户查询"), "customers:search", ()),
    (_("工单"), "workorders:queue", ()),
    (
        _("业扩报装"),
        "applications:list",
        (Role.BUSINESS_CLERK, Role.ACCOUNT_MANAGER, Role.MANAGER, Role.ADMIN),
    ),
    (_("电费核算"), "billing:runs", (Role.BILLING_CLERK, Role.MANAGER, Role.ADMIN)),
    (_("收费"), "billing:desk", (Role.CASHIER, Role.BILLING_CLERK, Role.MANAGER)),
    (
        _("欠费停复电"),
        "billing:cases",
        (Role.BILLING_CLERK, Role.ACCOUNT_MANAGER, Role.MANAGER, Role.ADMIN),
    ),
    (_("知识库"), "knowledge:search", ()),
    (_("停电信息"), "outages:list", ()),
    (_("抢修指挥"), "repair:board", (Role.DISPATCHER, Role.SHIFT_LEADER, Role.MANAGER)),
    (_("我的抢修任务"), "repair:my_jobs", (Role.CREW,)),
    (_("我的服务评价"), "quality:me", (Role.AGENT,)),
    (_("质检"), "quality:inspections", (Role.INSPECTOR, Role.SHIFT_LEADER, Role.MANAGER, Role.AGENT)),
    (
        _("统计报表"),
        "quality:overview",
        (Role.MANAGER, Role.SHIFT_LEADER, Role.DISPATCHER, Role.AUDITOR, Role.ACCOUNT_MANAGER),
    ),
    (_("排班测算"), "quality:staffing", (Role.SHIFT_LEADER, Role.MANAGER)),
    (_("业扩回访"), "applications:callbacks", (Role.AGENT, Role.SHIFT_LEADER)),
    (_("稽查案件"), "applications:audit_cases", (Role.AUDITOR,)),
]


def workspace(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = roles_of(user)
    nav = []
    for label, url_name, allowed in NAVIGATION:
        if allowed and not (user.is_superuser or roles & set(allowed)):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        nav.append(
            {
                "label": label,
                "url": url,
                "active": request.path == url or (url != "/" and request.path.startswith(url)),
            }
        )
    calendar_warning = []
    if user.is_superuser or Role.ADMIN in roles:
        from gridcare.core.calendar import years_awaiting_schedule

        calendar_warning = years_awaiting_schedule()
    from gridcare.notify.queries import unread_count

    return {
        "unread_messages": unread_count(user.pk),
        "nav_items": nav,
        "my_assignments": assignments_of(user),
        "my_roles": sorted({a.get_role_display() for a in assignments_of(user)}),
        "my_role_codes": frozenset(roles),
        "active_unit": getattr(request, "active_unit", None),
        "calendar_warning_years": calendar_warning,
    }
