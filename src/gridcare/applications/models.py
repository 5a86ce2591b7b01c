"""Business applications (业扩报装与变更用电): the application, its nodes, their clocks and waits,
its history; and the rule data that decides the path of nodes (voltage bands, node paths).

Every rule value a person may change (capacity thresholds, which nodes a path has, who owns each
node, what starts its clock, its limit in working days) is a row here, seeded by
``migrations/0002_seed_paths.py`` with its source and editable in the admin.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.core.models import HistoryEntry
from gridcare.core.workflow import Action
from gridcare.customers.models import Customer
from gridcare.org.models import Role, Unit
from gridcare.workorders.models import Channel, Priority


class ApplicationType(models.TextChoices):
    """业务类型: new connection and the ten changes of use, plus distributed PV and EV charging."""

    NEW = "new", _("新装")
    INCREASE = "increase", _("增容")
    DECREASE = "decrease", _("减容")
    SUSPEND = "suspend", _("暂停")
    TEMP_SWAP = "temp_swap", _("暂换")
    TEMP_REMOVAL = "temp_removal", _("暂拆")
    METER_REMOVAL = "meter_removal", _("拆表")
    CLOSE = "close", _("销户")
    METER_MOVE = "meter_move", _("移表")
    VOLTAGE_CHANGE = "voltage_change", _("改压")
    CLASS_CHANGE = "class_change", _("改类")
    PV = "pv", _("分布式光伏并网")
    EV_CHARGING = "ev_charging", _("电动汽车充电设施")


class CustomerCategory(models.TextChoices):
    """The three classes the service commitments set limits for."""

    RESIDENTIAL = "residential", _("低压居民")
    LV_NON_RESIDENTIAL = "lv_non_residential", _("低压非居民")
    HV = "hv", _("高压")


class Supply(models.TextChoices):
    SINGLE = "single", _("单电源")
    DUAL = "dual", _("双电源")


class Voltage(models.TextChoices):
    LV = "lv", _("低压220/380V")
    KV10 = "kv10", _("10kV")
    KV35 = "kv35", _("35kV及以上")


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("居民身份证")
    BUSINESS_LICENSE = "business_license", _("统一社会信用代码")
    PASSPORT = "passport", _("护照")
    OTHER = "other", _("其他证件")


class ApplicationState(models.TextChoices):
    IN_PROGRESS = "in_progress", _("办理中")
    ARCHIVED = "archived", _("已归档")
    CANCELLED = "cancelled", _("已终止")


class ApplicationAction(Action):
    """Actions on the application as a whole (``transitions.APPLICATIONS``)."""

    CANCEL = "cancel"


class NodeKind(models.TextChoices):
    """环节. The order of a path is its rows' ``seq``, not this list's."""

    ACCEPT = "accept", _("业务受理")
    SURVEY = "survey", _("现场勘查")
    ACCESS_STUDY = "access_study", _("接入系统方案研究")
    PLAN_REPLY = "plan_reply", _("供电方案答复")
    DESIGN_REVIEW = "design_review", _("设计审核")
    MID_INSPECTION = "mid_inspection", _("中间检查")
    COMPLETION_INSPECTION = "completion_inspection", _("竣工检验")
    ENERGIZE = "energize", _("装表接电")
    ARCHIVE = "archive", _("资料归档")


class ClockStart(models.TextChoices):
    """The event that starts a node's clock. The first two start it by themselves; the other two
    are recorded by a person (the ``start`` action: the customer's request, the formalities)."""

    ACCEPTED = "accepted", _("受理时")
    NODE_OPENED = "node_opened", _("上一环节完成时")
    CUSTOMER_REQUEST = "customer_request", _("客户提出申请（送审/报验）时")
    FORMALITIES_COMPLETE = "formalities_complete", _("检验合格且手续完备时")


RECORDED_STARTS = frozenset({ClockStart.CUSTOMER_REQUEST, ClockStart.FORMALITIES_COMPLETE})


class NodeState(models.TextChoices):
    PENDING = "pending", _("未到达")
    OPEN = "open", _("办理中")
    WAITING = "waiting", _("客户原因中止")
    DONE = "done", _("已完成")
    CANCELLED = "cancelled", _("已终止")


class NodeAction(Action):
    """Actions on one node (``transitions.NODES``); the values are the API's ``{action}``."""

    START = "start"
    FINISH = "finish"
    WAIT = "wait"
    RESUME = "resume"


class WaitReason(models.TextChoices):
    """A wait caused by the customer: it stops only its node's clock."""

    RECTIFICATION = "rectification", _("客户整改")
    DOCUMENTS_MISSING = "documents_missing", _("客户资料不全")
    CUSTOMER_PAUSE = "customer_pause", _("客户要求暂缓")


class DocumentKind(models.TextChoices):
    APPLICATION_FORM = "application_form", _("用电申请书")
    IDENTITY = "identity", _("身份证明")
    BUSINESS_LICENSE = "business_license", _("营业执照")
    PROPERTY = "property", _("房屋产权证明")
    AUTHORIZATION = "authorization", _("授权委托书")
    EQUIPMENT_LIST = "equipment_list", _("用电设备清单")
    PROJECT_APPROVAL = "project_approval", _("项目批复文件")
    OTHER = "other", _("其他资料")


DEFAULT_WARNING_FRACTIONS = (0.5, 0.8, 1.0)


# --- Rule data ---------------------------------------------------------------------------------


class VoltageBand(models.Model):
    """供电电压容量档 (data): the supply voltage for a requested capacity. The band whose
    ``up_to_kva`` is the smallest one at or above the request wins (blank: no upper limit).
    Thresholds are provincial choices: switch a province from 100 kW to 160 kW low voltage by
    activating the other row."""

    voltage = models.CharField(_("供电电压"), max_length=8, choices=Voltage.choices)
    up_to_kva = models.DecimalField(
        _("容量上限(kVA)"), max_digits=10, decimal_places=1, null=True, blank=True
    )
    is_active = models.BooleanField(_("启用"), default=True)
    source = models.CharField(_("依据"), max_length=160, blank=True)

    class Meta:
        ordering = ["up_to_kva", "voltage"]
        verbose_name = _("供电电压容量档")
        verbose_name_plural = _("供电电压容量档")

    def __str__(self) -> str:
        limit = f"≤{self.up_to_kva}kVA" if self.up_to_kva is not None else "∞"
        return f"{self.get_voltage_display()} {limit}"


class NodePath(models.Model):
    """流程路径 (data): the nodes an application goes through, chosen by type × customer category ×
    supply × voltage. Blank selectors (an empty type list) match anything; the most specific
    active row wins. ``total_days`` is the promised whole-process limit (the utility's share)."""

    name = models.CharField(_("名称"), max_length=60)
    app_types = models.JSONField(_("业务类型"), default=list, blank=True, help_text=_("为空表示所有业务类型"))
    category = models.CharField(_("客户类别"), max_length=20, choices=CustomerCategory.choices, blank=True)
    supply = models.CharField(_("电源"), max_length=8, choices=Supply.choices, blank=True)
    voltage = models.CharField(_("供电电压"), max_length=8, choices=Voltage.choices, blank=True)
    total_days = models.PositiveSmallIntegerField(_("全流程时限（工作日）"), null=True, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    source = models.CharField(_("依据"), max_length=200, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("流程路径")
        verbose_name_plural = _("流程路径")

    def __str__(self) -> str:
        return self.name

    @property
    def specificity(self) -> int:
        return sum(bool(v) for v in (self.app_types, self.category, self.supply, self.voltage))


class PathNode(models.Model):
    """One node of a path (data): who owns it, what starts its clock, its limit in working days
    (blank: not timed on its own)."""

    path = models.ForeignKey(NodePath, on_delete=models.CASCADE, related_name="nodes", verbose_name=_("路径"))
    seq = models.PositiveSmallIntegerField(_("顺序"))
    kind = models.CharField(_("环节"), max_length=24, choices=NodeKind.choices)
    owner_level = models.CharField(
        _("责任单位层级"),
        max_length=12,
        choices=[(Unit.Kind.STATION, _("供电所")), (Unit.Kind.COUNTY, _("县公司"))],
        default=Unit.Kind.STATION,
    )
    owner_function = models.CharField(
        _("责任班组职能"),
        max_length=20,
        choices=Unit.Function.choices,
        blank=True,
        help_text=_("在该层级单位下找此职能的班组/中心；没有时由该层级单位本身负责"),
    )
    owner_role = models.CharField(_("责任岗位"), max_length=20, choices=Role.choices)
    clock_starts = models.CharField(
        _("起算事件"), max_length=24, choices=ClockStart.choices, default=ClockStart.NODE_OPENED
    )
    limit_days = models.PositiveSmallIntegerField(_("时限（工作日）"), null=True, blank=True)
    warning_fractions = models.JSONField(
        _("预警阈值"), default=list, blank=True, help_text=_("三级预警在时限的比例，如 [0.5, 0.8, 1.0]")
    )
    customer_action = models.CharField(
        _("需客户办理的事项"),
        max_length=120,
        blank=True,
        help_text=_("起算事件需客户申请时，进度查询中提示客户的内容"),
    )
    source = models.CharField(_("依据"), max_length=200, blank=True)

    class Meta:
        ordering = ["path", "seq"]
        verbose_name = _("路径环节")
        verbose_name_plural = _("路径环节")
        constraints = [
            models.UniqueConstraint(fields=["path", "seq"], name="uniq_pathnode_seq"),
            models.UniqueConstraint(fields=["path", "kind"], name="uniq_pathnode_kind"),
        ]

    def __str__(self) -> str:
        days = f" {self.limit_days}" if self.limit_days is not None else ""
        return f"{self.path} {self.seq}. {self.get_kind_display()}{days}"


# --- The application ---------------------------------------------------------------------------


class Application(models.Model):
    """用电申请 (业扩报装工单). Created by ``services.accept_application``; its nodes change only
    through ``services.act_on_node`` and the application itself through ``services.act``."""

    number = models.CharField(_("申请编号"), max_length=24)
    app_type = models.CharField(_("业务类型"), max_length=16, choices=ApplicationType.choices)
    category = models.CharField(_("客户类别"), max_length=20, choices=CustomerCategory.choices)
    supply = models.CharField(_("电源"), max_length=8, choices=Supply.choices, default=Supply.SINGLE)
    voltage = models.CharField(_("供电电压"), max_length=8, choices=Voltage.choices)
    path = models.ForeignKey(
        NodePath, verbose_name=_("流程路径"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    state = models.CharField(
        _("状态"), max_length=12, choices=ApplicationState.choices, default=ApplicationState.IN_PROGRESS
    )
    current_node = models.CharField(_("当前环节"), max_length=24, choices=NodeKind.choices, blank=True)
    channel = models.CharField(_("受理渠道"), max_length=20, choices=Channel.choices, default=Channel.HALL)
    priority = models.PositiveSmallIntegerField(
        _("优先级"), choices=Priority.choices, default=Priority.NORMAL
    )
    green_channel = models.BooleanField(_("绿色通道（重点项目）"), default=False)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("既有客户"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    # Personal data: masked in lists and answers (core.masking).
    applicant_name = models.CharField(_("申请户名"), max_length=100)
    id_type = models.CharField(_("证件类型"), max_length=20, choices=IdType.choices)
    id_number = models.CharField(_("证件号码"), max_length=30)
    address = models.CharField(_("用电地址"), max_length=200)
    contact_name = models.CharField(_("联系人"), max_length=60)
    contact_phone = models.CharField(_("联系电话"), max_length=20)
    usage_class = models.CharField(_("用电类别"), max_length=20, choices=Customer.CustomerClass.choices)
    industry = models.CharField(_("行业分类"), max_length=60, blank=True)
    load_nature = models.PositiveSmallIntegerField(
        _("负荷性质"), choices=Customer.LoadClass.choices, default=Customer.LoadClass.THIRD
    )
    requested_kva = models.DecimalField(_("申请容量(kVA)"), max_digits=10, decimal_places=1)
    households = models.PositiveIntegerField(_("户数"), default=1)
    equipment = models.JSONField(
        _("用电设备清单"), default=list, blank=True, help_text=_("每项：名称、功率kW、相数、电压、台数")
    )
    supply_unit = models.ForeignKey(
        Unit, verbose_name=_("供电单位"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    high_risk = models.BooleanField(_("高危及重要客户"), default=False)
    dishonest = models.BooleanField(_("失信客户"), default=False)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("受理人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    accepted_unit = models.ForeignKey(
        Unit, verbose_name=_("受理单位"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    accepted_at = models.DateTimeField(_("受理时间"))
    total_days = models.PositiveSmallIntegerField(_("全流程时限（工作日）"), null=True, blank=True)
    total_due_at = models.DateTimeField(_("承诺办结时间"), null=True, blank=True)
    total_provisional = models.BooleanField(_("承诺办结时间为临时"), default=False)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    close_note = models.TextField(_("终止原因"), blank=True)
    idempotency_key = models.CharField(max_length=80, null=True, blank=True, editable=False)
    idempotency_fingerprint = models.CharField(max_length=32, blank=True, default="", editable=False)
    version = models.PositiveIntegerField(_("版本"), default=1)
    updated_at = models.DateTimeField(_("更新时间"))

    class Meta:
        ordering = ["-priority", "accepted_at", "id"]
        verbose_name = _("用电申请")
        verbose_name_plural = _("用电申请")
        constraints = [
            models.UniqueConstraint(
                fields=["number"], name="app_number_unique", opclasses=["varchar_pattern_ops"]
            ),
            models.UniqueConstraint(fields=["idempotency_key"], name="app_idempotency_key_unique"),
        ]
        indexes = [
            models.Index(fields=["supply_unit", "state"], name="app_supply_state"),
            models.Index(fields=["accepted_unit", "state"], name="app_accepted_state"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state == ApplicationState.IN_PROGRESS


class ApplicationDocument(models.Model):
    """收资: a document received with the application. ``via_shared_data``: fetched from the
    government's shared data (一证办电), so the customer did not have to bring it."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="documents", verbose_name=_("用电申请")
    )
    kind = models.CharField(_("资料类型"), max_length=20, choices=DocumentKind.choices)
    via_shared_data = models.BooleanField(_("一证办电（政务共享获取）"), default=False)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    received_at = models.DateTimeField(_("收取时间"))

    class Meta:
        ordering = ["application", "id"]
        verbose_name = _("申请资料")
        verbose_name_plural = _("申请资料")

    def __str__(self) -> str:
        return f"{self.application_id} {self.get_kind_display()}"


class ApplicationNode(models.Model):
    """One node of one application: its owner, and its clock (started, due, paused, finished).

    ``counted_from`` is where the limit is counted from: the clock's start moved forward by the
    working days the customer made it wait, so ``due_at`` = ``counted_from`` + the limit."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="nodes", verbose_name=_("用电申请")
    )
    seq = models.PositiveSmallIntegerField(_("顺序"))
    kind = models.CharField(_("环节"), max_length=24, choices=NodeKind.choices)
    definition = models.ForeignKey(
        PathNode, verbose_name=_("环节定义"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    state = models.CharField(_("状态"), max_length=10, choices=NodeState.choices, default=NodeState.PENDING)
    waiting_from = models.CharField(_("中止前状态"), max_length=10, blank=True)
    owner_unit = models.ForeignKey(
        Unit, verbose_name=_("责任单位"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    owner_role = models.CharField(_("责任岗位"), max_length=20, choices=Role.choices)
    limit_days = models.PositiveSmallIntegerField(_("时限（工作日）"), null=True, blank=True)
    opened_at = models.DateTimeField(_("到达时间"), null=True, blank=True)
    started_at = models.DateTimeField(_("起算时间"), null=True, blank=True)
    counted_from = models.DateTimeField(_("计时起点"), null=True, blank=True)
    due_at = models.DateTimeField(_("到期时间"), null=True, blank=True)
    provisional = models.BooleanField(_("临时（当年节假日未录入）"), default=False)
    paused_at = models.DateTimeField(_("中止于"), null=True, blank=True)
    paused_days = models.PositiveSmallIntegerField(_("客户原因中止工作日"), default=0)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    finished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("完成人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    warning_level = models.PositiveSmallIntegerField(_("已发预警级别"), default=0)
    next_warning_at = models.DateTimeField(_("下次预警时间"), null=True, blank=True)

    class Meta:
        ordering = ["application", "seq"]
        verbose_name = _("办理环节")
        verbose_name_plural = _("办理环节")
        constraints = [
            models.UniqueConstraint(fields=["application", "seq"], name="uniq_appnode_seq"),
            models.UniqueConstraint(fields=["application", "kind"], name="uniq_appnode_kind"),
        ]
        indexes = [
            # The warning sweep: running clocks whose next warning has come.
            models.Index(
                fields=["next_warning_at"],
                name="appnode_due_warning",
                condition=models.Q(
                    finished_at__isnull=True, paused_at__isnull=True, next_warning_at__isnull=False
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.seq}. {self.kind}"

    @property
    def clock_running(self) -> bool:
        return self.started_at is not None and self.finished_at is None and self.paused_at is None

    @property
    def on_time(self) -> bool | None:
        """Finished within its limit (None: not finished, or not timed)."""
        if self.finished_at is None or self.due_at is None:
            return None
        return self.finished_at <= self.due_at

    def seconds_left(self, now: dt.datetime) -> int | None:
        """Until the due time (negative: overdue); a paused clock counts to the pause."""
        if self.due_at is None or self.finished_at is not None:
            return None
        return int((self.due_at - (self.paused_at or now)).total_seconds())


class NodeWait(models.Model):
    """客户原因中止: one wait of one node, with its reason; ``working_days`` once it ended."""

    node = models.ForeignKey(
        ApplicationNode, on_delete=models.CASCADE, related_name="waits", verbose_name=_("办理环节")
    )
    reason = models.CharField(_("中止原因"), max_length=20, choices=WaitReason.choices)
    note = models.TextField(_("说明"), blank=True)
    started_at = models.DateTimeField(_("中止时间"))
    ended_at = models.DateTimeField(_("恢复时间"), null=True, blank=True)
    working_days = models.PositiveSmallIntegerField(_("中止工作日"), default=0)

    class Meta:
        ordering = ["node", "started_at", "id"]
        verbose_name = _("客户原因中止")
        verbose_name_plural = _("客户原因中止")

    def __str__(self) -> str:
        return f"{self.node_id} {self.get_reason_display()} {self.started_at:%Y-%m-%d}"


class ApplicationEvent(HistoryEntry):
    """流转记录: one row per action on an application or one of its nodes, append-only."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="events", verbose_name=_("用电申请")
    )
    node = models.CharField(_("环节"), max_length=24, choices=NodeKind.choices, blank=True)
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
        verbose_name = _("业扩流转记录")
        verbose_name_plural = _("业扩流转记录")

    def __str__(self) -> str:
        return f"{self.application_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


# --- Callbacks after the nodes (业扩回访) and audit cases (稽查) ------------------------------------


class Answer(models.TextChoices):
    YES = "yes", _("是")
    NO = "no", _("否")
    UNCLEAR = "unclear", _("客户说不清")


class CallbackQuestion(models.Model):
    """One fixed question of the callbacks (data): at which nodes it is asked, and which answer is a
    finding (a "yes" to 吃拿卡要 or 三指定, a "no" to the contractor's licence) that raises a report
    order and an audit case."""

    code = models.SlugField(_("编码"), max_length=40, unique=True)
    text = models.CharField(_("问题"), max_length=200)
    nodes = models.JSONField(_("回访环节"), default=list, help_text=_("在这些环节完成后的回访中提问"))
    finding = models.CharField(
        _("问题线索"),
        max_length=60,
        blank=True,
        help_text=_("该回答即为问题线索时的名称（如 吃拿卡要）；为空表示不是线索"),
    )
    finding_when = models.CharField(
        _("构成线索的回答"), max_length=8, choices=Answer.choices, default=Answer.YES, blank=True
    )
    sort = models.PositiveSmallIntegerField(_("顺序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)
    source = models.CharField(_("依据"), max_length=200, blank=True)

    class Meta:
        ordering = ["sort", "code"]
        verbose_name = _("业扩回访问题")
        verbose_name_plural = _("业扩回访问题")

    def __str__(self) -> str:
        return self.text


class CallbackState(models.TextChoices):
    DUE = "due", _("待回访")
    DONE = "done", _("回访成功")
    FAILED = "failed", _("回访不成功")


class CallbackOutcome(models.TextChoices):
    """What one call of a callback came to."""

    ANSWERED = "answered", _("接通并完成回访")
    NO_ANSWER = "no_answer", _("无人接听")
    BUSY = "busy", _("占线/关机")
    REFUSED = "refused", _("客户拒绝回访")


class ApplicationCallback(models.Model):
    """业扩回访: the callback due the working day after one of four nodes (受理, 供电方案答复,
    中间检查, 装表接电), its calls and the customer's answers."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="callbacks", verbose_name=_("用电申请")
    )
    node = models.CharField(_("回访环节"), max_length=24, choices=NodeKind.choices)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("供电单位"))
    state = models.CharField(
        _("状态"), max_length=10, choices=CallbackState.choices, default=CallbackState.DUE
    )
    node_done_at = models.DateTimeField(_("环节完成时间"))
    due_from = models.DateTimeField(_("最早回访时间"))
    due_at = models.DateTimeField(_("回访时限"))
    attempts = models.PositiveSmallIntegerField(_("已拨打次数"), default=0)
    last_call_at = models.DateTimeField(_("最近拨打时间"), null=True, blank=True)
    answers = models.JSONField(_("回答"), default=dict, blank=True)
    satisfaction = models.CharField(_("满意度"), max_length=14, blank=True)
    findings = models.JSONField(_("问题线索"), default=list, blank=True)
    note = models.TextField(_("回访记录"), blank=True)
    answered_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("回访人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    report_order = models.ForeignKey(
        "workorders.WorkOrder",
        verbose_name=_("举报工单"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("业扩回访")
        verbose_name_plural = _("业扩回访")
        constraints = [
            models.UniqueConstraint(fields=["application", "node"], name="app_callback_once_per_node"),
        ]
        indexes = [models.Index(fields=["state", "due_at"], name="app_callback_due")]

    def __str__(self) -> str:
        return f"{self.application_id} {self.get_node_display()}"


class CallbackCall(models.Model):
    """One call of a callback (who, when, what it came to)."""

    callback = models.ForeignKey(
        ApplicationCallback, on_delete=models.CASCADE, related_name="calls", verbose_name=_("业扩回访")
    )
    at = models.DateTimeField(_("拨打时间"))
    outcome = models.CharField(_("结果"), max_length=12, choices=CallbackOutcome.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("回访人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("说明"), max_length=500, blank=True)

    class Meta:
        ordering = ["callback", "at", "id"]
        verbose_name = _("回访拨打")
        verbose_name_plural = _("回访拨打")

    def __str__(self) -> str:
        return f"{self.callback_id} {self.get_outcome_display()} {self.at:%Y-%m-%d %H:%M}"


class AuditState(models.TextChoices):
    OPEN = "open", _("待核查")
    INVESTIGATING = "investigating", _("核查中")
    CLOSED = "closed", _("已办结")


class AuditCase(models.Model):
    """稽查案件: a finding of a callback (吃拿卡要, 三指定 …) to be investigated by the auditors of the
    unit that owned the node, with its conclusion."""

    number = models.CharField(_("案件编号"), max_length=24, unique=True)
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="audit_cases", verbose_name=_("用电申请")
    )
    callback = models.ForeignKey(
        ApplicationCallback, on_delete=models.PROTECT, related_name="audit_cases", verbose_name=_("来源回访")
    )
    finding = models.CharField(_("问题线索"), max_length=60)
    detail = models.TextField(_("情况"), blank=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("被核查单位"))
    report_order = models.ForeignKey(
        "workorders.WorkOrder",
        verbose_name=_("举报工单"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    state = models.CharField(_("状态"), max_length=14, choices=AuditState.choices, default=AuditState.OPEN)
    opened_at = models.DateTimeField(_("立案时间"))
    substantiated = models.BooleanField(_("经核查属实"), null=True, blank=True)
    conclusion = models.TextField(_("核查结论"), blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("办结人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version = models.PositiveIntegerField(_("版本"), default=1)

    class Meta:
        ordering = ["-opened_at", "id"]
        verbose_name = _("稽查案件")
        verbose_name_plural = _("稽查案件")

    def __str__(self) -> str:
        return self.number


# --- Survey, supply plan, acceptance, energization ----------------------------------------------


class Metering(models.TextChoices):
    HV_HV = "hv_hv", _("高供高计")
    HV_LV = "hv_lv", _("高供低计")
    LV_LV = "lv_lv", _("低供低计")


class Survey(models.Model):
    """现场勘查: whether supply is possible (or why not), what is approved, what the grid needs."""

    application = models.OneToOneField(
        Application, on_delete=models.CASCADE, related_name="survey", verbose_name=_("用电申请")
    )
    possible = models.BooleanField(_("具备供电条件"))
    impossible_reason = models.TextField(_("不具备供电条件的原因"), blank=True)
    approved_kva = models.DecimalField(
        _("核定容量(kVA)"), max_digits=10, decimal_places=1, null=True, blank=True
    )
    supply = models.CharField(
        _("供电方式（电源）"), max_length=8, choices=Supply.choices, default=Supply.SINGLE
    )
    voltage = models.CharField(_("供电电压"), max_length=8, choices=Voltage.choices)
    grid_works = models.BooleanField(_("需电网配套工程"), default=False)
    grid_works_note = models.CharField(_("配套工程说明"), max_length=300, blank=True)
    notes = models.TextField(_("勘查记录"), blank=True)
    surveyor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("勘查人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    surveyed_at = models.DateTimeField(_("勘查时间"))

    class Meta:
        verbose_name = _("现场勘查")
        verbose_name_plural = _("现场勘查")

    def __str__(self) -> str:
        return f"{self.application_id} {self.surveyed_at:%Y-%m-%d}"


class SignedVia(models.TextChoices):
    ON_SITE = "on_site", _("现场签字")
    ONLINE = "online", _("线上确认")


class PlanOption(models.Model):
    """供电方案 option: several per application, side by side; the customer's choice is signed off."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="plan_options", verbose_name=_("用电申请")
    )
    label = models.CharField(_("方案"), max_length=40)
    source = models.CharField(_("电源点（变电站、线路）"), max_length=120)
    voltage = models.CharField(_("供电电压"), max_length=8, choices=Voltage.choices)
    property_boundary = models.CharField(_("产权分界点"), max_length=120)
    metering = models.CharField(_("计量方式"), max_length=8, choices=Metering.choices)
    cost_yuan = models.DecimalField(_("估算投资（元）"), max_digits=12, decimal_places=2)
    construction_days = models.PositiveSmallIntegerField(_("估算工期（天）"))
    note = models.CharField(_("说明"), max_length=300, blank=True)
    chosen = models.BooleanField(_("客户选定"), default=False)
    signed_by = models.CharField(_("客户签字人"), max_length=60, blank=True)
    signed_at = models.DateTimeField(_("签字时间"), null=True, blank=True)
    signed_via = models.CharField(_("确认方式"), max_length=8, choices=SignedVia.choices, blank=True)
    created_at = models.DateTimeField(_("提出时间"))

    class Meta:
        ordering = ["application", "id"]
        verbose_name = _("供电方案")
        verbose_name_plural = _("供电方案")

    def __str__(self) -> str:
        return f"{self.application_id} {self.label}"


class AcceptanceRule(models.Model):
    """四级验收 (data): who accepts a customer's works, by capacity (and voltage). Seed 004: below
    50 kW the supply station; from 50 kW the county's customer service center with the departments
    of the voltage level."""

    min_kva = models.DecimalField(_("容量下限(kVA，含)"), max_digits=10, decimal_places=1, default=0)
    max_kva = models.DecimalField(
        _("容量上限(kVA，不含)"), max_digits=10, decimal_places=1, null=True, blank=True
    )
    voltage = models.CharField(_("供电电压"), max_length=8, choices=Voltage.choices, blank=True)
    level = models.CharField(
        _("验收单位层级"), max_length=10, choices=[("station", _("供电所")), ("county", _("县公司"))]
    )
    function = models.CharField(_("牵头部门"), max_length=20, choices=Unit.Function.choices, blank=True)
    departments = models.JSONField(_("参加验收的部门"), default=list, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    source = models.CharField(_("依据"), max_length=200, blank=True)

    class Meta:
        ordering = ["min_kva", "voltage"]
        verbose_name = _("验收分级")
        verbose_name_plural = _("验收分级")

    def __str__(self) -> str:
        upper = f"–{self.max_kva}" if self.max_kva is not None else "+"
        return f"{self.min_kva}{upper} kVA {self.voltage or ''} {self.get_level_display()}"


class InspectionResult(models.TextChoices):
    PASSED = "passed", _("合格")
    FAILED = "failed", _("不合格，限期整改")


class AcceptanceInspection(models.Model):
    """中间检查 / 竣工检验: one round (a failed one issues a rectification notice; the next round is
    the re-inspection)."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="inspections", verbose_name=_("用电申请")
    )
    node = models.CharField(_("环节"), max_length=24, choices=NodeKind.choices)
    round = models.PositiveSmallIntegerField(_("第几次"), default=1)
    result = models.CharField(_("结论"), max_length=8, choices=InspectionResult.choices)
    defects = models.JSONField(_("缺陷"), default=list, blank=True)
    accepting_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("验收单位")
    )
    departments = models.JSONField(_("参加验收的部门"), default=list, blank=True)
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("检验人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    inspected_at = models.DateTimeField(_("检验时间"))
    rectify_by = models.DateField(_("整改期限"), null=True, blank=True)
    rectified_at = models.DateTimeField(_("客户报整改完成"), null=True, blank=True)
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["application", "node", "round"]
        verbose_name = _("检验记录")
        verbose_name_plural = _("检验记录")
        constraints = [
            models.UniqueConstraint(fields=["application", "node", "round"], name="inspection_round_once"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.get_node_display()} #{self.round}"


class Energization(models.Model):
    """装表接电: the meters fitted (asset numbers, first readings per register), CT/PT ratios."""

    application = models.OneToOneField(
        Application, on_delete=models.CASCADE, related_name="energization", verbose_name=_("用电申请")
    )
    meters = models.JSONField(_("计量装置"), default=list)
    ct_ratio = models.CharField(_("电流互感器变比"), max_length=20, blank=True)
    pt_ratio = models.CharField(_("电压互感器变比"), max_length=20, blank=True)
    crew = models.CharField(_("装接人员"), max_length=100)
    energized_at = models.DateTimeField(_("送电时间"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("装表接电")
        verbose_name_plural = _("装表接电")

    def __str__(self) -> str:
        return f"{self.application_id} {self.energized_at:%Y-%m-%d}"
