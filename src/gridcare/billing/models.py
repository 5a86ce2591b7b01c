"""Billing (电费): tariffs as dated versions, readings, the monthly calculation run and its bills,
payments and what they paid, late fees (电费违约金) by rule version, arrears and disconnection,
prepaid (费控) accounts.

Money is ``Decimal`` with two places (yuan), energy ``Decimal`` kWh. Every rule value a person may
change (tariff prices and bands, late-fee rates, notice periods, low-balance thresholds) is a row
here, seeded with its source and editable in the admin. A bill is never changed once released: a
correction issues a correcting bill (冲正/补收) that names the bill it corrects, and the original
stays as it was.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.core import clock
from gridcare.core.models import HistoryEntry
from gridcare.customers.models import Customer, Meter
from gridcare.org.models import Role, Unit

# Who calculates, takes money, waives and reconciles: billing clerks and managers (the verbs check
# it with ``org.scoping.has_role``).
BILLING_ROLES = (Role.BILLING_CLERK, Role.MANAGER)
# Who may take a payment, see receipts and a day's payments, and ask for a late-fee waiver.
CASHIER_ROLES = (Role.CASHIER, *BILLING_ROLES)

ZERO = Decimal("0")


# --- Tariffs -------------------------------------------------------------------------------------


class TariffKind(models.TextChoices):
    RESIDENTIAL = "residential", _("居民生活电价（阶梯）")
    SINGLE_RATE = "single_rate", _("单一制电价")
    TWO_PART = "two_part", _("两部制电价")


class TariffSchedule(models.Model):
    """电价表: one tariff of one province for one customer category (e.g. 浙江居民阶梯电价). Its
    prices live in dated versions (``TariffVersion``)."""

    code = models.SlugField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=80)
    province = models.CharField(_("省份"), max_length=20)
    kind = models.CharField(_("类别"), max_length=16, choices=TariffKind.choices)
    category = models.CharField(
        _("适用电价类别"), max_length=24, choices=Customer.TariffCategory.choices, db_index=True
    )
    is_active = models.BooleanField(_("在用"), default=True)
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["province", "code"]
        verbose_name = _("电价表")
        verbose_name_plural = _("电价表")

    def __str__(self) -> str:
        return self.name


class TariffVersion(models.Model):
    """One dated version of a tariff: its prices, bands, time-of-use windows and charges as a rule
    document (``rules``, checked by ``billing.tariffs.TariffRules`` when saved). A version applies
    from ``effective_from`` until the next version's date; a bill line names the version it used."""

    schedule = models.ForeignKey(
        TariffSchedule, on_delete=models.PROTECT, related_name="versions", verbose_name=_("电价表")
    )
    label = models.CharField(_("版本"), max_length=80, help_text=_("例如价格文件文号"))
    effective_from = models.DateField(_("生效日期"))
    rules = models.JSONField(_("电价规则"), default=dict)
    source = models.TextField(_("依据"), blank=True)

    class Meta:
        ordering = ["schedule", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "effective_from"], name="billing_version_once_a_day")
        ]
        verbose_name = _("电价版本")
        verbose_name_plural = _("电价版本")

    def __str__(self) -> str:
        return f"{self.schedule} {self.label} ({self.effective_from:%Y-%m-%d})"


class PowerFactorTable(models.Model):
    """力调电费增减表 of one power-factor standard (0.90 / 0.85 / 0.80): ``steps`` maps a monthly
    power factor (two places) to the percentage added to (+) or taken from (−) the basic and
    energy charges. Seeded from the 1983 《功率因数调整电费办法》 tables."""

    standard = models.DecimalField(_("考核标准"), max_digits=3, decimal_places=2, unique=True)
    steps = models.JSONField(_("增减百分数"), default=dict, help_text=_("功率因数 → 百分数"))
    source = models.TextField(_("依据"), blank=True)

    class Meta:
        ordering = ["-standard"]
        verbose_name = _("力调电费增减表")
        verbose_name_plural = _("力调电费增减表")

    def __str__(self) -> str:
        return f"{self.standard}"


class PaymentMethod(models.TextChoices):
    COUNTER = "counter", _("柜台缴费")
    WITHHOLDING = "withholding", _("银行代扣")
    ONLINE = "online", _("网上国网/线上")
    AGENT = "agent", _("代收网点")
    PREPAID = "prepaid", _("预付费（费控）")


