"""Scoped reads of the hotline: the call-back list (回拨清单) of the units a user sees."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext

from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Viewer

from .models import Call, ReturnCall
from .rules import RETURN_CALL_ROLES

# The list's filter: the open entries (the default), one state, or all.
OPEN = "open"
ALL = "all"


def check_return_call_role(user: Viewer) -> None:
    """The call-back list is the hotline's: its roles only (403 ``forbidden_role``)."""
    if not scoping.has_role(user, *RETURN_CALL_ROLES):
        raise ApiError(ErrorCode.FORBIDDEN_ROLE, gettext("您的岗位不能处理回拨清单"), status=403)


def return_calls(
    user: Viewer, active_unit: Unit | None = None, *, state: str = OPEN, date: dt.date | None = None
) -> QuerySet[ReturnCall]:
    """The entries of the units ``user`` sees (narrowed to ``active_unit``), oldest missed first."""
    check_return_call_role(user)
    entries = scoping.restrict(ReturnCall.objects.all(), user, "unit_id", active_unit)
    if state == OPEN:
        entries = entries.filter(state__in=ReturnCall.OPEN_STATES)
    elif state != ALL:
        entries = entries.filter(state=state)
    if date is not None:
        entries = entries.filter(missed_date=date)
    return entries.select_related("unit", "called_back_by").prefetch_related(
        Prefetch(
            "missed_calls",
            queryset=Call.objects.only("id", "call_id", "return_call_id").order_by("arrived_at"),
        )
    )


def get_return_call(user: Viewer, pk: int, active_unit: Unit | None = None) -> ReturnCall:
    """One entry in ``user``'s scope, or 404 (also for one that exists in another unit)."""
    check_return_call_role(user)
    return scoping.get_for_user(
        ReturnCall.objects.select_related("unit", "called_back_by"), user, "unit_id", active_unit, pk=pk
    )
