"""Work orders (电子工单) and their closed loop: history, deadlines, callbacks, policies."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.core.models import HistoryEntry, SettingsRow
from gridcare.core.workflow import Action
from gridcare.customers.models import AreaClass, Customer, TransformerArea
from gridcare.org.models import Unit


class OrderType(models.TextChoices):
    """工单类型 (national 95598 practice). The value's prefix table is ``NUMBER_PREFIX``."""

    FAULT_REPAIR = "fault_repair", _("故障报修")
    BUSINESS = "business", _("业务办理")
    CONSULTATION = "consultation", _("咨询")
    BILL_QUERY = "bill_query", _("电费电价查询")
    COMPLAINT = "complaint", _("投诉")
    REPORT = "report", _("举报")
    OPINION = "opinion", _("意见建议")
    PRAISE = "praise", _("表扬")
    SERVICE_REQUEST = "service_request", _("服务申请")
    VERIFICATION = "verification", _("业务核查")


NUMBER_PREFIX: dict[str, str] = {  # by order type (an OrderType is its str value)
    OrderType.FAULT_REPAIR: "GZ",
    OrderType.BUSINESS: "YW",
    OrderType.CONSULTATION: "ZX",
    OrderType.BILL_QUERY: "DF",
    OrderType.COMPLAINT: "TS",
    OrderType.REPORT: "JB",
    OrderType.OPINION: "YJ",
    OrderType.PRAISE: "BY",
    OrderType.SERVICE_REQUEST: "FW",
    OrderType.VERIFICATION: "HC",
}


class Channel(models.TextChoices):
    """受理渠道."""

    HOTLINE = "hotline", _("95598热线")
    IVR = "ivr", _("95598自助语音")
    WEB = "web", _("网站/网上国网")
    WECHAT = "wechat", _("微信")
    HALL = "hall", _("营业厅")
    REGULATOR = "regulator_12398", _("12398监管热线")
    LETTER = "letter", _("信函/传真")
    CALLBACK = "callback", _("回访")  # raised by a 不满意 callback (``WhenDissatisfied.COMPLAINT``)


class State(models.TextChoices):
    ACCEPTED = "accepted", _("已受理")
    DISPATCHED = "dispatched", _("已派单")
    IN_PROGRESS = "in_progress", _("处理中")
    ON_SITE = "on_site", _("已到达现场")
    REPLIED = "replied", _("已回单待审核")
    REVIEWED = "reviewed", _("已审核待回访")
    CALLED_BACK = "called_back", _("已回访")
    SUSPENDED = "suspended", _("已挂起")
    ARCHIVED = "archived", _("已归档")
    MERGED = "merged", _("已合并")
    CANCELLED = "cancelled", _("已作废")


class OrderAction(Action):
    """The actions of the lifecycle (``transitions.WORK_ORDERS`` has one row each). The values are
    what URLs, the API, history rows (``WorkOrderEvent.action``) and templates use."""

    DISPATCH = "dispatch"
    TAKE = "take"
    ARRIVE = "arrive"
    CONTACT = "contact"
    HANDLE = "handle"
    REPLY = "reply"
    REVIEW = "review"
    CALLBACK = "callback"
    CALLBACK_CALL = "callback_call"
    ARCHIVE = "archive"
    RETURN = "return"
    REDISPATCH = "redispatch"
    URGE = "urge"
    MERGE = "merge"
    SUSPEND = "suspend"
    RESUME = "resume"
    ESCALATE = "escalate"
    CANCEL = "cancel"
    COMPLAINT_ITEMS = "complaint_items"


OPEN_STATES = frozenset(
    {
        State.ACCEPTED,
        State.DISPATCHED,
        State.IN_PROGRESS,
        State.ON_SITE,
        State.REPLIED,
        State.REVIEWED,
        State.CALLED_BACK,
        State.SUSPENDED,
    }
)


