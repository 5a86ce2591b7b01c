from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Unit(models.Model):
    """组织单位: 省公司 > 市公司 > 县公司 > 供电所 > 班组, plus functional departments (部门/班组).

    ``path`` is a materialized path of zero-padded ids ("000001/000007/") so a subtree is one
    indexed prefix query; it is maintained by ``org.services.create_unit``/``move_unit``.
    """

    class Kind(models.TextChoices):
        PROVINCE = "province", _("省公司")
        CITY = "city", _("市公司")
        COUNTY = "county", _("县公司")
        STATION = "station", _("供电所")
        DEPARTMENT = "department", _("部门/中心")
        TEAM = "team", _("班组")

    class Function(models.TextChoices):
        NONE = "", _("—")
        CUSTOMER_SERVICE = "customer_service", _("客户服务中心")
        ACCOUNT_MANAGERS = "account_managers", _("客户经理组")
        CUSTOMER_INFO = "customer_info", _("客户信息组")
        BILLING = "billing", _("电费核算组")
        BUSINESS = "business", _("业务受理组")
        METERING = "metering", _("电能计量组")
        REPAIR = "repair", _("抢修班")
        HOTLINE = "hotline", _("95598座席班")
        REPAIR_COMMAND = "repair_command", _("供电服务指挥中心")
        AUDIT = "audit", _("稽查组")

    name = models.CharField(_("名称"), max_length=80)
    code = models.CharField(_("编码"), max_length=32, unique=True)
    kind = models.CharField(_("层级"), max_length=12, choices=Kind.choices)
    function = models.CharField(_("职能"), max_length=20, choices=Function.choices, blank=True, default="")
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("路径"), max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(_("层次"), default=0, editable=False)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("组织单位")
        verbose_name_plural = _("组织单位")

    def __str__(self) -> str:
        return self.name

    def ancestors(self) -> models.QuerySet[Unit]:
        ids = [int(part) for part in self.path.strip("/").split("/") if part]
        return Unit.objects.filter(id__in=ids).order_by("depth")

    def subtree(self) -> models.QuerySet[Unit]:
        return Unit.objects.filter(path__startswith=self.path)

    def is_within(self, other: Unit) -> bool:
        """Whether this unit lies in ``other``'s subtree (``other`` itself included)."""
        return self.path.startswith(other.path)


class Role(models.TextChoices):
    """岗位角色 (docs/org.md, "Staff and roles"); a user may hold several, each at a unit."""

    AGENT = "agent", _("座席员")
    SHIFT_LEADER = "shift_leader", _("值班长")
    DISPATCHER = "dispatcher", _("抢修指挥")
    CREW = "crew", _("抢修人员")
    ACCOUNT_MANAGER = "account_manager", _("客户经理")
    BUSINESS_CLERK = "business_clerk", _("业务受理员")
    BILLING_CLERK = "billing_clerk", _("电费核算员")
    # 营业厅收费员: takes payments at the counter and answers for them; the billing clerk's other
    # work (the monthly run, reversals, waivers' approval, files, arrears cases) is not theirs.
    CASHIER = "cashier", _("收费员")
    METERING = "metering", _("计量人员")
    AUDITOR = "auditor", _("稽查员")
    INSPECTOR = "inspector", _("质检员")
    MANAGER = "manager", _("管理人员")
    KNOWLEDGE_EDITOR = "knowledge_editor", _("知识库维护员")
    ADMIN = "admin", _("系统管理员")
    # 三员分立 (等保2.0): the system administrator manages configuration, parameters and the unit
    # tree; these two manage accounts/roles/permissions and read the audit log. No account holds
    # two of the three (org.adminroles).
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    AUDIT_ADMIN = "audit_admin", _("安全审计员")


# Roles that may see personal data (full phone / ID numbers) on request; each view is audited.
ROLES_SEEING_PERSONAL_DATA = frozenset(
    {
        Role.AGENT,
        Role.SHIFT_LEADER,
        Role.DISPATCHER,
        Role.ACCOUNT_MANAGER,
        Role.BUSINESS_CLERK,
        Role.BILLING_CLERK,
        Role.AUDITOR,
        Role.ADMIN,
    }
)


class User(AbstractUser):
    """员工账号."""

    full_name = models.CharField(_("姓名"), max_length=40, blank=True)
    employee_no = models.CharField(_("工号"), max_length=20, blank=True)
    mobile = models.CharField(_("手机"), max_length=20, blank=True)
    failed_logins = models.PositiveSmallIntegerField(_("连续登录失败次数"), default=0)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)
    # TOTP second factor (RFC 6238): the shared secret once enrolment is confirmed, and the last
    # time step accepted, so a code is never accepted twice.
    totp_secret = models.CharField(_("动态口令密钥"), max_length=64, blank=True, editable=False)
    totp_last_step = models.BigIntegerField(_("最近动态口令时间步"), default=0, editable=False)

    class Meta:
        ordering = ["username"]
        verbose_name = _("员工")
        verbose_name_plural = _("员工")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


class RoleAssignment(models.Model):
    """岗位任职: one role of a user at a unit; the user acts on that unit's subtree."""

    user = models.ForeignKey(
        User, verbose_name=_("员工"), on_delete=models.CASCADE, related_name="assignments"
    )
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    unit = models.ForeignKey(
        Unit, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="assignments"
    )

    class Meta:
        ordering = ["user", "unit__path", "role"]
        constraints = [models.UniqueConstraint(fields=["user", "role", "unit"], name="uniq_role_assignment")]
        verbose_name = _("岗位任职")
        verbose_name_plural = _("岗位任职")

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} @ {self.unit}"

    def save(self, *args, **kwargs) -> None:
        check_separation(self.user, [self.role], exclude_pk=self.pk)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        if self.user_id:
            check_separation(self.user, [self.role], exclude_pk=self.pk)


# 三员分立: the administrator roles and the area each manages (``org.adminroles`` for the admin).
SYSTEM, SECURITY, AUDIT = "system", "security", "audit"
ADMIN_ROLES = {Role.ADMIN: SYSTEM, Role.SECURITY_ADMIN: SECURITY, Role.AUDIT_ADMIN: AUDIT}
SEPARATION_MESSAGE = _("系统管理员、安全管理员、安全审计员三者互斥：同一账号只能担任其中一个")


def check_separation(user: User, new_roles: list[str], *, exclude_pk: int | None = None) -> None:
    """Refuse a second administrator role for one account (三员分立)."""
    wanted = {ADMIN_ROLES[r] for r in new_roles if r in ADMIN_ROLES}
    if not wanted:
        return
    held = RoleAssignment.objects.filter(user=user, role__in=list(ADMIN_ROLES))
    if exclude_pk:
        held = held.exclude(pk=exclude_pk)
    areas = wanted | {ADMIN_ROLES[r] for r in held.values_list("role", flat=True)}
    if len(areas) > 1:
        raise ValidationError({"role": SEPARATION_MESSAGE})


class ApiToken(models.Model):
    """接口令牌 for integrations (IVR/CTI, app, marketing system). Only a hash is stored."""

    user = models.ForeignKey(
        User, verbose_name=_("账号"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("用途"), max_length=80, blank=True)
    prefix = models.CharField(_("前缀"), max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked = models.BooleanField(_("已吊销"), default=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User, name: str = "") -> tuple[ApiToken, str]:
        key = "gc_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=key[:8], key_hash=cls.hash_key(key))
        return token, key
