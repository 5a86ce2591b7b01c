"""When a customer may be called back (``CallbackSetting``: the calling hours, the minimum interval
between two calls), for every callback — a work order's (``rules``) and a business application's
(``applications.callback_work``)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext

from gridcare.core import clock
from gridcare.core.api_errors import ApiError, ErrorCode

from .models import CallbackSetting


def require_calling_hours(now: dt.datetime, setting: CallbackSetting | None = None) -> None:
    """409 ``outside_calling_hours`` outside the allowed hours (Asia/Shanghai)."""
    setting = setting or CallbackSetting.current()
    local = clock.local(now).time()
    if not setting.calls_from <= local < setting.calls_until:
        raise ApiError(
            ErrorCode.OUTSIDE_CALLING_HOURS,
            gettext("回访拨打时段为 %(start)s–%(end)s，现在不能拨打")
            % {"start": f"{setting.calls_from:%H:%M}", "end": f"{setting.calls_until:%H:%M}"},
            status=409,
        )


def next_call_at(
    last_call_at: dt.datetime | None, setting: CallbackSetting | None = None
) -> dt.datetime | None:
    """The earliest time of the next call after one at ``last_call_at`` (the minimum interval)."""
    if last_call_at is None:
        return None
    setting = setting or CallbackSetting.current()
    return last_call_at + dt.timedelta(minutes=setting.min_interval_minutes)


def require_interval(
    last_call_at: dt.datetime | None, now: dt.datetime, setting: CallbackSetting | None = None
) -> None:
    """409 ``callback_too_soon`` (with ``next_call_at``) within the minimum interval of the last call."""
    allowed = next_call_at(last_call_at, setting)
    if allowed is not None and now < allowed:
        raise ApiError(
            ErrorCode.CALLBACK_TOO_SOON,
            gettext("距上次拨打不足规定间隔，%(at)s 后才能再次拨打")
            % {"at": f"{clock.local(allowed):%Y-%m-%d %H:%M}"},
            status=409,
            next_call_at=clock.local(allowed).isoformat(),
        )