class Priority(models.IntegerChoices):
    NORMAL = 0, _("普通")
    GREEN_CHANNEL = 10, _("绿色通道（重要客户）")
    ACCOUNT_MANAGER = 20, _("客户经理优先办理")


class ComplaintClass(models.TextChoices):
    SERVICE = "service", _("服务")
    BUSINESS = "business", _("营业")
    OUTAGE = "outage", _("停送电")
    QUALITY = "quality", _("供电质量")
    CONSTRUCTION = "construction", _("电网建设")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY = "basically", _("基本满意")
    DISSATISFIED = "dissatisfied", _("不满意")


class CallOutcome(models.TextChoices):
    """What one callback call (回访拨打) came to."""

    REACHED = "reached", _("已接通")
    NOT_REACHED = "not_reached", _("未接通")
    REFUSED = "refused", _("客户拒绝回访")
    WRONG_NUMBER = "wrong_number", _("号码错误")


class CallbackResult(models.TextChoices):
    """How an order's callback ended: the customer was reached (a satisfaction is recorded), or
    not (回访不成功: the attempts ran out, or the customer refused)."""

    REACHED = "reached", _("回访成功")
    UNREACHED = "unreached", _("回访不成功")


class WhenDissatisfied(models.TextChoices):
    """What a 不满意 callback does to the order (per ``CallbackRule``)."""

    REVIEW = "review", _("退回审核")
    REOPEN = "reopen", _("退回承办单位重新处理")
    COMPLAINT = "complaint", _("转投诉工单")


class CallbackMethod(models.TextChoices):
    """How a callback result was obtained. Only a phone call is held to the calling hours and the
    interval between calls (``CallbackSetting``); a visit or a written reply is recorded when it
    comes."""

    PHONE = "phone", _("电话回访")
    VISIT = "visit", _("上门回访")
    WRITTEN = "written", _("书面回复")