class BillingAccount(models.Model):
    """计费档案 of a customer: the tariff it is billed on and what the calculation needs beyond
    the customer archive (household size, demand basis, power-factor standard), how it pays, and
    its running money position kept by the verbs in the same transaction as every bill and payment
    (``arrears`` = what released bills still owe; ``credit`` = money paid ahead, 预存)."""

    class DemandBasis(models.TextChoices):
        CAPACITY = "capacity", _("按容量")
        DEMAND = "demand", _("按需量")

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="billing", verbose_name=_("客户")
    )
    schedule = models.ForeignKey(
        TariffSchedule, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("电价表")
    )
    household_persons = models.PositiveSmallIntegerField(
        _("家庭人口"), default=0, help_text=_("一户多人口：达到规定人数时阶梯基数按电价规则增加")
    )
    demand_basis = models.CharField(
        _("基本电费计收方式"), max_length=10, choices=DemandBasis.choices, default=DemandBasis.CAPACITY
    )
    demand_kw = models.DecimalField(_("合同最大需量(kW)"), max_digits=10, decimal_places=2, default=ZERO)
    power_factor_standard = models.DecimalField(
        _("功率因数考核标准"), max_digits=3, decimal_places=2, null=True, blank=True
    )
    payment_method = models.CharField(
        _("缴费方式"), max_length=12, choices=PaymentMethod.choices, default=PaymentMethod.COUNTER
    )
    bank_account = models.CharField(_("代扣账号"), max_length=40, blank=True)
    arrears = models.DecimalField(_("欠费"), max_digits=14, decimal_places=2, default=ZERO)
    credit = models.DecimalField(_("预存余额"), max_digits=14, decimal_places=2, default=ZERO)
    late_fee_exempt = models.BooleanField(_("免收违约金"), default=False)

    class Meta:
        verbose_name = _("计费档案")
        verbose_name_plural = _("计费档案")

    def __str__(self) -> str:
        return f"{self.customer_id} {self.schedule_id}"


# --- Readings ------------------------------------------------------------------------------------


class ReadingKind(models.TextChoices):
    ACTUAL = "actual", _("实抄")
    REMOTE = "remote", _("远程采集")
    ESTIMATED = "estimated", _("估抄")
    METER_CHANGE = "meter_change", _("换表底度")


class MeterReading(models.Model):
    """抄表示数: the cumulative registers of a meter on a day (total and, on a time-of-use meter,
    peak / flat / valley / sharp; reactive energy and the month's maximum demand where metered).
    Usage is the difference from the previous reading of the same meter × its multiplier."""

    meter = models.ForeignKey(
        Meter, on_delete=models.PROTECT, related_name="readings", verbose_name=_("电能表")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="readings", verbose_name=_("客户")
    )
    read_on = models.DateField(_("抄表日期"))
    kind = models.CharField(_("类别"), max_length=12, choices=ReadingKind.choices, default=ReadingKind.ACTUAL)
    total = models.DecimalField(_("总示数"), max_digits=14, decimal_places=2)
    peak = models.DecimalField(_("峰示数"), max_digits=14, decimal_places=2, null=True, blank=True)
    flat = models.DecimalField(_("平示数"), max_digits=14, decimal_places=2, null=True, blank=True)
    valley = models.DecimalField(_("谷示数"), max_digits=14, decimal_places=2, null=True, blank=True)
    sharp = models.DecimalField(_("尖示数"), max_digits=14, decimal_places=2, null=True, blank=True)
    reactive = models.DecimalField(_("无功示数"), max_digits=14, decimal_places=2, null=True, blank=True)
    max_demand_kw = models.DecimalField(
        _("最大需量(kW)"), max_digits=10, decimal_places=3, null=True, blank=True
    )
    source = models.CharField(_("来源"), max_length=20, blank=True)
    recorded_at = models.DateTimeField(_("录入时间"), default=clock.now)

    class Meta:
        ordering = ["meter", "read_on"]
        constraints = [
            models.UniqueConstraint(fields=["meter", "read_on"], name="billing_reading_once_a_day")
        ]
        indexes = [models.Index(fields=["customer", "read_on"], name="billing_reading_customer")]
        verbose_name = _("抄表示数")
        verbose_name_plural = _("抄表示数")

    def __str__(self) -> str:
        return f"{self.meter_id} {self.read_on} {self.total}"


