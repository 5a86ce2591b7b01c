"""The quality app's tables: the metric registry (each KPI as data)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.core.models import SettingsRow
from gridcare.org.models import Unit


class Area(models.TextChoices):
    """Which statistics page a metric belongs to."""

    HOTLINE = "hotline", _("热线话务")
    ORDERS = "orders", _("工单")
    REPAIR = "repair", _("故障抢修")
    COMPLAINTS = "complaints", _("投诉")
    CALLBACKS = "callbacks", _("回访")
    APPLICATIONS = "applications", _("业扩报装")


class Better(models.TextChoices):
    HIGHER = "higher", _("越高越好")
    LOWER = "lower", _("越低越好")


class Period(models.TextChoices):
    DAY = "day", _("日")
    WEEK = "week", _("周")
    MONTH = "month", _("月")
    QUARTER = "quarter", _("季")
    YEAR = "year", _("年")


class Metric(models.Model):
    """指标定义: one KPI as data — a ratio of two aggregates over rows GridCare holds.

    ``numerator`` and ``denominator`` are ``{"source": …, "where": {…}, "agg": …}`` where the
    source (work orders, deadlines, calls, customers …), the fields a condition may name and the
    aggregates are those of ``quality.metrics.SOURCES``; ``exclude`` removes rows from both (same
    source). The value is numerator ÷ denominator × ``scale`` (a count when there is no
    denominator). A change of definition is a new ``version``; the figures of a period use the
    version in force. ``formula_known`` says whether the official formula is known (``source``
    says where it comes from); where it is not, the definition is GridCare's and says so.
    """

    code = models.SlugField(_("指标代码"), max_length=60)
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    name = models.CharField(_("指标名称"), max_length=80)
    area = models.CharField(_("统计专题"), max_length=12, choices=Area.choices)
    description = models.TextField(_("口径说明"), blank=True)
    numerator = models.JSONField(_("分子"))
    denominator = models.JSONField(_("分母"), null=True, blank=True)
    exclude = models.JSONField(_("剔除条件"), default=dict, blank=True)
    scale = models.DecimalField(_("倍数"), max_digits=18, decimal_places=9, default=1)
    unit_label = models.CharField(_("计量单位"), max_length=12, blank=True)
    decimals = models.PositiveSmallIntegerField(_("小数位"), default=2)
    period = models.CharField(_("统计周期"), max_length=8, choices=Period.choices, default=Period.MONTH)
    target = models.DecimalField(_("目标值"), max_digits=12, decimal_places=4, null=True, blank=True)
    better = models.CharField(_("方向"), max_length=6, choices=Better.choices, default=Better.HIGHER)
    scoring = models.CharField(_("计分方法"), max_length=200, blank=True)
    source = models.CharField(_("口径来源"), max_length=200, blank=True)
    formula_known = models.BooleanField(_("官方口径已知"), default=True)
    valid_from = models.DateField(_("生效日期"), null=True, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    sort = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        ordering = ["area", "sort", "code", "-version"]
        verbose_name = _("统计指标")
        verbose_name_plural = _("统计指标")
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="metric_code_version")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class BulletinSetting(SettingsRow):
    """督办通报参数: when the bulletins go out and for which units."""

    times = models.CharField(
        _("发布时间"),
        max_length=60,
        default="08:30,16:30",
        help_text=_("每天发布的时刻，逗号分隔（北京时间，HH:MM）"),
    )
    unit_kinds = models.CharField(
        _("发布单位层级"),
        max_length=60,
        default="county,station",
        help_text=_("逗号分隔：city、county、station"),
    )
    hot_spot_days = models.PositiveSmallIntegerField(_("投诉热点统计天数"), default=7)
    hot_spot_min = models.PositiveSmallIntegerField(_("热点最少投诉件数"), default=2)

    class Meta:
        verbose_name = _("督办通报参数")
        verbose_name_plural = _("督办通报参数")

    def slot_times(self) -> list[dt.time]:
        out = []
        for part in self.times.split(","):
            hour, _sep, minute = part.strip().partition(":")
            if hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60:
                out.append(dt.time(int(hour), int(minute)))
        return sorted(set(out))

    def kinds(self) -> list[str]:
        return [k.strip() for k in self.unit_kinds.split(",") if k.strip()]


class Bulletin(models.Model):
    """督办通报: one unit's bulletin of one slot, kept as it was issued (``data``: the rows)."""

    number = models.CharField(_("通报编号"), max_length=40, unique=True)
    unit = models.ForeignKey(Unit, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+")
    slot_at = models.DateTimeField(_("通报时点"))
    issued_at = models.DateTimeField(_("发布时间"))
    data = models.JSONField(_("内容"))
    recipients = models.PositiveIntegerField(_("送达人数"), default=0)

    class Meta:
        ordering = ["-slot_at", "unit__path"]
        verbose_name = _("督办通报")
        verbose_name_plural = _("督办通报")
        constraints = [models.UniqueConstraint(fields=["unit", "slot_at"], name="bulletin_unit_slot")]
        indexes = [models.Index(fields=["unit", "-slot_at"], name="bulletin_unit_recent")]

    def __str__(self) -> str:
        return self.number


class WallScreen(models.Model):
    """指挥大屏: a display of the command center, opened with a secret link. It reads counts of
    its unit's subtree only — never personal data — and holds no staff session. Only a hash of
    the key is stored; deactivating the row turns the screen off at its next refresh."""

    name = models.CharField(_("名称"), max_length=60)
    unit = models.ForeignKey(Unit, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("密钥前缀"), max_length=12, editable=False)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("最近刷新"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("指挥大屏")
        verbose_name_plural = _("指挥大屏")

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, *, name: str, unit: Unit) -> tuple[WallScreen, str]:
        """A new screen and its key (shown once)."""
        key = "wall_" + secrets.token_urlsafe(24)
        screen = cls.objects.create(name=name, unit=unit, key_hash=cls.hash_key(key), prefix=key[:10])
        return screen, key


class EvaluationScheme(models.Model):
    """个人服务品质评价方案: which figures make an agent's score, with what weight and how each is
    turned into points — data, versioned (a period is scored with the version in force on its first
    day).

    ``indicators``: ``[{"metric": CODE, "weight": 25, "mode": "relative" | "linear",
    "full_at": x, "zero_at": y}]`` — a registry metric computed on the agent's own rows; "relative"
    scores against the average of the agents compared (at or better than the average: 100), "linear"
    from ``zero_at`` (0 points) to ``full_at`` (100). ``stars``: the scores from which 5, 4, 3 and 2
    stars are given (below the last: 1)."""

    name = models.CharField(_("方案名称"), max_length=80)
    version = models.PositiveSmallIntegerField(_("版本"), unique=True)
    indicators = models.JSONField(_("指标与权重"))
    stars = models.JSONField(_("星级分数线"), default=list)
    valid_from = models.DateField(_("生效日期"), null=True, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("个人服务品质评价方案")
        verbose_name_plural = _("个人服务品质评价方案")

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class AgentAssessment(models.Model):
    """季度考评: one agent's quarter as a leader assessed it — the figures and score as they were,
    and the leader's remarks."""

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("座席"), on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(Unit, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    quarter = models.PositiveSmallIntegerField(_("季度"))
    scheme = models.ForeignKey(EvaluationScheme, verbose_name=_("评价方案"), on_delete=models.PROTECT)
    score = models.DecimalField(_("得分"), max_digits=5, decimal_places=1)
    stars = models.PositiveSmallIntegerField(_("星级"))
    figures = models.JSONField(_("指标明细"))
    remarks = models.TextField(_("领导评语"))
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("考评人"), on_delete=models.PROTECT, related_name="+"
    )
    assessed_at = models.DateTimeField(_("考评时间"))

    class Meta:
        ordering = ["-year", "-quarter"]
        verbose_name = _("季度考评")
        verbose_name_plural = _("季度考评")
        constraints = [
            models.UniqueConstraint(fields=["agent", "year", "quarter"], name="assessment_agent_quarter")
        ]

    def __str__(self) -> str:
        return f"{self.agent} {self.year}Q{self.quarter}"


class InspectionForm(models.Model):
    """质检评分表, versioned: sections with a weight (summing to 100), each with the items an
    inspector may deduct for — ``{"name", "weight", "items": [{"code", "text", "deduct", "fatal"}]}``.
    A section scores 100 less its deductions (not below 0); the call's score is the weighted sum;
    a fatal item (e.g. leaking a customer's data, abusing a caller) makes the call score 0."""

    name = models.CharField(_("评分表名称"), max_length=80)
    version = models.PositiveSmallIntegerField(_("版本"), unique=True)
    sections = models.JSONField(_("评分项"))
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("质检评分表")
        verbose_name_plural = _("质检评分表")

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class InspectionPlan(SettingsRow):
    """质检抽样方案: how many calls of each agent are inspected a week, and what is always inspected."""

    new_agent_days = models.PositiveSmallIntegerField(_("新员工期（天）"), default=90)
    new_agent_per_week = models.PositiveSmallIntegerField(_("新员工每周抽检通数"), default=5)
    agent_per_week = models.PositiveSmallIntegerField(_("其他座席每周抽检通数"), default=2)
    trigger_words = models.CharField(
        _("必检关键词"),
        max_length=200,
        default="投诉,媒体,记者,起诉,律师,12398,曝光",
        help_text=_("逗号分隔"),
    )
    appeal_days = models.PositiveSmallIntegerField(_("申诉期限（天）"), default=3)

    class Meta:
        verbose_name = _("质检抽样方案")
        verbose_name_plural = _("质检抽样方案")

    def words(self) -> list[str]:
        return [w.strip() for w in self.trigger_words.replace("，", ",").split(",") if w.strip()]


class Inspection(models.Model):
    """质检任务: one call chosen for inspection (sampled, or a must-check), its scoring, the agent's
    appeal and its review."""

    class State(models.TextChoices):
        PENDING = "pending", _("待质检")
        SCORED = "scored", _("已评分")
        APPEALED = "appealed", _("申诉中")
        REVIEWED = "reviewed", _("已复核")

    call = models.OneToOneField(
        "hotline.Call", verbose_name=_("来电"), on_delete=models.CASCADE, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("座席"), on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(Unit, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+")
    week = models.DateField(_("抽检周"), help_text=_("该周周一"))
    reason = models.CharField(_("抽检原因"), max_length=60)
    business = models.CharField(_("业务类型"), max_length=20, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.PENDING)
    form = models.ForeignKey(
        InspectionForm, verbose_name=_("评分表"), on_delete=models.PROTECT, null=True, blank=True
    )
    deductions = models.JSONField(_("扣分项"), default=list, blank=True)
    notes = models.TextField(_("质检意见"), blank=True)
    score = models.DecimalField(_("得分"), max_digits=5, decimal_places=1, null=True, blank=True)
    fatal = models.BooleanField(_("致命错误"), default=False)
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("质检员"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    scored_at = models.DateTimeField(_("评分时间"), null=True, blank=True)
    appeal = models.TextField(_("申诉理由"), blank=True)
    appealed_at = models.DateTimeField(_("申诉时间"), null=True, blank=True)
    review = models.TextField(_("复核意见"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("复核人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("复核时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("抽取时间"))

    class Meta:
        ordering = ["-week", "state", "pk"]
        verbose_name = _("质检任务")
        verbose_name_plural = _("质检任务")
        indexes = [
            models.Index(fields=["agent", "week"], name="inspection_agent_week"),
            models.Index(fields=["unit", "state"], name="inspection_unit_state"),
            models.Index(fields=["scored_at"], name="inspection_scored"),  # the statistics roll-ups
        ]

    def __str__(self) -> str:
        return f"{self.agent} {self.week} {self.get_state_display()}"


class CalibrationSession(models.Model):
    """质检校准: several inspectors score one inspected call on their own, blind to each other's
    scores until the session closes; then the spread of their scores per section and each
    inspector's deviation from the session's reference (the median of their scores) show how far
    the center's inspectors are from one another (``inspection.calibration_results``)."""

    class State(models.TextChoices):
        OPEN = "open", _("评分中")
        CLOSED = "closed", _("已结束")

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("质检任务"), on_delete=models.PROTECT, related_name="calibrations"
    )
    # The inspection's unit: who may see the session (the scoping door), with the participants.
    unit = models.ForeignKey(Unit, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+")
    form = models.ForeignKey(InspectionForm, verbose_name=_("评分表"), on_delete=models.PROTECT)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.OPEN)
    note = models.TextField(_("校准说明"), blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发起人"), on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(_("发起时间"))
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("结束人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        verbose_name = _("质检校准")
        verbose_name_plural = _("质检校准")
        indexes = [models.Index(fields=["unit", "state"], name="calibration_unit_state")]

    def __str__(self) -> str:
        return f"{self.inspection} {self.opened_at:%Y-%m-%d}"


class CalibrationScore(models.Model):
    """One participant of a calibration session and their score of its call (empty until scored)."""

    session = models.ForeignKey(
        CalibrationSession, verbose_name=_("质检校准"), on_delete=models.CASCADE, related_name="scores"
    )
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("质检员"), on_delete=models.PROTECT, related_name="+"
    )
    deductions = models.JSONField(_("扣分项"), default=list, blank=True)
    score = models.DecimalField(_("得分"), max_digits=5, decimal_places=1, null=True, blank=True)
    fatal = models.BooleanField(_("致命错误"), default=False)
    notes = models.TextField(_("评分说明"), blank=True)
    scored_at = models.DateTimeField(_("评分时间"), null=True, blank=True)

    class Meta:
        ordering = ["session", "pk"]
        verbose_name = _("校准评分")
        verbose_name_plural = _("校准评分")
        constraints = [
            models.UniqueConstraint(fields=["session", "inspector"], name="calibration_one_score_each")
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.inspector}"


# --- Roll-ups: the statistics read from these, maintained incrementally (issue 17, item 10) --------


class RollupStamp(models.Model):
    """How often rows of one hour of the sources' time changed: bumped by database triggers on every
    insert, update and delete of a statistics source (a work order, its time limits, a call …) —
    except rows of the hour that is running, which no roll-up has read yet. A bucket built when the
    stamps of its hours added up to N is stale once they add up to more."""

    hour = models.BigIntegerField(_("小时（纪元小时）"), primary_key=True)
    generation = models.BigIntegerField(_("变更次数"), default=0)

    class Meta:
        verbose_name = _("统计变更戳")
        verbose_name_plural = _("统计变更戳")

    def __str__(self) -> str:
        return f"{self.hour}: {self.generation}"


class RollupBucket(models.Model):
    """One rolled period: a local day before today (24 hours) or one hour of today, with what its
    cells were built from — the stamps' sum then, and for each metric its definition's fingerprint
    and the time its figure changes by itself (a time limit falling due), if any."""

    start = models.BigIntegerField(_("起始（纪元小时）"))
    hours = models.PositiveSmallIntegerField(_("小时数"))
    generation = models.BigIntegerField(_("构建时变更次数"))
    built_at = models.DateTimeField(_("构建时间"))
    metrics = models.JSONField(_("指标"), default=dict)  # {"<metric pk>": {"fp": …, "until": epoch s | null}}
    # The fingerprint of all metric definitions it was built for, and the earliest "until": while
    # both still hold, every metric of the bucket is valid without reading ``metrics``.
    digest = models.CharField(_("口径摘要"), max_length=16, blank=True, default="")
    until_min = models.BigIntegerField(_("最早失效时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("统计汇总时段")
        verbose_name_plural = _("统计汇总时段")
        constraints = [models.UniqueConstraint(fields=["start", "hours"], name="rollup_bucket_unique")]

    def __str__(self) -> str:
        return f"{self.start}+{self.hours}h"


class RollupCell(models.Model):
    """The additive parts of every rolled metric for one unit's subtree and one bucket:
    ``{"<metric pk>": [numerator sum, numerator rows, denominator sum, denominator rows]}``. A
    county's cell holds its stations' rows too, so a province's month is ~30 cells."""

    start = models.BigIntegerField(_("起始（纪元小时）"))
    hours = models.PositiveSmallIntegerField(_("小时数"))
    unit = models.ForeignKey(Unit, verbose_name=_("单位"), on_delete=models.CASCADE, db_index=False)
    parts = models.JSONField(_("分项"), default=dict)

    class Meta:
        verbose_name = _("统计汇总")
        verbose_name_plural = _("统计汇总")
        constraints = [
            models.UniqueConstraint(fields=["unit", "hours", "start"], name="rollup_cell_unique"),
        ]
        indexes = [models.Index(fields=["hours", "start"], name="rollup_cell_bucket")]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.start}+{self.hours}h"