class WorkOrder(models.Model):
    """电子工单. Created by ``intake.create_work_order`` (``services`` re-exports it); changed only through ``services.perform``."""

    # Indexes are chosen by the queries that use them (Meta.indexes), not one per column: every
    # intake writes each of them. Unique keys are constraints, which on PostgreSQL do not bring the
    # second (LIKE) index that ``unique=True`` on a CharField does.
    number = models.CharField(_("工单编号"), max_length=24)
    order_type = models.CharField(_("工单类型"), max_length=20, choices=OrderType.choices)
    subtype = models.CharField(_("业务子类"), max_length=40, blank=True)
    channel = models.CharField(_("受理渠道"), max_length=20, choices=Channel.choices)
    state = models.CharField(_("状态"), max_length=12, choices=State.choices, default=State.ACCEPTED)
    priority = models.PositiveSmallIntegerField(
        _("优先级"), choices=Priority.choices, default=Priority.NORMAL
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("客户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="work_orders",
        db_index=False,  # wo_customer_state leads with it
    )
    caller_name = models.CharField(_("来电人"), max_length=60, blank=True)
    caller_phone = models.CharField(_("来电号码"), max_length=20, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    transformer_area = models.ForeignKey(
        TransformerArea,
        verbose_name=_("台区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    area_class = models.CharField(
        _("区域类别"), max_length=10, choices=AreaClass.choices, default=AreaClass.URBAN
    )
    customer_class = models.CharField(_("用户类别"), max_length=20, blank=True)
    content = models.TextField(_("诉求内容"))
    complaint_class = models.CharField(
        _("投诉分类"), max_length=14, choices=ComplaintClass.choices, blank=True, default=""
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("受理人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    accepted_unit = models.ForeignKey(
        Unit,
        verbose_name=_("受理单位（首问负责）"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # wo_accepted_state leads with it
    )
    assigned_unit = models.ForeignKey(
        Unit,
        verbose_name=_("承办单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # wo_assigned_state leads with it
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("承办人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    suspended_from = models.CharField(_("挂起前状态"), max_length=12, blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("合并至"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged",
        db_index=False,  # never looked up by; orders are not deleted
    )
    # The order whose 不满意 callback raised this complaint (``WhenDissatisfied.COMPLAINT``).
    raised_from = models.ForeignKey(
        "self",
        verbose_name=_("来源工单"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="raised_complaints",
        db_index=False,  # wo_one_complaint_per_original (partial: only raised complaints) serves it
    )
    urge_count = models.PositiveSmallIntegerField(_("催办次数"), default=0)
    escalation_tier = models.PositiveSmallIntegerField(_("升级层级"), default=0)
    warning_level = models.PositiveSmallIntegerField(_("预警级别"), default=0)
    reply = models.TextField(_("回单内容"), blank=True)
    # 四不销单 for complaints: all four must be recorded before archiving.
    at_fault = models.BooleanField(_("有责投诉"), null=True, blank=True)
    problem_solved = models.TextField(_("问题解决情况"), blank=True)
    cause_analysis = models.TextField(_("原因分析"), blank=True)
    preventive_measures = models.TextField(_("整改/举一反三措施"), blank=True)
    accountability = models.TextField(_("责任人教育考核"), blank=True)
    upper_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("提级审核人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # never looked up by
    )
    callback_required = models.BooleanField(_("需回访"), default=False)
    satisfaction = models.CharField(_("回访满意度"), max_length=12, choices=Satisfaction.choices, blank=True)
    # The current callback round (reset when a review opens one): calls made, the last one, the end.
    callback_attempts = models.PositiveSmallIntegerField(_("回访拨打次数"), default=0)
    last_callback_at = models.DateTimeField(_("上次回访拨打时间"), null=True, blank=True)
    callback_result = models.CharField(
        _("回访结果"), max_length=10, choices=CallbackResult.choices, blank=True, default=""
    )
    idempotency_key = models.CharField(max_length=80, null=True, blank=True, editable=False)
    # A hash of the request body that used the key: a retry must send the same body (422 otherwise).
    idempotency_fingerprint = models.CharField(max_length=32, blank=True, default="", editable=False)
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("受理时间"), db_index=True)
    updated_at = models.DateTimeField(_("更新时间"))
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    # Not a field: the deadlines ``services.create_work_order`` started, kept on a new order so its
    # answer shows them without reading them back (absent on a loaded order: read with getattr).
    started_deadlines: list[Deadline]

    class Meta:
        ordering = ["-priority", "created_at"]
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        constraints = [
            # One unique index serves = and 工单查询's LIKE 'prefix%' on PostgreSQL (the pattern
            # opclass; a plain one serves only = under a non-C collation): no second index to write.
            models.UniqueConstraint(
                fields=["number"], name="wo_number_unique", opclasses=["varchar_pattern_ops"]
            ),
            models.UniqueConstraint(fields=["idempotency_key"], name="wo_idempotency_key_unique"),
            # A 不满意 callback raises one complaint at most; partial, so other intakes write nothing.
            models.UniqueConstraint(
                fields=["raised_from"],
                name="wo_one_complaint_per_original",
                condition=models.Q(raised_from__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["assigned_unit", "state"], name="wo_assigned_state"),
            models.Index(fields=["accepted_unit", "state"], name="wo_accepted_state"),
            models.Index(fields=["customer", "state"], name="wo_customer_state"),
            # 重复来电 of an unknown customer: the open orders of a caller's number.
            models.Index(fields=["caller_phone", "state"], name="wo_caller_state"),
            # The open orders alone (a few in a thousand of all): the command wall and the
            # bulletins count them by type for a whole province without reading the archive.
            models.Index(
                fields=["order_type"],
                name="wo_open_by_type",
                condition=models.Q(state__in=sorted(OPEN_STATES)),
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def weight(self) -> int:
        """Statistics weight: a 12398 regulator complaint counts double."""
        return 2 if self.order_type == OrderType.COMPLAINT and self.channel == Channel.REGULATOR else 1

    @property
    def complaint_items_complete(self) -> bool:
        return all(
            v.strip()
            for v in (self.problem_solved, self.cause_analysis, self.preventive_measures, self.accountability)
        )


class WorkOrderEvent(HistoryEntry):
    """流转记录: one row per action, append-only (the shape of ``core.models.HistoryEntry``, plus the
    unit the actor acted for)."""

    order = models.ForeignKey(
        WorkOrder, on_delete=models.CASCADE, related_name="events", verbose_name=_("工单")
    )
    # Every action writes a row here, and history is read by order only: no index by actor or
    # unit (people and units are deactivated, not deleted; a deletion may scan).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    actor_unit = models.ForeignKey(
        Unit,
        verbose_name=_("操作单位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("流转记录")
        verbose_name_plural = _("流转记录")

    def __str__(self) -> str:
        return f"{self.order_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class Milestone(models.TextChoices):
    """What a time limit measures."""

    DISPATCH = "dispatch", _("派单")
    ARRIVE = "arrive", _("到达现场")
    RESTORE = "restore", _("恢复送电")
    CONTACT = "contact", _("联系客户")
    REPLY = "reply", _("答复客户")
    CALLBACK = "callback", _("回访")


class DurationUnit(models.TextChoices):
    MINUTES = "minutes", _("分钟")
    HOURS = "hours", _("小时")
    WORKING_HOURS = "working_hours", _("工作小时")
    WORKING_DAYS = "working_days", _("工作日")
    DAYS = "days", _("自然日")


class TimeLimitPolicy(models.Model):
    """时限策略 (data, editable): type × area class × customer class × channel → a limit per milestone.

    Blank selectors match anything; the most specific matching policy wins.
    """

    order_type = models.CharField(_("工单类型"), max_length=20, choices=OrderType.choices)
    milestone = models.CharField(_("节点"), max_length=10, choices=Milestone.choices)
    area_class = models.CharField(_("区域类别"), max_length=10, choices=AreaClass.choices, blank=True)
    customer_class = models.CharField(
        _("用户类别"), max_length=20, choices=Customer.CustomerClass.choices, blank=True
    )
    channel = models.CharField(_("渠道"), max_length=20, choices=Channel.choices, blank=True)
    amount = models.DecimalField(_("时限"), max_digits=8, decimal_places=2)
    unit = models.CharField(_("单位"), max_length=14, choices=DurationUnit.choices)
    starts_on = models.CharField(
        _("起算"),
        max_length=10,
        choices=[("accept", _("受理时")), ("arrive", _("到达现场时")), ("review", _("审核通过时"))],
        default="accept",
    )
    pauses_when_suspended = models.BooleanField(_("挂起时停止计时"), default=False)
    warning_fractions = models.JSONField(
        _("预警阈值"), default=list, blank=True, help_text=_("三级预警在时限的比例，如 [0.5, 0.8, 1.0]")
    )
    source = models.CharField(_("依据"), max_length=120, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["order_type", "milestone", "area_class", "customer_class", "channel"]
        verbose_name = _("时限策略")
        verbose_name_plural = _("时限策略")

    def __str__(self) -> str:
        return f"{self.get_order_type_display()} {self.get_milestone_display()} {self.amount}{self.get_unit_display()}"

    @property
    def specificity(self) -> int:
        return sum(bool(v) for v in (self.area_class, self.customer_class, self.channel))


DEFAULT_WARNING_FRACTIONS = (0.5, 0.8, 1.0)


class Deadline(models.Model):
    """A running time limit of one order (one per milestone)."""

    order = models.ForeignKey(
        WorkOrder,
        on_delete=models.CASCADE,
        related_name="deadlines",
        verbose_name=_("工单"),
        db_index=False,  # uniq_deadline_milestone (order, milestone) leads with it
    )
    milestone = models.CharField(_("节点"), max_length=10, choices=Milestone.choices)
    policy = models.ForeignKey(
        TimeLimitPolicy,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("策略"),
        db_index=False,  # never looked up by; a policy in use is kept (a deletion may scan)
    )
    started_at = models.DateTimeField(_("起算时间"))
    due_at = models.DateTimeField(_("到期时间"))
    provisional = models.BooleanField(_("临时（当年节假日未录入）"), default=False)
    met_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    paused_at = models.DateTimeField(_("暂停于"), null=True, blank=True)
    warning_level = models.PositiveSmallIntegerField(_("已发预警级别"), default=0)
    next_warning_at = models.DateTimeField(_("下次预警时间"), null=True, blank=True)

    class Meta:
        ordering = ["due_at"]
        verbose_name = _("时限")
        verbose_name_plural = _("时限")
        constraints = [models.UniqueConstraint(fields=["order", "milestone"], name="uniq_deadline_milestone")]
        indexes = [
            models.Index(
                fields=["next_warning_at"],
                name="deadline_due_warning",
                condition=models.Q(
                    met_at__isnull=True, paused_at__isnull=True, next_warning_at__isnull=False
                ),
            ),
            # The statistics roll-ups read the time limits started in one hour or day.
            models.Index(fields=["started_at"], name="deadline_started"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.milestone} → {self.due_at}"

    @property
    def met_late(self) -> bool:
        """Met after its due time (超时完成): shown as late, never as done on time."""
        return self.met_at is not None and self.met_at > self.due_at

    def seconds_left(self, now: dt.datetime) -> int | None:
        """Seconds until the due time (negative: overdue); a paused clock counts to the pause;
        None once the milestone is met."""
        if self.met_at:
            return None
        return int((self.due_at - (self.paused_at or now)).total_seconds())


class CallbackRule(models.Model):
    """回访比例 (data): share of replied orders of a type (and subtype) that get a callback."""

    order_type = models.CharField(_("工单类型"), max_length=20, choices=OrderType.choices)
    subtype = models.CharField(_("业务子类"), max_length=40, blank=True)
    rate = models.DecimalField(_("回访比例"), max_digits=4, decimal_places=3)
    when_dissatisfied = models.CharField(
        _("不满意时"), max_length=10, choices=WhenDissatisfied.choices, default=WhenDissatisfied.REVIEW
    )

    class Meta:
        ordering = ["order_type", "subtype"]
        constraints = [models.UniqueConstraint(fields=["order_type", "subtype"], name="uniq_callback_rule")]
        verbose_name = _("回访比例")
        verbose_name_plural = _("回访比例")

    def __str__(self) -> str:
        return f"{self.get_order_type_display()} {self.subtype} {self.rate:.0%}"


class SupervisionSetting(SettingsRow):
    """督办参数 (data): how many urgings raise the warning level, etc. One row."""

    urgings_to_raise_warning = models.PositiveSmallIntegerField(_("催办几次升一级预警"), default=2)

    class Meta:
        verbose_name = _("督办参数")
        verbose_name_plural = _("督办参数")


class CallbackSetting(SettingsRow):
    """回访参数 (data): how often and when a customer may be called for a callback. One row."""

    max_attempts = models.PositiveSmallIntegerField(_("最多拨打次数"), default=3)
    min_interval_minutes = models.PositiveSmallIntegerField(_("两次拨打最短间隔（分钟）"), default=120)
    calls_from = models.TimeField(_("允许拨打开始时间"), default=dt.time(8, 0))
    calls_until = models.TimeField(_("允许拨打结束时间"), default=dt.time(20, 0))
    refusal_ends_callback = models.BooleanField(_("客户拒绝即回访不成功"), default=True)
    source = models.CharField(_("依据"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("回访参数")
        verbose_name_plural = _("回访参数")