class DailyUsage(models.Model):
    """日用电量 of a smart meter (from the collection system): the day's kWh and its split."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="daily_usage", verbose_name=_("客户")
    )
    day = models.DateField(_("日期"))
    kwh = models.DecimalField(_("电量"), max_digits=14, decimal_places=2)
    peak_kwh = models.DecimalField(_("峰电量"), max_digits=14, decimal_places=2, default=ZERO)
    flat_kwh = models.DecimalField(_("平电量"), max_digits=14, decimal_places=2, default=ZERO)
    valley_kwh = models.DecimalField(_("谷电量"), max_digits=14, decimal_places=2, default=ZERO)

    class Meta:
        ordering = ["customer", "day"]
        constraints = [models.UniqueConstraint(fields=["customer", "day"], name="billing_daily_once")]
        verbose_name = _("日用电量")
        verbose_name_plural = _("日用电量")

    def __str__(self) -> str:
        return f"{self.customer_id} {self.day} {self.kwh}"


# --- The monthly calculation run and bills -------------------------------------------------------


class BillingRun(models.Model):
    """电费核算: one month's calculation for a unit's customers. Calculated bills wait in review
    while anomalies are open; releasing the run issues its bills (due dates set, customers told)."""

    class State(models.TextChoices):
        CALCULATED = "calculated", _("已计算待审核")
        RELEASED = "released", _("已发行")

    period = models.DateField(_("电费年月"), help_text=_("该月1日"))
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("核算单位"))
    state = models.CharField(_("状态"), max_length=12, choices=State.choices, default=State.CALCULATED)
    started_at = models.DateTimeField(_("开始时间"), default=clock.now)
    calculated_at = models.DateTimeField(_("计算完成"), null=True, blank=True)
    released_at = models.DateTimeField(_("发行时间"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    bills = models.PositiveIntegerField(_("账单数"), default=0)
    anomalies = models.PositiveIntegerField(_("异常数"), default=0)
    total_kwh = models.DecimalField(_("总电量"), max_digits=14, decimal_places=2, default=ZERO)
    total_amount = models.DecimalField(_("总电费"), max_digits=14, decimal_places=2, default=ZERO)

    class Meta:
        ordering = ["-period", "unit"]
        constraints = [models.UniqueConstraint(fields=["period", "unit"], name="billing_run_once")]
        verbose_name = _("电费核算批次")
        verbose_name_plural = _("电费核算批次")

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} {self.unit_id}"


class BillState(models.TextChoices):
    DRAFT = "draft", _("待发行")
    OPEN = "open", _("未缴清")
    PAID = "paid", _("已缴清")
    CORRECTED = "corrected", _("已冲正")


class Bill(models.Model):
    """电费账单 of one customer for one month (``kind`` original), or a correcting bill (冲正 /
    补收) that names the bill it corrects. Its lines say what was charged and at which tariff
    version; ``amount`` is their sum. ``paid`` and ``late_fee_*`` move with payments."""

    class Kind(models.TextChoices):
        ORIGINAL = "original", _("正常账单")
        CORRECTION = "correction", _("更正账单")
        IMPORTED = "imported", _("营销系统导入")

    # 退补冲抵: a correcting bill's refund, settling what the customer owes as money would (no
    # money moved; GridCare posts it, never a channel).
    OFFSET = "offset", _("退补冲抵")

    # Unique by a constraint (Meta), not ``unique=True``, which on PostgreSQL adds a pattern index
    # no query uses — written on every bill and every payment's update of it.
    number = models.CharField(_("账单编号"), max_length=24)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="bills",
        verbose_name=_("客户"),
        db_index=False,  # led by the (customer, period) index
    )
    run = models.ForeignKey(
        BillingRun,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bill_set",
        verbose_name=_("核算批次"),
    )
    period = models.DateField(_("电费年月"))
    kind = models.CharField(_("类别"), max_length=12, choices=Kind.choices, default=Kind.ORIGINAL)
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("更正的账单"),
        db_index=False,  # a partial index (Meta): only correcting bills have one
    )
    state = models.CharField(_("状态"), max_length=10, choices=BillState.choices, default=BillState.DRAFT)
    period_start = models.DateField(_("计费起日"))
    period_end = models.DateField(_("计费止日"))
    previous_total = models.DecimalField(
        _("上次示数"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    current_total = models.DecimalField(_("本次示数"), max_digits=14, decimal_places=2, null=True, blank=True)
    estimated = models.BooleanField(_("含估抄"), default=False)
    kwh = models.DecimalField(_("电量(kWh)"), max_digits=14, decimal_places=2, default=ZERO)
    peak_kwh = models.DecimalField(_("峰电量"), max_digits=14, decimal_places=2, default=ZERO)
    flat_kwh = models.DecimalField(_("平电量"), max_digits=14, decimal_places=2, default=ZERO)
    valley_kwh = models.DecimalField(_("谷电量"), max_digits=14, decimal_places=2, default=ZERO)
    amount = models.DecimalField(_("电费金额"), max_digits=14, decimal_places=2, default=ZERO)
    paid = models.DecimalField(_("已缴金额"), max_digits=14, decimal_places=2, default=ZERO)
    issued_on = models.DateField(_("发行日期"), null=True, blank=True)
    due_on = models.DateField(_("缴费截止日"), null=True, blank=True)
    paid_on = models.DateField(_("缴清日期"), null=True, blank=True)
    late_fee_charged = models.DecimalField(_("已计违约金"), max_digits=14, decimal_places=2, default=ZERO)
    late_fee_paid = models.DecimalField(_("已缴违约金"), max_digits=14, decimal_places=2, default=ZERO)
    late_fee_from = models.DateField(_("违约金已计至"), null=True, blank=True)
    late_fee_waived = models.BooleanField(_("违约金已减免"), default=False)
    year_kwh_before = models.DecimalField(
        _("本阶梯年度此前累计电量"), max_digits=14, decimal_places=2, default=ZERO
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("生成时间"), default=clock.now)

    class Meta:
        ordering = ["customer", "-period", "id"]
        constraints = [models.UniqueConstraint(fields=["number"], name="billing_bill_number")]
        indexes = [
            models.Index(fields=["customer", "period"], name="billing_bill_customer"),
            # Partial indexes, so that a bill paid or still a draft is in neither: paying a bill
            # writes fewer index entries (its state leaves their condition).
            models.Index(fields=["due_on"], condition=models.Q(state="open"), name="billing_bill_open_due"),
            models.Index(
                fields=["corrects"], condition=models.Q(corrects__isnull=False), name="billing_bill_corrects"
            ),
            # A customer's open bills, oldest due first: what every payment reads and locks.
            models.Index(
                fields=["customer", "due_on"], condition=models.Q(state="open"), name="billing_bill_owed"
            ),
        ]
        verbose_name = _("电费账单")
        verbose_name_plural = _("电费账单")

    def __str__(self) -> str:
        return self.number

    @property
    def owed(self) -> Decimal:
        """What the bill itself still owes (without late fees)."""
        return self.amount - self.paid


class BillLine(models.Model):
    """One line of a bill: an item (a tier's energy, a time-of-use period, the basic charge, the
    power-factor adjustment, a surcharge), its quantity, unit price and amount, and the tariff
    version it was priced by."""

    class Item(models.TextChoices):
        ENERGY = "energy", _("电度电费")
        TIER_INCREMENT = "tier_increment", _("阶梯加价")
        CAPACITY = "capacity", _("基本电费（容量）")
        DEMAND = "demand", _("基本电费（需量）")
        POWER_FACTOR = "power_factor", _("功率因数调整电费")
        SURCHARGE = "surcharge", _("代征基金及附加")
        ADJUSTMENT = "adjustment", _("更正调整")

    bill = models.ForeignKey(Bill, on_delete=models.CASCADE, related_name="lines", verbose_name=_("账单"))
    seq = models.PositiveSmallIntegerField(_("序号"))
    item = models.CharField(_("项目"), max_length=16, choices=Item.choices)
    label = models.CharField(_("名称"), max_length=60)
    tier = models.PositiveSmallIntegerField(_("阶梯档"), null=True, blank=True)
    tou_period = models.CharField(_("时段"), max_length=8, blank=True)
    quantity = models.DecimalField(_("数量"), max_digits=14, decimal_places=2)
    unit = models.CharField(_("单位"), max_length=10, default="kWh")
    price = models.DecimalField(_("单价"), max_digits=12, decimal_places=8)
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)
    version = models.ForeignKey(
        TariffVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("电价版本"),
    )

    class Meta:
        ordering = ["bill", "seq"]
        verbose_name = _("账单明细")
        verbose_name_plural = _("账单明细")

    def __str__(self) -> str:
        return f"{self.bill_id} {self.seq} {self.label}"


class Anomaly(models.Model):
    """核算异常: a calculated bill held for review before release (usage swing beyond the
    threshold, zero usage, meter replaced, reading missing or estimated)."""

    class Kind(models.TextChoices):
        SWING = "swing", _("电量波动超阈值")
        ZERO = "zero", _("零电量")
        METER_CHANGED = "meter_changed", _("换表")
        READING_MISSING = "reading_missing", _("未抄到示数（已估抄）")
        NEGATIVE = "negative", _("示数倒走")
        # The last bill was estimated above this actual reading: its reading is corrected and
        # the difference refunded by a correcting bill when the run is released (多退少补).
        OVERSHOOT = "overshoot", _("估抄多计（多退少补）")

    class State(models.TextChoices):
        OPEN = "open", _("待审核")
        ACCEPTED = "accepted", _("审核通过")
        RECALCULATED = "recalculated", _("已重算")

    run = models.ForeignKey(
        BillingRun, on_delete=models.CASCADE, related_name="anomaly_set", verbose_name=_("核算批次")
    )
    bill = models.ForeignKey(Bill, on_delete=models.CASCADE, related_name="anomalies", verbose_name=_("账单"))
    kind = models.CharField(_("类别"), max_length=16, choices=Kind.choices)
    detail = models.CharField(_("说明"), max_length=200)
    state = models.CharField(_("状态"), max_length=14, choices=State.choices, default=State.OPEN)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    review_note = models.CharField(_("审核意见"), max_length=200, blank=True)

    class Meta:
        ordering = ["run", "id"]
        verbose_name = _("核算异常")
        verbose_name_plural = _("核算异常")

    def __str__(self) -> str:
        return f"{self.bill_id} {self.kind}"


class BillingSetting(models.Model):
    """The calculation's thresholds and dates (one row in force; data, not constants)."""

    effective_from = models.DateField(_("生效日期"), unique=True)
    swing_percent = models.PositiveSmallIntegerField(_("电量波动阈值(%)"), default=50)
    swing_min_kwh = models.PositiveIntegerField(_("波动判定最小电量(kWh)"), default=50)
    due_days = models.PositiveSmallIntegerField(_("缴费期限(天)"), default=15)
    reminder_after_days = models.PositiveSmallIntegerField(_("逾期催费(天)"), default=1)
    disconnect_after_days = models.PositiveSmallIntegerField(_("逾期可停电(天)"), default=30)
    residential_notice_days = models.PositiveSmallIntegerField(_("居民停电通知提前(天)"), default=7)
    other_notice_days = models.PositiveSmallIntegerField(_("非居民停电通知提前(天)"), default=3)
    call_before_minutes = models.PositiveSmallIntegerField(_("停电前电话通知(分钟)"), default=60)
    reconnect_hours = models.PositiveSmallIntegerField(_("缴费后复电时限(小时)"), default=24)
    low_balance_yuan = models.DecimalField(
        _("费控低余额提醒(元)"), max_digits=14, decimal_places=2, default=Decimal("30")
    )
    prepaid_grace_minutes = models.PositiveSmallIntegerField(_("费控欠费停电宽限(分钟)"), default=30)

    class Meta:
        ordering = ["-effective_from"]
        verbose_name = _("电费参数")
        verbose_name_plural = _("电费参数")

    def __str__(self) -> str:
        return f"{self.effective_from}"

    @classmethod
    def current(cls, on=None) -> BillingSetting:
        day = on or clock.local(clock.now()).date()
        found = cls.objects.filter(effective_from__lte=day).order_by("-effective_from").first()
        return found or cls(effective_from=day)


