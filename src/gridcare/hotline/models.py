"""The agent workspace: calls from the CTI/IVR, agent states, wrap-up codes, shift handovers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.core.masking import mask_phone
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


class Call(models.Model):
    """来电记录: one call as reported by the CTI, and what the agent did on it."""

    class State(models.TextChoices):
        RINGING = "ringing", _("振铃")
        ANSWERED = "answered", _("通话中")
        ENDED = "ended", _("已结束")

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
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("座席单位"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.RINGING)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("客户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    ringing_at = models.DateTimeField(_("振铃时间"))
    answered_at = models.DateTimeField(_("接听时间"), null=True, blank=True)
    ended_at = models.DateTimeField(_("挂机时间"), null=True, blank=True)
    wrapped_up_at = models.DateTimeField(_("小结时间"), null=True, blank=True)
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
        ordering = ["-ringing_at"]
        verbose_name = _("来电记录")
        verbose_name_plural = _("来电记录")
        indexes = [models.Index(fields=["agent", "state"], name="call_agent_state")]

    def __str__(self) -> str:
        # Masked: the name of a call shows in the admin's titles, logs and audit entries.
        return f"{self.call_id} {mask_phone(self.caller_number)}"

    @property
    def talk_seconds(self) -> int | None:
        if self.answered_at and self.ended_at:
            return int((self.ended_at - self.answered_at).total_seconds())
        return None

    @property
    def handling_seconds(self) -> int | None:
        """Talk time plus after-call work (what quality statistics count)."""
        end = self.wrapped_up_at or self.ended_at
        if self.answered_at and end:
            return int((end - self.answered_at).total_seconds())
        return None


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
