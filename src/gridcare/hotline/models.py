"""The agent workspace: calls from the CTI/IVR, agent states, wrap-up codes, shift handovers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.core import clock
from gridcare.core.masking import mask_phone
from gridcare.core.models import HistoryEntry, SettingsRow
from gridcare.customers.models import Customer
from gridcare.org.models import Unit
from gridcare.workorders.models import WorkOrder


class AgentState(models.Model):
    """座席状态."""

    class State(models.TextChoices):
        OFFLINE = "offline", _("未签入")
        READY = "ready", _("空闲")
        ON_CALL = "on_call", _("通话中")
        AFTER_CALL = "after_call", _("话后处理")
        BREAK = "break", _("小休")

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_state", verbose_name=_("座席")
    )
    state = models.CharField(_("状态"), max_length=12, choices=State.choices, default=State.OFFLINE)
    since = models.DateTimeField(_("进入状态时间"))
    extension = models.CharField(_("分机号"), max_length=20, blank=True)

    class Meta:
        ordering = ["agent"]
        verbose_name = _("座席状态")
        verbose_name_plural = _("座席状态")

    def __str__(self) -> str:
        return f"{self.agent} {self.get_state_display()}"


class WrapUpCode(models.Model):
    """话后小结代码 (data)."""

    code = models.CharField(_("代码"), max_length=20, unique=True)
    label = models.CharField(_("名称"), max_length=60)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("话后小结代码")
        verbose_name_plural = _("话后小结代码")

    def __str__(self) -> str:
        return f"{self.code} {self.label}"


class CallStatisticsSetting(SettingsRow):
    """来电统计参数 (data, one row): what the call figures count. A call's figures are worked out
    when its events arrive and kept on its row, so changing a value here changes the calls that
    come after, not the figures already recorded."""

    short_abandon_seconds = models.PositiveSmallIntegerField(
        _("短时放弃阈值（秒）"),
        default=5,
        help_text=_("排队后（或振铃后）在此秒数内挂机的放弃来电为短时放弃：不计入放弃率，也不进入回拨清单"),
    )
    source = models.CharField(
        _("依据"), max_length=200, default="呼叫中心行业惯例：5秒内的短时放弃不计入放弃率", blank=True
    )

    class Meta:
        verbose_name = _("来电统计参数")
        verbose_name_plural = _("来电统计参数")


class Call(models.Model):
    """来电记录: one call as reported by the CTI, what the agent did on it, and the figures the
    call-center statistics count (times, durations, outcome), kept as columns.

    ``state`` is where the call is now; ``outcome`` how it turned out (接通 / 放弃 / 未接通), set
    once the CTI has said so. The durations are derived from the times by ``derive_figures`` each
    time an event changes them (``hotline.calls``)."""

    class State(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RINGING = "ringing", _("振铃")
        ANSWERED = "answered", _("通话中")
        ENDED = "ended", _("已结束")

    class Outcome(models.TextChoices):
        PENDING = "", _("未结束")
        ANSWERED = "answered", _("已接通")
        ABANDONED = "abandoned", _("放弃")  # the caller hung up before an agent answered
        MISSED = "missed", _("未接通")  # the system ended it: no agent was ready to take it

    class Stage(models.TextChoices):
        NONE = "", "—"
        QUEUE = "queue", _("排队中放弃")
        RINGING = "ringing", _("振铃中放弃")

    call_id = models.CharField(_("呼叫标识"), max_length=64, unique=True)
    caller_number = models.CharField(_("主叫号码"), max_length=24, db_index=True)
    called_line = models.CharField(_("被叫线路"), max_length=24, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("座席"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
        help_text=_("来电当前所在（转接后为接手）的座席"),
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接听座席"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("从队列接起来电的座席（转接不改变）"),
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("座席单位"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.RINGING)
    outcome = models.CharField(
        _("结果"), max_length=10, choices=Outcome.choices, default=Outcome.PENDING, blank=True
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("客户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    # The times the CTI reported (and the wrap-up's).
    arrived_at = models.DateTimeField(_("来电时间"), help_text=_("最早一个事件的时间"))
    call_date = models.DateField(_("来电日期"), help_text=_("来电时间的北京时间日期，按日统计用"))
    queued_at = models.DateTimeField(_("进入队列时间"), null=True, blank=True)
    ringing_at = models.DateTimeField(_("振铃时间"), null=True, blank=True)
    answered_at = models.DateTimeField(_("接听时间"), null=True, blank=True)
    abandoned_at = models.DateTimeField(_("放弃时间"), null=True, blank=True)
    ended_at = models.DateTimeField(_("挂机时间"), null=True, blank=True)
    wrapped_up_at = models.DateTimeField(_("小结时间"), null=True, blank=True)
    # The figures derived from them (``derive_figures``).
    wait_seconds = models.PositiveIntegerField(
        _("等待时长（秒）"),
        null=True,
        blank=True,
        help_text=_("进入队列（未报排队时为振铃）到接听、放弃或未接通挂机"),
    )
    talk_seconds = models.PositiveIntegerField(_("通话时长（秒）"), null=True, blank=True)
    wrap_up_seconds = models.PositiveIntegerField(_("话后处理时长（秒）"), null=True, blank=True)
    abandoned_in = models.CharField(
        _("放弃环节"), max_length=8, choices=Stage.choices, default=Stage.NONE, blank=True
    )
    abandon_inferred = models.BooleanField(
        _("由挂机推断放弃"), default=False, help_text=_("CTI只报了挂机而未报放弃：未接听即挂机按放弃计")
    )
    short_abandon = models.BooleanField(_("短时放弃"), default=False)
    transfers_count = models.PositiveSmallIntegerField(_("转接次数"), default=0)
    recording_ref = models.CharField(_("录音标识"), max_length=300, blank=True)
    return_call = models.ForeignKey(
        "ReturnCall",
        verbose_name=_("回拨清单"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="missed_calls",
    )
    wrap_up = models.ForeignKey(
        WrapUpCode,
        verbose_name=_("话后小结"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("备注"), blank=True)
    work_orders = models.ManyToManyField(
        WorkOrder, verbose_name=_("关联工单"), blank=True, related_name="calls"
    )

    class Meta:
        ordering = ["-arrived_at"]
        verbose_name = _("来电记录")
        verbose_name_plural = _("来电记录")
        indexes = [
            models.Index(fields=["agent", "state"], name="call_agent_state"),
            # The statistics: per day (and unit), per answering agent, per handling agent.
            models.Index(fields=["call_date", "unit"], name="call_day_unit"),
            models.Index(fields=["answered_by", "call_date"], name="call_answerer_day"),
            models.Index(fields=["agent", "call_date"], name="call_agent_day"),
            # The statistics roll-ups read one hour or day of calls at a time.
            models.Index(fields=["arrived_at"], name="call_arrived"),
        ]

    def __str__(self) -> str:
        # Masked: the name of a call shows in the admin's titles, logs and audit entries.
        return f"{self.call_id} {mask_phone(self.caller_number)}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A row written without the call events (the admin, a data import, a test's fixture) still
        gets its arrival and day: the earliest time it has (the events set them themselves)."""
        if self.arrived_at is None:
            times = [t for t in (self.queued_at, self.ringing_at, self.answered_at, self.ended_at) if t]
            self.arrived_at = min(times) if times else clock.now()
        if self.call_date is None:
            self.call_date = clock.local(self.arrived_at).date()
        super().save(*args, **kwargs)

    @property
    def waiting_since(self) -> dt.datetime | None:
        """Where the wait starts: entering the queue, or (a CTI that reports no queue) ringing."""
        return self.queued_at or self.ringing_at

    @property
    def handling_seconds(self) -> int | None:
        """Talk time plus after-call work (what quality statistics count)."""
        end = self.wrapped_up_at or self.ended_at
        if self.answered_at and end:
            return _seconds(self.answered_at, end)
        return None

    def derive_figures(self, short_abandon_seconds: int) -> None:
        """Set the derived columns from the times and the outcome (in memory; the caller saves):
        the arrival and its date, the state, wait / talk / wrap-up seconds, where an abandon
        happened and whether it was short (within ``short_abandon_seconds`` of the wait's start)."""
        times = [
            t
            for t in (self.queued_at, self.ringing_at, self.answered_at, self.abandoned_at, self.ended_at)
            if t is not None
        ]
        if times:
            self.arrived_at = min(times)
            self.call_date = clock.local(self.arrived_at).date()
        if self.ended_at is not None:
            self.state = self.State.ENDED
        elif self.answered_at is not None:
            self.state = self.State.ANSWERED
        elif self.ringing_at is not None:
            self.state = self.State.RINGING
        else:
            self.state = self.State.QUEUED
        start = self.waiting_since
        waited_until = self.answered_at or self.abandoned_at
        if waited_until is None and self.outcome == self.Outcome.MISSED:
            waited_until = self.ended_at
        self.wait_seconds = _seconds(start, waited_until) if start and waited_until else None
        self.talk_seconds = (
            _seconds(self.answered_at, self.ended_at) if self.answered_at and self.ended_at else None
        )
        self.wrap_up_seconds = (
            _seconds(self.ended_at, self.wrapped_up_at)
            if self.answered_at and self.ended_at and self.wrapped_up_at
            else None
        )
        abandoned = self.outcome == self.Outcome.ABANDONED and self.abandoned_at is not None
        if abandoned and self.abandoned_at is not None:
            rang = self.ringing_at is not None and self.ringing_at <= self.abandoned_at
            self.abandoned_in = self.Stage.RINGING if rang else self.Stage.QUEUE
            self.short_abandon = start is not None and (self.abandoned_at - start) <= dt.timedelta(
                seconds=short_abandon_seconds
            )
        else:
            self.abandoned_in = self.Stage.NONE
            self.short_abandon = False