# --- Late fees -----------------------------------------------------------------------------------


class LateFeeRule(models.Model):
    """电费违约金 rates in force from ``effective_from`` (the 1996 and 2024 《供电营业规则》 as
    data): per day on the arrears; residential at one rate, others at one rate on the current
    year's arrears and another on arrears carried over from prior years; a total under
    ``minimum`` charged as ``minimum``."""

    effective_from = models.DateField(_("生效日期"), unique=True)
    label = models.CharField(_("依据"), max_length=120)
    residential_per_day = models.DecimalField(_("居民日费率"), max_digits=8, decimal_places=6)
    current_year_per_day = models.DecimalField(_("非居民当年欠费日费率"), max_digits=8, decimal_places=6)
    prior_years_per_day = models.DecimalField(_("非居民跨年欠费日费率"), max_digits=8, decimal_places=6)
    minimum = models.DecimalField(_("最低收取(元)"), max_digits=14, decimal_places=2, default=Decimal("1"))
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["-effective_from"]
        verbose_name = _("违约金规则")
        verbose_name_plural = _("违约金规则")

    def __str__(self) -> str:
        return self.label


class LateFeeWaiver(models.Model):
    """违约金减免: requested on a bill by one person with the reason, decided by another (a billing
    clerk or manager over the customer — never the requester: the verbs refuse it and a check
    constraint backs it). Approved, the bill's late fee stops and what is charged and unpaid is
    dropped (``amount``); rejected, the fee runs on and a new request may be made."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")

    bill = models.ForeignKey(Bill, on_delete=models.CASCADE, related_name="waivers", verbose_name=_("账单"))
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.REQUESTED)
    reason = models.CharField(_("原因"), max_length=200)
    amount = models.DecimalField(_("减免金额"), max_digits=14, decimal_places=2, default=ZERO)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("申请人")
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审批人"),
    )
    at = models.DateTimeField(_("申请时间"), default=clock.now)
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            # One request under way or approved per bill; a rejected one may be asked again.
            models.UniqueConstraint(
                fields=["bill"],
                condition=models.Q(state__in=["requested", "approved"]),
                name="billing_waiver_one_standing",
            ),
            # Four eyes: the requester never decides their own request.
            models.CheckConstraint(
                condition=~models.Q(approved_by=models.F("requested_by")),
                name="billing_waiver_other_approver",
            ),
        ]
        verbose_name = _("违约金减免")
        verbose_name_plural = _("违约金减免")

    def __str__(self) -> str:
        return f"{self.bill_id} {self.reason}"


# --- Payments ------------------------------------------------------------------------------------


class Channel(models.TextChoices):
    COUNTER = "counter", _("营业厅柜台")
    POS = "pos", _("POS/银联")
    WITHHOLDING = "withholding", _("银行代扣")
    AGENT = "agent", _("代收网点（邮政）")
    ONLINE = "online", _("线上（网上国网/支付宝/微信）")
    IMPORTED = "imported", _("营销系统导入")
    # 退补冲抵: a correcting bill's refund, settling what the customer owes as money would (no
    # money moved; GridCare posts it, never a channel).
    OFFSET = "offset", _("退补冲抵")


class Payment(models.Model):
    """缴费记录: money received for a customer by a channel. The channel's own reference (its
    transaction number) with the channel is unique, so a retried request is applied once. What it
    paid is in its allocations (oldest debt first: late fee, then the bill); what is left over is
    the customer's credit (预存)."""

    class State(models.TextChoices):
        POSTED = "posted", _("已入账")
        REVERSED = "reversed", _("已冲正")

    # Unique by a constraint (below), not ``unique=True``: on PostgreSQL that would add a second,
    # pattern-matching index no query uses, written on every payment.
    receipt_no = models.CharField(_("收据号"), max_length=24)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("客户"),
        db_index=False,  # led by the (customer, paid_at) index
    )
    channel = models.CharField(_("渠道"), max_length=12, choices=Channel.choices)
    reference = models.CharField(_("渠道流水号"), max_length=64)
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)
    paid_at = models.DateTimeField(_("缴费时间"))
    business_day = models.DateField(_("账务日期"), db_index=True)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.POSTED)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("收费员"),
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("收费单位")
    )
    fingerprint = models.CharField(_("请求指纹"), max_length=64, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("入账时间"), default=clock.now)

    class Meta:
        ordering = ["-paid_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "reference"], name="billing_payment_once"),
            models.UniqueConstraint(fields=["receipt_no"], name="billing_payment_receipt"),
        ]
        indexes = [models.Index(fields=["customer", "paid_at"], name="billing_payment_customer")]
        verbose_name = _("缴费记录")
        verbose_name_plural = _("缴费记录")

    def __str__(self) -> str:
        return self.receipt_no


