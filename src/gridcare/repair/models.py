"""Fault repair command (抢修指挥): the repair network, trouble calls, outage events, dispatch.

- ``Crew`` / ``DutyRoster``: the three-level repair network of a supply station and who is on duty.
- ``TroubleCall``: one fault-repair work order placed on the grid topology (customer → 台区 → 线路).
- ``FaultEvent``: calls rolled up onto the device that most likely failed (故障停电事件).
- ``CrewAssignment`` / ``SupportRequest`` / ``EventUpdate``: dispatch, reinforcement and history.
- ``RepairSetting``: the analysis thresholds and dispatch rules, as data (editable in the admin).
- ``ReportedCall``: a fault call recorded by the API (来电登记), queued until the processing
  (``services.process_queued_calls``) turns it into a work order and a trouble call.

Over 500 lines on purpose: Django's models of one app live in one module (their migrations,
admin and relations refer to them as one set); each model is short and documented.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridcare.core.models import HistoryEntry, SettingsRow
from gridcare.customers.models import AreaClass, Customer, Feeder, TransformerArea
from gridcare.org.models import Unit
from gridcare.workorders.models import Channel, WorkOrder


class RepairSetting(SettingsRow):
    """研判与调度参数 (one row, editable in the admin): when calls make an outage event, and how
    events are dispatched and watched."""

    window_minutes = models.PositiveIntegerField(
        _("研判时间窗(分钟)"), default=120, help_text=_("只把这段时间内的来电归并研判")
    )
    # The likelihood model of the analysis (repair.inference, ADR 0008). Defaults come from the
    # method, not from a storm; the ADR explains each.
    prior_area = models.DecimalField(
        _("台区故障先验概率"),
        max_digits=6,
        decimal_places=5,
        default=Decimal("0.00020"),
        validators=[MinValueValidator(Decimal("0.00001")), MaxValueValidator(Decimal("0.5"))],
        help_text=_("平日研判时间窗内任一台区（配变）发生故障的概率；风暴中按已研判的故障台区重新估计"),
    )
    prior_feeder = models.DecimalField(
        _("线路故障先验概率"),
        max_digits=6,
        decimal_places=5,
        default=Decimal("0.00100"),
        validators=[MinValueValidator(Decimal("0.00001")), MaxValueValidator(Decimal("0.5"))],
        help_text=_("平日研判时间窗内任一线路发生故障的概率；风暴中按已研判的故障线路重新估计"),
    )
    area_spread = models.DecimalField(
        _("台区报修率差异倍数"),
        max_digits=4,
        decimal_places=1,
        default=Decimal("3.0"),
        validators=[MinValueValidator(Decimal("1.0")), MaxValueValidator(Decimal("20"))],
        help_text=_("同一线路停电时，各台区报修比例相对线路平均水平可能高低的倍数"),
    )
    background_rate = models.DecimalField(
        _("平日背景报修率"),
        max_digits=8,
        decimal_places=7,
        default=Decimal("0.0000200"),
        validators=[MinValueValidator(Decimal("0.0000001")), MaxValueValidator(Decimal("0.1"))],
        help_text=_("平日每户每研判时间窗因自身原因报修的概率；研判时结合当时来电估计"),
    )
    area_event_at = models.DecimalField(
        _("台区事件成立概率"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.80"),
        validators=[MinValueValidator(Decimal("0.05")), MaxValueValidator(Decimal("0.99"))],
        help_text=_("台区故障的后验概率达到此值时形成台区事件"),
    )
    feeder_event_at = models.DecimalField(
        _("线路事件成立概率"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.90"),
        validators=[MinValueValidator(Decimal("0.05")), MaxValueValidator(Decimal("0.99"))],
        help_text=_("线路故障的后验概率达到此值时形成（或升级为）线路事件"),
    )
    withdraw_below = models.DecimalField(
        _("事件降级概率"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.50"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("0.95"))],
        help_text=_("已形成的线路事件后验概率低于此值时降为其中的台区事件"),
    )
    suspect_at = models.DecimalField(
        _("疑似停电概率"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.30"),
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("0.95"))],
        help_text=_("所在台区或线路故障概率达到此值时，不再引导报修客户自查"),
    )
    auto_dispatch = models.BooleanField(
        _("自动派工"), default=True, help_text=_("台区/线路事件形成后自动派最近的可用队伍")
    )
    auto_review_on_restore = models.BooleanField(
        _("恢复送电后自动审核"), default=True, help_text=_("恢复送电时回单并审核全部关联工单，进入回访队列")
    )
    max_jobs_per_crew = models.PositiveSmallIntegerField(_("每支队伍同时最多任务数"), default=2)
    # The queue of events waiting for a crew (repair.crew_queue, docs/repair.md "Scarce crews"):
    # a waiting event's priority is the sum of these weights; ties go to the event waiting longest.
    # The defaults make the order hazard, then key customers, then customers affected.
    queue_weight_hazard = models.PositiveIntegerField(
        _("排队权重：安全隐患"),
        default=100_000_000,
        help_text=_("有安全隐患的事件加此分；默认远大于其他各项，安全隐患总是排在最前"),
    )
    queue_weight_key_customer = models.PositiveIntegerField(
        _("排队权重：每个重要客户"),
        default=100_000,
        help_text=_("每个受影响的重要客户加此分；默认大于任何线路的户数，重要客户先于户数"),
    )
    queue_weight_customer = models.PositiveIntegerField(
        _("排队权重：每户受影响客户"), default=1, help_text=_("每户受影响客户加此分")
    )
    queue_weight_waiting = models.PositiveIntegerField(
        _("排队权重：每等待一分钟"),
        default=0,
        help_text=_("事件每等待一分钟加此分；为 0 时等待时间只在其他各项相同时决定先后"),
    )
    reinforce_from_neighbours = models.BooleanField(
        _("自动调派邻所支援"),
        default=True,
        help_text=_("本所无空闲队伍、事件等待超过下列时间时，自动调派同县邻所的空闲队伍"),
    )
    reinforce_after_minutes = models.PositiveSmallIntegerField(
        _("等待多久调派邻所支援(分钟)"),
        default=3,
        validators=[MaxValueValidator(240)],
        help_text=_("派工时限 5 分钟减去研判巡检间隔（1 分钟）再留 1 分钟余量；安全隐患事件不等待"),
    )
    neighbour_keeps_crews = models.PositiveSmallIntegerField(
        _("邻所至少保留空闲队伍数"),
        default=1,
        help_text=_("邻所只借出多于此数的空闲队伍，留给本所新发生的故障"),
    )
    outage_warning_hours = models.DecimalField(
        _("停电超时预警(小时)"),
        max_digits=5,
        decimal_places=1,
        default=12,
        help_text=_("超过即发二级服务预警"),
    )
    day_shift_starts = models.TimeField(_("白班开始"), default=dt.time(8, 0))
    night_shift_starts = models.TimeField(_("夜班开始"), default=dt.time(20, 0))

    def model_params(self):
        """The inference model's parameters from this row (repair.inference.Params)."""
        from .inference import Params

        return Params(
            prior_area=float(self.prior_area),
            prior_feeder=float(self.prior_feeder),
            area_spread=float(self.area_spread),
            background_rate=float(self.background_rate),
        )

    class Meta:
        verbose_name = _("研判与调度参数")
        verbose_name_plural = _("研判与调度参数")


