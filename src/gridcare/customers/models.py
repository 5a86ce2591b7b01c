from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.org.models import Unit

# An identifier (户号, 编码, 表号, 合同编号): letters, digits and - _ . after a letter or digit; no
# spaces, quotes or markup. The import (importing.cells.code) and the model (admin, forms) share it.
CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_\-.]*$")


class AreaClass(models.TextChoices):
    """供电区域类别: drives repair arrival limits."""

    URBAN = "urban", _("城区")
    RURAL = "rural", _("农村")
    REMOTE = "remote", _("特殊边远")


class Substation(models.Model):
    """变电站."""

    name = models.CharField(_("名称"), max_length=60)
    code = models.CharField(_("编码"), max_length=32, unique=True)
    voltage_kv = models.PositiveSmallIntegerField(_("电压等级(kV)"), default=35)
    unit = models.ForeignKey(
        Unit, verbose_name=_("运维单位"), on_delete=models.PROTECT, related_name="substations"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("变电站")
        verbose_name_plural = _("变电站")

    def __str__(self) -> str:
        return self.name


class Feeder(models.Model):
    """线路 (10 kV feeder) leaving a substation."""

    name = models.CharField(_("名称"), max_length=60)
    code = models.CharField(_("编码"), max_length=32, unique=True)
    voltage_kv = models.PositiveSmallIntegerField(_("电压等级(kV)"), default=10)
    substation = models.ForeignKey(
        Substation, verbose_name=_("变电站"), on_delete=models.PROTECT, related_name="feeders"
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("运维单位"), on_delete=models.PROTECT, related_name="feeders"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("线路")
        verbose_name_plural = _("线路")

    def __str__(self) -> str:
        return self.name


class TransformerArea(models.Model):
    """台区: a distribution transformer and the customers it supplies."""

    name = models.CharField(_("名称"), max_length=80)
    code = models.CharField(_("编码"), max_length=32, unique=True)
    feeder = models.ForeignKey(Feeder, verbose_name=_("线路"), on_delete=models.PROTECT, related_name="areas")
    station = models.ForeignKey(
        Unit, verbose_name=_("供电所"), on_delete=models.PROTECT, related_name="areas"
    )
    area_class = models.CharField(
        _("区域类别"), max_length=10, choices=AreaClass.choices, default=AreaClass.URBAN
    )
    capacity_kva = models.PositiveIntegerField(_("变压器容量(kVA)"), default=400)
    is_public = models.BooleanField(_("公用变"), default=True)
    grid_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("台区网格客户经理"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_areas",
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("台区")
        verbose_name_plural = _("台区")

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """客户档案. ``station`` repeats ``transformer_area.station`` so scoping is one indexed filter."""

    class CustomerClass(models.TextChoices):
        RESIDENTIAL = "residential", _("居民")
        NON_RESIDENTIAL = "non_residential", _("一般工商业")
        LARGE_INDUSTRY = "large_industry", _("大工业")
        AGRICULTURE = "agriculture", _("农业生产")
        PUBLIC = "public", _("公用/机关")

    class TariffCategory(models.TextChoices):
        RESIDENTIAL_TIERED = "residential_tiered", _("居民阶梯电价")
        RESIDENTIAL_TOU = "residential_tou", _("居民峰谷分时电价")
        GENERAL_BUSINESS = "general_business", _("一般工商业电价")
        LARGE_INDUSTRY_TWO_PART = "large_industry", _("大工业两部制电价")
        AGRICULTURE = "agriculture", _("农业生产电价")

    class LoadClass(models.IntegerChoices):
        FIRST = 1, _("一类负荷")
        SECOND = 2, _("二类负荷")
        THIRD = 3, _("三类负荷")

    class CreditRating(models.TextChoices):
        AAA = "AAA", "AAA"
        AA = "AA", "AA"
        A = "A", "A"
        B = "B", "B"
        C = "C", "C"

    class VulnerableKind(models.TextChoices):
        NONE = "", _("—")
        FIVE_GUARANTEES = "wubao", _("五保户")
        ELDERLY_ALONE = "elderly", _("孤寡老人")
        MINIMUM_LIVING = "dibao", _("低保户")
        DISABLED = "disabled", _("残疾人家庭")

    class Status(models.TextChoices):
        ACTIVE = "active", _("正常用电")
        SUSPENDED = "suspended", _("暂停")
        DISCONNECTED = "disconnected", _("欠费停电")
        CLOSED = "closed", _("已销户")

    account_no = models.CharField(_("户号"), max_length=20, unique=True)
    name = models.CharField(_("户名"), max_length=100, db_index=True)
    id_number = models.CharField(_("证件号码"), max_length=30, blank=True)
    customer_class = models.CharField(_("用户类别"), max_length=20, choices=CustomerClass.choices)
    tariff_category = models.CharField(_("电价类别"), max_length=24, choices=TariffCategory.choices)
    load_class = models.PositiveSmallIntegerField(
        _("负荷等级"), choices=LoadClass.choices, default=LoadClass.THIRD
    )
    contracted_capacity_kva = models.DecimalField(
        _("合同容量(kVA)"), max_digits=10, decimal_places=1, default=0
    )
    credit_rating = models.CharField(_("信用等级"), max_length=3, choices=CreditRating.choices, default="A")
    transformer_area = models.ForeignKey(
        TransformerArea, verbose_name=_("台区"), on_delete=models.PROTECT, related_name="customers"
    )
    station = models.ForeignKey(
        Unit, verbose_name=_("供电所"), on_delete=models.PROTECT, related_name="customers"
    )
    account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("客户经理"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="key_accounts",
    )
    is_key = models.BooleanField(_("重要客户"), default=False)
    is_vip = models.BooleanField(_("VIP"), default=False)
    vulnerable_kind = models.CharField(
        _("特殊群体"), max_length=10, choices=VulnerableKind.choices, blank=True, default=""
    )
    is_sensitive = models.BooleanField(_("敏感客户"), default=False)
    sensitive_note = models.CharField(_("敏感风险点"), max_length=200, blank=True)
    is_prepaid = models.BooleanField(_("预付费"), default=False)
    has_dedicated_transformer = models.BooleanField(_("专变用户"), default=False)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    opened_on = models.DateField(_("立户日期"), null=True, blank=True)
    # Lower-cased name + addresses, for substring search (trigram-indexed on PostgreSQL).
    search_text = models.TextField(editable=False, default="")

    class Meta:
        ordering = ["account_no"]
        verbose_name = _("客户")
        verbose_name_plural = _("客户")
        indexes = [models.Index(fields=["station", "account_no"], name="customer_station_acct")]

    def __str__(self) -> str:
        return f"{self.account_no} {self.name}"

    def clean(self) -> None:
        super().clean()
        if self.account_no and not CODE_RE.match(self.account_no):
            raise ValidationError({"account_no": _("户号只能包含字母、数字和 - _ . 符号")})

    @property
    def is_vulnerable(self) -> bool:
        return bool(self.vulnerable_kind)

    @property
    def needs_account_manager(self) -> bool:
        """≥100 kVA customers are served by an account manager (docs/customers.md)."""
        return self.contracted_capacity_kva >= 100


class CustomerPhone(models.Model):
    """联系电话 (a customer may have several)."""

    class Kind(models.TextChoices):
        MOBILE = "mobile", _("手机")
        LANDLINE = "landline", _("固话")
        CONTACT = "contact", _("联系人电话")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="phones", verbose_name=_("客户")
    )
    number = models.CharField(_("号码"), max_length=20, db_index=True)
    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices, default=Kind.MOBILE)
    contact_name = models.CharField(_("联系人"), max_length=40, blank=True)
    is_primary = models.BooleanField(_("首选"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("联系电话")
        verbose_name_plural = _("联系电话")

    def __str__(self) -> str:
        return self.number


class CustomerAddress(models.Model):
    """地址: 用电地址 (supply) or 通讯地址 (mailing)."""

    class Kind(models.TextChoices):
        SUPPLY = "supply", _("用电地址")
        MAILING = "mailing", _("通讯地址")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="addresses", verbose_name=_("客户")
    )
    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices, default=Kind.SUPPLY)
    address = models.CharField(_("地址"), max_length=200)
    is_primary = models.BooleanField(_("首选"), default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        verbose_name = _("地址")
        verbose_name_plural = _("地址")

    def __str__(self) -> str:
        return self.address


class Meter(models.Model):
    """电能表."""

    class Kind(models.TextChoices):
        SINGLE_PHASE = "single", _("单相智能表")
        THREE_PHASE = "three", _("三相智能表")
        HIGH_VOLTAGE = "hv", _("高压计量装置")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="meters", verbose_name=_("客户")
    )
    meter_no = models.CharField(_("表号"), max_length=30, unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default=Kind.SINGLE_PHASE)
    multiplier = models.PositiveIntegerField(_("倍率"), default=1)
    installed_on = models.DateField(_("装表日期"), null=True, blank=True)
    last_verified_on = models.DateField(_("最近检定日期"), null=True, blank=True)
    is_active = models.BooleanField(_("在用"), default=True)

    class Meta:
        ordering = ["customer", "meter_no"]
        verbose_name = _("电能表")
        verbose_name_plural = _("电能表")

    def __str__(self) -> str:
        return self.meter_no


class SupplyContract(models.Model):
    """供用电合同."""

    class Kind(models.TextChoices):
        RESIDENTIAL = "residential", _("居民供用电合同")
        LOW_VOLTAGE = "low_voltage", _("低压供用电合同")
        HIGH_VOLTAGE = "high_voltage", _("高压供用电合同")
        TEMPORARY = "temporary", _("临时供用电合同")

    class Status(models.TextChoices):
        ACTIVE = "active", _("有效")
        EXPIRED = "expired", _("已到期")
        TERMINATED = "terminated", _("已终止")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="contracts", verbose_name=_("客户")
    )
    contract_no = models.CharField(_("合同编号"), max_length=30, unique=True)
    kind = models.CharField(_("类别"), max_length=14, choices=Kind.choices)
    signed_on = models.DateField(_("签订日期"))
    expires_on = models.DateField(_("到期日期"), null=True, blank=True)
    last_changed_on = models.DateField(_("最近变更日期"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        ordering = ["customer", "-signed_on"]
        verbose_name = _("供用电合同")
        verbose_name_plural = _("供用电合同")

    def __str__(self) -> str:
        return self.contract_no

    def renewal_due(self, today) -> bool:
        return self.expires_on is not None and (self.expires_on - today).days <= 90