class Allocation(models.Model):
    """What a payment paid: a bill's late fee or its amount (or, with no bill, the credit)."""

    class Part(models.TextChoices):
        LATE_FEE = "late_fee", _("违约金")
        BILL = "bill", _("电费")
        CREDIT = "credit", _("预存")

    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, related_name="allocations", verbose_name=_("缴费")
    )
    bill = models.ForeignKey(
        Bill, on_delete=models.PROTECT, null=True, blank=True, related_name="allocations"
    )
    part = models.CharField(_("科目"), max_length=10, choices=Part.choices)
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["payment", "id"]
        verbose_name = _("缴费分配")
        verbose_name_plural = _("缴费分配")

    def __str__(self) -> str:
        return f"{self.payment_id} {self.part} {self.amount}"


class PaymentFile(models.Model):
    """A channel's file (the bank's withholding result, an agent's collection list, a marketing
    system's export): accepted whole or rejected whole, with a report naming every bad row."""

    class Kind(models.TextChoices):
        WITHHOLDING = "withholding", _("银行代扣回盘")
        AGENT = "agent", _("代收网点清单")
        BILLS = "bills", _("营销系统账单")
        PAYMENTS = "payments", _("营销系统缴费")
        BALANCES = "balances", _("营销系统余额")

    class State(models.TextChoices):
        ACCEPTED = "accepted", _("已导入")
        REJECTED = "rejected", _("已拒绝")

    kind = models.CharField(_("类别"), max_length=12, choices=Kind.choices)
    name = models.CharField(_("文件名"), max_length=200)
    sha256 = models.CharField(_("摘要"), max_length=64)
    rows = models.PositiveIntegerField(_("行数"), default=0)
    total = models.DecimalField(_("金额合计"), max_digits=14, decimal_places=2, default=ZERO)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices)
    report = models.JSONField(_("逐行报告"), default=list)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("导入单位")
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), default=clock.now)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("导入文件")
        verbose_name_plural = _("导入文件")

    def __str__(self) -> str:
        return self.name