def _seconds(start: dt.datetime, end: dt.datetime) -> int:
    """Whole seconds from ``start`` to ``end`` (cut, never rounded up; never negative)."""
    return max(0, int((end - start).total_seconds()))


class CallTransfer(models.Model):
    """转接记录: an agent passed a call on, to another agent, a skill queue or an outside line. The
    call goes on; one row per transfer, in the order the CTI reported them."""

    class Kind(models.TextChoices):
        AGENT = "agent", _("转座席")
        QUEUE = "queue", _("转技能组/队列")
        EXTERNAL = "external", _("转外线")

    call = models.ForeignKey(Call, verbose_name=_("来电"), on_delete=models.CASCADE, related_name="transfers")
    at = models.DateTimeField(_("转接时间"))
    kind = models.CharField(_("转接方式"), max_length=10, choices=Kind.choices)
    from_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("转出座席"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    to_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接手座席"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("转技能组时为其后接起的座席"),
    )
    target = models.CharField(
        _("转接目标"), max_length=64, blank=True, help_text=_("技能组/队列名或外线号码")
    )

    class Meta:
        ordering = ["call", "at", "id"]
        verbose_name = _("转接记录")
        verbose_name_plural = _("转接记录")

    def __str__(self) -> str:
        return f"{self.call.call_id} {self.get_kind_display()} {self.at:%H:%M:%S}"


