"""Outage information (停电信息): planned, temporary and fault outages, their scope on the grid
topology, and the affected customers materialized so "is customer X out?" is one indexed query.

The notice rules (7 days for planned, 24 h for temporary outages) are data: :class:`NoticeRule`,
seeded by migration 0002 and editable in the admin.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridcare.core import clock
from gridcare.core.models import HistoryEntry
from gridcare.customers.models import Customer, Feeder, TransformerArea
from gridcare.org.models import Unit


class OutageKind(models.TextChoices):
    PLANNED = "planned", _("计划停电")
    TEMPORARY = "temporary", _("临时检修")
    FAULT = "fault", _("故障停电")


class OutageState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    IN_PROGRESS = "in_progress", _("停电中")
    RESTORED = "restored", _("已送电")
    CANCELLED = "cancelled", _("已取消")
    MERGED = "merged", _("已并入")


# States in which customers are (or will be) without power: what the lookup answers.
LIVE_STATES = (OutageState.PUBLISHED, OutageState.IN_PROGRESS)
# States shown to the public lookup (a restored outage still answers "power came back at …").
PUBLIC_STATES = (OutageState.PUBLISHED, OutageState.IN_PROGRESS, OutageState.RESTORED)


class NoticeRule(models.Model):
    """停电通知时限规则: how far ahead an outage of one kind must be published."""

    kind = models.CharField(_("停电类型"), max_length=12, choices=OutageKind.choices, unique=True)
    min_notice_hours = models.PositiveIntegerField(
        _("最短提前通知(小时)"), default=0, help_text=_("0 表示无提前通知要求（如故障停电）")
    )
    phone_key_customers = models.BooleanField(
        _("须电话告知重要客户"),
        default=False,
        help_text=_("停电前（或发现停电后）逐户电话告知重要客户并登记"),
    )
    note = models.CharField(_("依据"), max_length=200, blank=True)

    class Meta:
        ordering = ["kind"]
        verbose_name = _("停电通知时限规则")
        verbose_name_plural = _("停电通知时限规则")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.min_notice_hours} h"


class Outage(models.Model):
    """停电信息: one planned, temporary-maintenance or fault outage and its scope.

    ``starts_at`` / ``ends_at`` are the effective window (actual times when known, else planned or
    estimated), kept by the services so lookups are simple range filters; ``ends_at`` is empty
    while a fault's restoration time is unknown.
    """

    number = models.CharField(_("编号"), max_length=20, unique=True)
    kind = models.CharField(_("停电类型"), max_length=12, choices=OutageKind.choices)
    state = models.CharField(_("状态"), max_length=12, choices=OutageState.choices, default=OutageState.DRAFT)
    reason = models.CharField(
        _("停电原因"), max_length=200, help_text=_("对外公布的原因，如“10kV东风线检修”")
    )
    area_text = models.CharField(
        _("停电范围说明"), max_length=300, blank=True, help_text=_("对外公布的范围，如“东风路沿线、东风小区”")
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("发布单位"), on_delete=models.PROTECT, related_name="outages"
    )

    planned_start = models.DateTimeField(_("计划停电时间"), null=True, blank=True)
    planned_end = models.DateTimeField(_("计划送电时间"), null=True, blank=True)
    estimated_end = models.DateTimeField(_("预计恢复时间"), null=True, blank=True)
    actual_start = models.DateTimeField(_("实际停电时间"), null=True, blank=True)
    actual_end = models.DateTimeField(_("实际送电时间"), null=True, blank=True)
    starts_at = models.DateTimeField(_("停电起"), null=True, blank=True, editable=False)
    ends_at = models.DateTimeField(_("停电止"), null=True, blank=True, editable=False)

    # Declared scope; ``areas`` is its expansion (a feeder means all of its transformer areas).
    feeders = models.ManyToManyField(Feeder, verbose_name=_("停电线路"), blank=True, related_name="+")
    transformer_areas = models.ManyToManyField(
        TransformerArea, verbose_name=_("停电台区"), blank=True, related_name="+"
    )
    customer_count = models.PositiveIntegerField(_("影响户数"), default=0)
    key_customer_count = models.PositiveIntegerField(_("重要客户数"), default=0)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发布人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    notice_hours = models.DecimalField(
        _("实际提前通知(小时)"), max_digits=8, decimal_places=1, null=True, blank=True
    )
    required_notice_hours = models.PositiveIntegerField(_("要求提前通知(小时)"), null=True, blank=True)
    override_reason = models.CharField(_("不足时限发布理由"), max_length=300, blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("不足时限发布批准人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    override_at = models.DateTimeField(_("不足时限发布时间"), null=True, blank=True)
    restore_note = models.CharField(_("送电说明"), max_length=300, blank=True)
    cancel_reason = models.CharField(_("取消原因"), max_length=300, blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("并入停电"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
        help_text=_("同一故障的两条停电信息合并后，本条的客户由并入的那条通知"),
    )
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, unique=True, editable=False)
    # A hash of the request body that used the key: a retry must send the same body (422 otherwise).
    idempotency_fingerprint = models.CharField(max_length=32, blank=True, default="", editable=False)

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = _("停电信息")
        verbose_name_plural = _("停电信息")
        indexes = [
            models.Index(fields=["state", "starts_at"], name="outage_state_start"),
            models.Index(fields=["kind", "state"], name="outage_kind_state"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.get_kind_display()} {self.reason}"

    @property
    def expected_end(self):
        """Until when: the actual restoration, else the latest estimate, else the planned end."""
        return self.actual_end or self.estimated_end or self.planned_end

    @property
    def is_overridden(self) -> bool:
        return bool(self.override_reason)

    def refresh_window(self) -> None:
        self.starts_at = self.actual_start or self.planned_start
        self.ends_at = self.expected_end


class OutageArea(models.Model):
    """停电台区: one transformer area inside an outage's scope (the expansion of feeders and areas).
    ``station`` repeats the area's supply station so scoping is one indexed filter."""

    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="areas")
    transformer_area = models.ForeignKey(TransformerArea, on_delete=models.PROTECT, related_name="+")
    feeder = models.ForeignKey(Feeder, on_delete=models.PROTECT, related_name="+")
    station = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    customer_count = models.PositiveIntegerField(_("户数"), default=0)

    class Meta:
        ordering = ["outage", "transformer_area"]
        verbose_name = _("停电台区")
        verbose_name_plural = _("停电台区")
        constraints = [
            models.UniqueConstraint(fields=["outage", "transformer_area"], name="uniq_outage_area")
        ]
        indexes = [
            models.Index(fields=["transformer_area", "outage"], name="outage_area_by_area"),
            models.Index(fields=["feeder", "outage"], name="outage_area_by_feeder"),
            models.Index(fields=["station", "outage"], name="outage_area_by_station"),
        ]

    def __str__(self) -> str:
        return f"{self.outage_id}:{self.transformer_area_id}"