class Reconciliation(models.Model):
    """日对账: one channel's day at one unit (its collection account: the payments of the customers
    under it) — our posted total against the channel's statement."""

    channel = models.CharField(_("渠道"), max_length=12, choices=Channel.choices)
    business_day = models.DateField(_("账务日期"))
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("对账单位"), null=True
    )
    our_count = models.PositiveIntegerField(_("本方笔数"), default=0)
    our_total = models.DecimalField(_("本方金额"), max_digits=14, decimal_places=2, default=ZERO)
    their_count = models.PositiveIntegerField(_("渠道笔数"), null=True, blank=True)
    their_total = models.DecimalField(_("渠道金额"), max_digits=14, decimal_places=2, null=True, blank=True)
    differences = models.JSONField(_("差异明细"), default=list)
    balanced = models.BooleanField(_("平账"), default=False)
    done_at = models.DateTimeField(_("对账时间"), default=clock.now)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-business_day", "channel"]
        constraints = [
            # One result per channel, day and collection account (unit): each station reconciles
            # its own account for the same channel and day.
            models.UniqueConstraint(
                fields=["channel", "business_day", "unit"], name="billing_reconcile_once_per_unit"
            )
        ]
        verbose_name = _("渠道日对账")
        verbose_name_plural = _("渠道日对账")

    def __str__(self) -> str:
        return f"{self.channel} {self.business_day}"