class AnalysisWakeup(models.Model):
    """研判唤醒: the one row remembering when the next roll-up task is due, so a storm of calls
    schedules one roll-up every few seconds rather than one per call."""

    run_after = models.DateTimeField(_("计划研判时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("研判唤醒")
        verbose_name_plural = _("研判唤醒")

    def __str__(self) -> str:
        return str(self.run_after or "-")


class Crew(models.Model):
    """抢修队伍: a crew of the three-level repair network of a supply station."""

    class Tier(models.TextChoices):
        JOINT_DEFENSE = "joint_defense", _("供电所联防组织")
        REPAIR_TEAM = "repair_team", _("供电所抢修班")
        ELECTRICIAN_GROUP = "electrician_group", _("电工组")

    class Status(models.TextChoices):
        ON_DUTY = "on_duty", _("值班待命")
        DISPATCHED = "dispatched", _("已派工")
        ON_SITE = "on_site", _("现场处置")
        OFF = "off", _("休息")

    name = models.CharField(_("名称"), max_length=60)
    code = models.CharField(_("编码"), max_length=32, unique=True)
    tier = models.CharField(_("层级"), max_length=20, choices=Tier.choices, default=Tier.REPAIR_TEAM)
    station = models.ForeignKey(
        Unit, verbose_name=_("所属供电所"), on_delete=models.PROTECT, related_name="crews"
    )
    team_unit = models.ForeignKey(
        Unit,
        verbose_name=_("所属班组"),
        on_delete=models.PROTECT,
        related_name="team_crews",
        help_text=_("工单派往此班组；队员在此班组任抢修人员"),
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("负责人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_crews",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("队员"), blank=True, related_name="crews"
    )
    vehicle = models.CharField(_("车辆"), max_length=40, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    service_area = models.CharField(_("服务区域"), max_length=200, blank=True)
    service_feeders = models.ManyToManyField(
        Feeder, verbose_name=_("负责线路"), blank=True, related_name="crews"
    )
    status = models.CharField(_("值班状态"), max_length=12, choices=Status.choices, default=Status.ON_DUTY)
    status_since = models.DateTimeField(_("状态时间"), null=True, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["station__path", "code"]
        verbose_name = _("抢修队伍")
        verbose_name_plural = _("抢修队伍")

    def __str__(self) -> str:
        return self.name


class DutyRoster(models.Model):
    """值班表: which crews are on duty on a date and shift. A station without any roster row for
    the shift counts every active crew not marked 休息 as on duty."""

    class Shift(models.TextChoices):
        DAY = "day", _("白班")
        NIGHT = "night", _("夜班")

    date = models.DateField(_("日期"))
    shift = models.CharField(_("班次"), max_length=6, choices=Shift.choices)
    crew = models.ForeignKey(Crew, verbose_name=_("队伍"), on_delete=models.CASCADE, related_name="rosters")
    note = models.CharField(_("备注"), max_length=100, blank=True)

    class Meta:
        ordering = ["-date", "shift", "crew"]
        verbose_name = _("值班表")
        verbose_name_plural = _("值班表")
        constraints = [models.UniqueConstraint(fields=["date", "shift", "crew"], name="uniq_roster_crew")]

    def __str__(self) -> str:
        return f"{self.date} {self.get_shift_display()} {self.crew}"


class DeviceLevel(models.TextChoices):
    """研判的故障设备层级."""

    CUSTOMER = "customer", _("客户内部/表后")
    AREA = "area", _("台区（配变）")
    FEEDER = "feeder", _("10kV线路")


class FaultEvent(models.Model):
    """故障停电事件: fault calls rolled up onto the device that most likely failed."""

    class State(models.TextChoices):
        SELF_CHECK = "self_check", _("引导客户自查")
        WAITING = "waiting", _("待派工")
        DISPATCHED = "dispatched", _("已派工")
        ON_SITE = "on_site", _("已到达现场")
        RESTORED = "restored", _("已恢复送电")
        MERGED = "merged", _("已合并")
        CANCELLED = "cancelled", _("已撤销")

    OPEN_STATES = (State.SELF_CHECK, State.WAITING, State.DISPATCHED, State.ON_SITE)

    number = models.CharField(_("事件编号"), max_length=24, unique=True)
    level = models.CharField(_("研判层级"), max_length=10, choices=DeviceLevel.choices)
    state = models.CharField(_("状态"), max_length=12, choices=State.choices, default=State.WAITING)
    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    transformer_area = models.ForeignKey(
        TransformerArea,
        verbose_name=_("疑似故障台区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    feeder = models.ForeignKey(
        Feeder,
        verbose_name=_("疑似故障线路"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    station = models.ForeignKey(
        Unit, verbose_name=_("责任供电所"), on_delete=models.PROTECT, related_name="+"
    )
    area_class = models.CharField(
        _("区域类别"), max_length=10, choices=AreaClass.choices, default=AreaClass.URBAN
    )
    confidence = models.DecimalField(_("研判可信度"), max_digits=4, decimal_places=2, default=0)
    hazard = models.BooleanField(
        _("安全隐患"),
        default=False,
        help_text=_("有来电报告断线、冒火、触电风险：紧急事件，立即派工，看板、事件页和手机派工单醒目标示"),
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    primary_order = models.ForeignKey(
        WorkOrder, verbose_name=_("主工单"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    crew = models.ForeignKey(
        Crew, verbose_name=_("主责队伍"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_into = models.ForeignKey(
        "self", verbose_name=_("合并至"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    call_count = models.PositiveIntegerField(_("来电数"), default=0)
    caller_count = models.PositiveIntegerField(_("报修户数"), default=0)
    affected_count = models.PositiveIntegerField(_("影响户数"), default=0)
    key_customer_count = models.PositiveIntegerField(_("重要客户数"), default=0)
    first_call_at = models.DateTimeField(_("首次来电"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派工时间"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("到达时间"), null=True, blank=True)
    estimated_restore_at = models.DateTimeField(_("预计恢复送电"), null=True, blank=True)
    restored_at = models.DateTimeField(_("恢复送电时间"), null=True, blank=True)
    cause = models.CharField(_("故障原因"), max_length=200, blank=True)
    situation = models.TextField(_("现场情况"), blank=True)
    result = models.TextField(_("处理结果"), blank=True)
    service_warning_level = models.PositiveSmallIntegerField(_("服务预警级别"), default=0)
    outage = models.ForeignKey(
        "outages.Outage",
        verbose_name=_("停电信息"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("向客户发布的故障停电信息（停电告知与恢复送电通知由停电信息发送）"),
    )
    customers_notified_at = models.DateTimeField(_("已通知客户"), null=True, blank=True)
    created_at = models.DateTimeField(_("研判时间"), db_index=True)
    updated_at = models.DateTimeField(_("更新时间"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("故障停电事件")
        verbose_name_plural = _("故障停电事件")
        indexes = [
            models.Index(
                fields=["transformer_area"],
                condition=Q(state__in=["self_check", "waiting", "dispatched", "on_site"]),
                name="repair_event_open_area",
            ),
            models.Index(
                fields=["feeder"],
                condition=Q(state__in=["self_check", "waiting", "dispatched", "on_site"]),
                name="repair_event_open_feeder",
            ),
            models.Index(fields=["station", "state"], name="repair_event_station_state"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.device_label}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def device_id(self) -> int | None:
        """The id of the device the event is on: its feeder, transformer area or customer."""
        if self.level == DeviceLevel.FEEDER:
            return self.feeder_id
        if self.level == DeviceLevel.AREA:
            return self.transformer_area_id
        return self.customer_id

    @staticmethod
    def oldest_by_device(events) -> dict[str, dict[int, FaultEvent]]:
        """``events`` (in creation order) by level and device, the oldest of a device kept: the
        event a call on that device belongs to, as ``analysis.open_event_for`` picks it (a split
        or a dispatcher's own event can leave two open events on one device)."""
        by_level: dict[str, dict[int, FaultEvent]] = {level: {} for level in DeviceLevel.values}
        for event in events:
            if event.device_id is not None:
                by_level[event.level].setdefault(event.device_id, event)
        return by_level

    @property
    def device_label(self) -> str:
        if self.level == DeviceLevel.FEEDER and self.feeder_id:
            return self.feeder.name
        if self.level == DeviceLevel.AREA and self.transformer_area_id:
            return self.transformer_area.name
        if self.customer_id:
            return f"{self.customer.name}（{self.customer.account_no}）"
        return "—"


class TroubleCall(models.Model):
    """故障来电: one fault-repair work order placed on the topology and linked to its event.

    Repeated calls of the same customer urge the open order (重复来电 → 催办) and count in
    ``order.urge_count``; they do not make a second row.
    """

    class PlacedBy(models.TextChoices):
        ACCOUNT = "account", _("户号")
        PHONE = "phone", _("来电号码")
        ADDRESS = "address", _("地址匹配")
        AREA_NAME = "area_name", _("台区名称")
        DISPATCHER = "dispatcher", _("调度员指定")
        UNPLACED = "unplaced", _("未能定位")

    order = models.OneToOneField(
        WorkOrder, verbose_name=_("工单"), on_delete=models.CASCADE, related_name="trouble_call"
    )
    event = models.ForeignKey(
        FaultEvent,
        verbose_name=_("事件"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    transformer_area = models.ForeignKey(
        TransformerArea,
        verbose_name=_("台区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    feeder = models.ForeignKey(
        Feeder, verbose_name=_("线路"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    station = models.ForeignKey(
        Unit, verbose_name=_("供电所"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    placed_by = models.CharField(_("定位方式"), max_length=10, choices=PlacedBy.choices)
    hazard = models.BooleanField(_("安全隐患"), default=False)
    caller_key = models.CharField(
        _("报修户标识"), max_length=40, help_text=_("户号或来电号码，用于统计报修户数")
    )
    received_at = models.DateTimeField(_("来电时间"), db_index=True)
    linked_at = models.DateTimeField(_("归并时间"), null=True, blank=True)

    class Explained(models.TextChoices):
        NO = "", _("—")
        OUTAGE = "outage", _("计划停电/临时检修")
        ARREARS = "arrears", _("欠费停电")

    explained_by = models.CharField(
        _("已知原因"),
        max_length=8,
        choices=Explained.choices,
        blank=True,
        default="",
        help_text=_("来电由已知停电解释时，不作为故障证据"),
    )
    known_outage = models.ForeignKey(
        "outages.Outage",
        verbose_name=_("已知停电"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("来电客户在计划停电、临时检修范围内或欠费停电：由已知停电解释，不作为故障证据"),
    )

    class Meta:
        ordering = ["received_at", "id"]
        verbose_name = _("故障来电")
        verbose_name_plural = _("故障来电")
        indexes = [
            models.Index(fields=["received_at"], condition=Q(event__isnull=True), name="repair_call_pending"),
            models.Index(fields=["transformer_area", "received_at"], name="repair_call_area"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} → {self.event_id or '-'}"


class CrewAssignment(models.Model):
    """派工: a crew sent to an event (the primary crew, or a reinforcement)."""

    class Role(models.TextChoices):
        PRIMARY = "primary", _("主责")
        REINFORCEMENT = "reinforcement", _("支援")

    event = models.ForeignKey(
        FaultEvent, verbose_name=_("事件"), on_delete=models.CASCADE, related_name="assignments"
    )
    crew = models.ForeignKey(
        Crew, verbose_name=_("队伍"), on_delete=models.PROTECT, related_name="assignments"
    )
    role = models.CharField(_("角色"), max_length=14, choices=Role.choices, default=Role.PRIMARY)
    assigned_at = models.DateTimeField(_("派工时间"))
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("派工人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    arrived_at = models.DateTimeField(_("到达时间"), null=True, blank=True)
    released_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        ordering = ["assigned_at", "id"]
        verbose_name = _("派工记录")
        verbose_name_plural = _("派工记录")
        indexes = [
            models.Index(fields=["crew"], condition=Q(released_at__isnull=True), name="repair_assign_active")
        ]

    def __str__(self) -> str:
        return f"{self.event_id} ← {self.crew}"


class SupportRequest(models.Model):
    """支援申请: a crew on site asks for reinforcement (neighbouring stations), materials or a generator."""

    class Kind(models.TextChoices):
        CREW = "crew", _("增援队伍")
        MATERIALS = "materials", _("物资")
        GENERATOR = "generator", _("应急发电车")

    class State(models.TextChoices):
        OPEN = "open", _("待处理")
        GRANTED = "granted", _("已满足")
        DECLINED = "declined", _("未满足")

    event = models.ForeignKey(
        FaultEvent, verbose_name=_("事件"), on_delete=models.CASCADE, related_name="support_requests"
    )
    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices)
    note = models.TextField(_("说明"))
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.OPEN)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("申请时间"))
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    answer = models.CharField(_("处理意见"), max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("支援申请")
        verbose_name_plural = _("支援申请")

    def __str__(self) -> str:
        return f"{self.event_id} {self.get_kind_display()}"


class EventUpdate(HistoryEntry):
    """事件记录: one row per action on a fault event, append-only (the shape of
    ``core.models.HistoryEntry``)."""

    event = models.ForeignKey(
        FaultEvent, verbose_name=_("事件"), on_delete=models.CASCADE, related_name="updates"
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("事件记录")
        verbose_name_plural = _("事件记录")

    def __str__(self) -> str:
        return f"{self.event_id} {self.action}"


class ReportedCall(models.Model):
    """来电登记: one fault call received by ``POST /api/v1/repair/calls``, recorded durably at once
    (one INSERT) and processed later, in arrival order, by ``services.process_queued_calls`` (the
    same fault-call path as the hotline: urge or create the order, place it, link it, dispatch).
    A call whose processing fails stays here, failed with its error, for a person to take."""

    class State(models.TextChoices):
        QUEUED = "queued", _("待处理")
        DONE = "done", _("已处理")
        FAILED = "failed", _("处理失败")

    ref = models.UUIDField(_("登记号"), default=uuid.uuid4, unique=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("受理人"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("所属单位"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        help_text=_("客户的供电所；客户不明时为受理人的单位（决定谁能看到这条登记）"),
    )
    received_at = models.DateTimeField(_("来电时间"))
    # When the customer called, as the client says (IVR batches, storm replays): the work order's
    # trouble call takes it as its time, so the analysis counts the call in its window by it.
    # ``received_at`` stays the arrival at the API (the queue's lag is measured from it).
    reported_at = models.DateTimeField(
        _("客户报修时间"),
        null=True,
        blank=True,
        help_text=_("语音导航批量提交或风暴回放时由接口给出，研判按此时间计入时间窗；为空时即来电时间"),
    )
    channel = models.CharField(_("受理渠道"), max_length=16, choices=Channel.choices, default=Channel.HOTLINE)
    content = models.TextField(_("故障现象"))
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("客户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    caller_name = models.CharField(_("来电人"), max_length=60, blank=True)
    caller_phone = models.CharField(_("来电号码"), max_length=20, blank=True)
    address = models.CharField(_("故障地址"), max_length=200, blank=True)
    hazard = models.BooleanField(_("安全隐患"), default=False)
    caller_key = models.CharField(
        _("报修户标识"),
        max_length=40,
        help_text=_("客户或来电号码：同一报修户的来电按到达顺序逐个处理，重复来电催办首次来电的工单"),
    )
    idempotency_key = models.CharField(max_length=80, null=True, blank=True, editable=False)
    # A hash of the request body that used the key: a retry must send the same body (422 otherwise).
    idempotency_fingerprint = models.CharField(max_length=32, blank=True, default="", editable=False)
    state = models.CharField(_("状态"), max_length=8, choices=State.choices, default=State.QUEUED)
    order = models.ForeignKey(
        WorkOrder,
        verbose_name=_("工单"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    repeated = models.BooleanField(_("重复来电"), default=False)
    error = models.TextField(_("处理错误"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("处理次数"), default=0)
    processed_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    # Foreign keys without their own index: every index is paid for by the intake's one INSERT,
    # and nothing looks calls up by actor, customer or order (the queue, the reference, the key
    # and the failed calls have the indexes below).

    class Meta:
        ordering = ["id"]
        verbose_name = _("来电登记")
        verbose_name_plural = _("来电登记")
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="repair_rcall_idempotency_key",
            )
        ]
        indexes = [
            # The queue: only queued rows, in arrival order, and per caller (one at a time).
            models.Index(fields=["id"], condition=Q(state="queued"), name="repair_rcall_queued"),
            models.Index(
                fields=["caller_key", "id"], condition=Q(state="queued"), name="repair_rcall_queued_caller"
            ),
            models.Index(fields=["unit"], condition=Q(state="failed"), name="repair_rcall_failed"),
        ]

    def __str__(self) -> str:
        return f"{self.ref} {self.get_state_display()}"