class OutageCustomer(models.Model):
    """停电影响客户: one affected customer of one outage, with the notices queued for them and,
    for key customers, the phone call that told them (the checklist of 重要客户电话告知)."""

    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="affected")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    transformer_area = models.ForeignKey(TransformerArea, on_delete=models.PROTECT, related_name="+")
    is_key = models.BooleanField(_("重要客户"), default=False)
    notice_queued_at = models.DateTimeField(_("停电通知入队"), null=True, blank=True)
    restore_queued_at = models.DateTimeField(_("送电通知入队"), null=True, blank=True)
    cancel_queued_at = models.DateTimeField(_("取消通知入队"), null=True, blank=True)
    phoned_at = models.DateTimeField(_("电话告知时间"), null=True, blank=True)
    phoned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("告知人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    phone_note = models.CharField(_("告知情况"), max_length=200, blank=True)

    class Meta:
        ordering = ["outage", "-is_key", "customer"]
        verbose_name = _("停电影响客户")
        verbose_name_plural = _("停电影响客户")
        constraints = [models.UniqueConstraint(fields=["outage", "customer"], name="uniq_outage_customer")]
        indexes = [
            # "Is customer X out?": every outage of one customer, newest first.
            models.Index(fields=["customer", "outage"], name="outage_cust_by_customer"),
            models.Index(fields=["outage", "transformer_area"], name="outage_cust_by_area"),
            models.Index(fields=["outage", "customer"], condition=Q(is_key=True), name="outage_cust_key"),
        ]

    def __str__(self) -> str:
        return f"{self.outage_id}:{self.customer_id}"


class OutageEvent(HistoryEntry):
    """停电信息流转记录: who did what to an outage, when, and why (the shape of
    ``core.models.HistoryEntry``)."""

    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="events")

    class Meta:
        ordering = ["outage", "at", "id"]
        verbose_name = _("停电信息流转记录")
        verbose_name_plural = _("停电信息流转记录")

    ACTION_LABELS = {
        "create": _("新建"),
        "publish": _("发布"),
        "start": _("实际停电"),
        "restore": _("恢复送电"),
        "cancel": _("取消"),
        "open_fault": _("故障停电登记"),
        "update_scope": _("调整停电范围"),
        "estimate": _("更新预计恢复时间"),
        "key_customer_called": _("电话告知重要客户"),
    }

    def __str__(self) -> str:
        return f"{self.outage_id} {self.action}"

    @property
    def action_label(self) -> str:
        return str(self.ACTION_LABELS.get(self.action, self.action))

    @property
    def from_label(self) -> str:
        return str(OutageState(self.from_state).label) if self.from_state in OutageState.values else ""

    @property
    def to_label(self) -> str:
        return str(OutageState(self.to_state).label) if self.to_state in OutageState.values else ""