# --- Arrears, disconnection and reconnection ----------------------------------------------------


class SupplyGuarantee(models.Model):
    """保电: no disconnection (and no prepaid cut) for a customer, or for every customer of a unit,
    between two instants (a major event, an exam, extreme weather: ``reason``)."""

    class Reason(models.TextChoices):
        EVENT = "event", _("重大活动保电")
        WEATHER = "weather", _("极端天气")
        MEDICAL = "medical", _("医疗/生命支持设备")
        OTHER = "other", _("其他")

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="guarantees",
        verbose_name=_("客户"),
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("单位")
    )
    reason = models.CharField(_("原因"), max_length=10, choices=Reason.choices)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("开始"))
    ends_at = models.DateTimeField(_("结束"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # 提前结束: when, by whom and why (``ends_at`` moved to that moment).
    ended_early_at = models.DateTimeField(_("提前结束时间"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("提前结束人"),
    )
    end_reason = models.CharField(_("提前结束原因"), max_length=100, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(customer__isnull=False) | models.Q(unit__isnull=False),
                name="billing_guarantee_has_target",
            )
        ]
        verbose_name = _("保电")
        verbose_name_plural = _("保电")

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.starts_at:%Y-%m-%d}"


class DisconnectionCase(models.Model):
    """欠费停电工单: from the proposal (only when the rules allow) through the notice and its proof of
    delivery (and, for non-residential customers, the call an hour before) to the cut — by a field
    order or a remote command — and, once paid, the reconnection within the promised hours."""

    class State(models.TextChoices):
        PROPOSED = "proposed", _("拟停电")
        NOTIFIED = "notified", _("已送达通知")
        CALLED = "called", _("已电话告知")
        DISCONNECTED = "disconnected", _("已停电")
        RECONNECTING = "reconnecting", _("待复电")
        RECONNECTED = "reconnected", _("已复电")
        CANCELLED = "cancelled", _("已撤销")

    class Method(models.TextChoices):
        FIELD = "field", _("现场停电")
        REMOTE = "remote", _("远程费控")

    number = models.CharField(_("编号"), max_length=24, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="disconnections", verbose_name=_("客户")
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name=_("责任单位"))
    state = models.CharField(_("状态"), max_length=14, choices=State.choices, default=State.PROPOSED)
    method = models.CharField(_("方式"), max_length=8, choices=Method.choices, default=Method.FIELD)
    arrears = models.DecimalField(_("欠费金额"), max_digits=14, decimal_places=2)
    oldest_due_on = models.DateField(_("最早欠费到期日"))
    proposed_at = models.DateTimeField(_("发起时间"), default=clock.now)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    notice_delivered_at = models.DateTimeField(_("通知送达时间"), null=True, blank=True)
    notice_proof = models.CharField(_("送达凭证"), max_length=200, blank=True)
    earliest_cut_at = models.DateTimeField(_("最早停电时间"), null=True, blank=True)
    called_at = models.DateTimeField(_("停电前电话时间"), null=True, blank=True)
    disconnected_at = models.DateTimeField(_("停电时间"), null=True, blank=True)
    paid_at = models.DateTimeField(_("缴清时间"), null=True, blank=True)
    reconnect_due_at = models.DateTimeField(_("复电时限"), null=True, blank=True, db_index=True)
    reconnected_at = models.DateTimeField(_("复电时间"), null=True, blank=True)
    warning_level = models.PositiveSmallIntegerField(_("复电预警级别"), default=0)
    cancel_reason = models.CharField(_("撤销原因"), max_length=200, blank=True)
    field_order = models.ForeignKey(
        "workorders.WorkOrder",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("现场工单"),
    )

    class Meta:
        ordering = ["-proposed_at"]
        indexes = [models.Index(fields=["state", "unit"], name="billing_cut_state_unit")]
        verbose_name = _("欠费停复电")
        verbose_name_plural = _("欠费停复电")

    def __str__(self) -> str:
        return self.number


class DisconnectionEvent(HistoryEntry):
    """停复电流转记录."""

    case = models.ForeignKey(DisconnectionCase, on_delete=models.CASCADE, related_name="events")

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("停复电记录")
        verbose_name_plural = _("停复电记录")


class SupervisionRun(models.Model):
    """ "533" 督办: one of the three daily runs (morning, noon, evening) from the 5th-last day of a
    month to the 3rd of the next, with its bulletin of pending disconnections and reconnections
    per unit (``rows``)."""

    class Slot(models.TextChoices):
        MORNING = "morning", _("早")
        NOON = "noon", _("中")
        EVENING = "evening", _("晚")

    day = models.DateField(_("日期"))
    slot = models.CharField(_("批次"), max_length=8, choices=Slot.choices)
    ran_at = models.DateTimeField(_("执行时间"), default=clock.now)
    rows = models.JSONField(_("各单位情况"), default=list)

    class Meta:
        ordering = ["-day", "-ran_at"]
        constraints = [models.UniqueConstraint(fields=["day", "slot"], name="billing_533_once")]
        verbose_name = _("“533”督办")
        verbose_name_plural = _("“533”督办")

    def __str__(self) -> str:
        return f"{self.day} {self.slot}"


# --- Prepaid (费控) -------------------------------------------------------------------------------


class PrepaidAccount(models.Model):
    """费控账户: the balance the customer buys ahead and usage draws down. A local meter holds its
    own balance and trips itself; a remote one is computed here and cut by GridCare's command
    after the grace period below zero, restored automatically on purchase. 保电 blocks any cut."""

    class Mode(models.TextChoices):
        LOCAL = "local", _("本地费控")
        REMOTE = "remote", _("远程费控")

    class State(models.TextChoices):
        NORMAL = "normal", _("正常")
        LOW = "low", _("余额不足")
        NEGATIVE = "negative", _("欠费待停")
        CUT = "cut", _("已停电")

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="prepaid", verbose_name=_("客户")
    )
    mode = models.CharField(_("模式"), max_length=8, choices=Mode.choices, default=Mode.REMOTE)
    balance = models.DecimalField(_("余额"), max_digits=14, decimal_places=2, default=ZERO)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.NORMAL)
    low_threshold = models.DecimalField(
        _("低余额提醒(元)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    negative_since = models.DateTimeField(_("欠费起始"), null=True, blank=True)
    low_told_at = models.DateTimeField(_("低余额提醒时间"), null=True, blank=True)
    cut_at = models.DateTimeField(_("停电时间"), null=True, blank=True)
    restored_at = models.DateTimeField(_("复电时间"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), default=clock.now)

    class Meta:
        verbose_name = _("费控账户")
        verbose_name_plural = _("费控账户")

    def __str__(self) -> str:
        return f"{self.customer_id} {self.balance}"


class PrepaidCommand(models.Model):
    """A trip or close command sent to a remote-mode meter, and what came back."""

    class Kind(models.TextChoices):
        TRIP = "trip", _("跳闸")
        CLOSE = "close", _("合闸")

    account = models.ForeignKey(PrepaidAccount, on_delete=models.CASCADE, related_name="commands")
    kind = models.CharField(_("命令"), max_length=6, choices=Kind.choices)
    reason = models.CharField(_("原因"), max_length=120)
    sent_at = models.DateTimeField(_("下发时间"), default=clock.now)
    result = models.CharField(_("结果"), max_length=40, blank=True)

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = _("费控命令")
        verbose_name_plural = _("费控命令")

    def __str__(self) -> str:
        return f"{self.account_id} {self.kind} {self.sent_at:%Y-%m-%d %H:%M}"


class PaymentPoint(models.Model):
    """缴费网点: where a customer can pay — a service hall, a post office or bank agent, a
    self-service terminal — with its unit (the nearest are those of the customer's station)."""

    class Kind(models.TextChoices):
        HALL = "hall", _("供电营业厅")
        POST = "post", _("邮政代收网点")
        BANK = "bank", _("银行代收网点")
        KIOSK = "kiosk", _("自助缴费终端")

    name = models.CharField(_("名称"), max_length=80)
    kind = models.CharField(_("类别"), max_length=8, choices=Kind.choices)
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+", verbose_name=_("所属单位"))
    address = models.CharField(_("地址"), max_length=200)
    hours = models.CharField(_("营业时间"), max_length=80, blank=True)
    phone = models.CharField(_("电话"), max_length=20, blank=True)
    is_active = models.BooleanField(_("在用"), default=True)

    class Meta:
        ordering = ["unit", "kind", "name"]
        verbose_name = _("缴费网点")
        verbose_name_plural = _("缴费网点")

    def __str__(self) -> str:
        return self.name