class ReturnCall(models.Model):
    """回拨清单的一项: a caller whose call no agent took (abandoned in the queue or while ringing,
    not a short abandon; or ended with no agent ready), to be called back. One entry per caller
    number, unit and day while it is open: the same caller's further missed calls that day join
    it (``missed_count``). "Return call" in code, so that it is not confused with the work orders'
    callback (回访)."""

    class State(models.TextChoices):
        PENDING = "pending", _("待回拨")
        UNREACHABLE = "unreachable", _("回拨未接通")
        DONE = "done", _("已回拨")
        NOT_NEEDED = "not_needed", _("无需回拨")

    class Reason(models.TextChoices):
        ABANDONED = "abandoned", _("放弃")
        MISSED = "missed", _("未接通")

    unit = models.ForeignKey(Unit, verbose_name=_("座席单位"), on_delete=models.PROTECT, related_name="+")
    caller_number = models.CharField(_("主叫号码"), max_length=24)
    missed_date = models.DateField(_("未接日期"))
    reason = models.CharField(_("原因"), max_length=10, choices=Reason.choices)
    state = models.CharField(_("状态"), max_length=12, choices=State.choices, default=State.PENDING)
    missed_count = models.PositiveSmallIntegerField(_("未接次数"), default=1)
    first_missed_at = models.DateTimeField(_("首次未接时间"))
    last_missed_at = models.DateTimeField(_("最近未接时间"))
    attempts = models.PositiveSmallIntegerField(_("回拨次数"), default=0)
    called_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("回拨人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    called_back_at = models.DateTimeField(_("回拨时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    close_reason = models.CharField(_("无需回拨原因"), max_length=200, blank=True)
    note = models.TextField(_("回拨备注"), blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        ordering = ["first_missed_at", "id"]
        verbose_name = _("回拨清单")
        verbose_name_plural = _("回拨清单")
        indexes = [
            models.Index(fields=["unit", "state", "first_missed_at"], name="return_call_unit_state"),
            models.Index(fields=["caller_number", "state"], name="return_call_number_state"),
        ]
        constraints = [
            # One open entry per caller, unit and day: a further missed call joins it.
            models.UniqueConstraint(
                fields=["unit", "caller_number", "missed_date"],
                condition=models.Q(state__in=["pending", "unreachable"]),
                name="return_call_one_open_per_day",
            ),
        ]

    OPEN_STATES = (State.PENDING, State.UNREACHABLE)

    def __str__(self) -> str:
        return f"{mask_phone(self.caller_number)} {self.missed_date} {self.get_state_display()}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def caller_masked(self) -> str:
        return mask_phone(self.caller_number)


class ReturnCallEvent(HistoryEntry):
    """回拨记录: one row per thing that happened to an entry of the call-back list (listed, a
    further missed call joined, a call-back attempt and its result, closed automatically)."""

    return_call = models.ForeignKey(
        ReturnCall, verbose_name=_("回拨清单"), on_delete=models.CASCADE, related_name="events"
    )

    class Meta:
        ordering = ["return_call", "at", "id"]
        verbose_name = _("回拨记录")
        verbose_name_plural = _("回拨记录")

    def __str__(self) -> str:
        return f"{self.return_call_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class ShiftHandover(models.Model):
    """交接班记录."""

    unit = models.ForeignKey(Unit, verbose_name=_("班组"), on_delete=models.PROTECT, related_name="+")
    handed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("交班人"),
        on_delete=models.PROTECT,
        related_name="handovers_given",
    )
    handed_at = models.DateTimeField(_("交班时间"))
    notes = models.TextField(_("交班说明"), blank=True)
    open_items = models.JSONField(_("未结事项"), default=list, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接班人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handovers_received",
    )
    received_at = models.DateTimeField(_("接班时间"), null=True, blank=True)
    receive_note = models.TextField(_("接班意见"), blank=True)

    class Meta:
        ordering = ["-handed_at"]
        verbose_name = _("交接班记录")
        verbose_name_plural = _("交接班记录")

    def __str__(self) -> str:
        return f"{self.unit} {self.handed_at:%Y-%m-%d %H:%M} {self.handed_by}"


class AgentStateSpell(models.Model):
    """座席状态记录: one stretch of time an agent spent in one state (ready, on a call, after-call
    work, on a break), written when the state changes — what occupancy and attendance time are
    counted from. The spell still running has no end."""

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("座席"), on_delete=models.CASCADE, related_name="+"
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("座席单位"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(_("状态"), max_length=12, choices=AgentState.State.choices)
    started_at = models.DateTimeField(_("开始时间"))
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    seconds = models.PositiveIntegerField(_("时长（秒）"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("座席状态记录")
        verbose_name_plural = _("座席状态记录")
        indexes = [
            models.Index(fields=["agent", "started_at"], name="spell_agent_start"),
            models.Index(fields=["started_at"], name="spell_start"),  # the statistics roll-ups
        ]

    def __str__(self) -> str:
        return f"{self.agent} {self.get_state_display()} {self.started_at:%Y-%m-%d %H:%M}"
