from __future__ import annotations

from typing import Any, Self, cast

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import clock
from .memo import Memo


class HistoryEntry(models.Model):
    """The one shape of history (流转记录), append-only: one row per action on a thing, written by
    the verb that made the change. Each app's history extends it with a foreign key to its thing
    (``WorkOrderEvent.order``, ``ArticleEvent.article``, ``OutageEvent.outage``,
    ``EventUpdate.event``) and, where needed, a column of its own; it may narrow a field (e.g. an
    ``Action`` enum as ``choices``) but keeps its name and meaning.

    ``from_state``/``to_state`` are blank for an action that changes no state; ``data`` holds what
    else the action changed or counted (dates and decimals are serialised by ``DjangoJSONEncoder``).
    """

    at = models.DateTimeField(_("时间"), default=clock.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("动作"), max_length=30)
    from_state = models.CharField(_("原状态"), max_length=12, blank=True)
    to_state = models.CharField(_("新状态"), max_length=12, blank=True)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        abstract = True


class SettingsRow(models.Model):
    """Base of the one-row parameter tables an admin edits (督办参数, 研判与调度参数…): the
    first row is in force; with none yet, the model's defaults are."""

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return str(self._meta.verbose_name)

    def save(self, *args: Any, **kwargs: Any) -> None:
        SettingsRow._kept.forget(self._meta.label)
        super().save(*args, **kwargs)
        SettingsRow._kept.forget(self._meta.label)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        SettingsRow._kept.forget(self._meta.label)
        return super().delete(*args, **kwargs)

    # Read on hot paths (every urging, every roll-up) and changed rarely by an admin: kept per
    # process for a minute. Saving or deleting a row forgets it at once in this process.
    _kept: Memo[SettingsRow] = Memo(60.0)

    @classmethod
    def current(cls) -> Self:
        manager: models.Manager[Self] = cast(Any, cls).objects  # each concrete subclass has one
        return cast(
            Self, SettingsRow._kept.get(cls._meta.label, lambda: manager.order_by("id").first() or cls())
        )

    @staticmethod
    def forget_all() -> None:
        SettingsRow._kept.forget()


class CalendarDay(models.Model):
    """节假日与调休. A date whose status differs from the plain Mon–Fri rule."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("法定节假日（休）")
        WORKDAY = "workday", _("调休上班")

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("名称"), max_length=40, blank=True)
    source = models.CharField(_("来源"), max_length=20, default="admin")

    class Meta:
        ordering = ["date"]
        verbose_name = _("节假日/调休")
        verbose_name_plural = _("节假日/调休")

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"


class CalendarYear(models.Model):
    """年度放假安排. A year counts as published once its State Council schedule is entered;
    deadlines in unpublished years are computed Mon–Fri and marked provisional."""

    year = models.PositiveIntegerField(_("年份"), unique=True)
    published = models.BooleanField(_("放假安排已录入"), default=False)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("年度放假安排")
        verbose_name_plural = _("年度放假安排")

    def __str__(self) -> str:
        return str(self.year)


class AuditLog(models.Model):
    """审计日志: sensitive reads (full phone/ID numbers), exports, security events."""

    class Action(models.TextChoices):
        VIEW_SENSITIVE = "view_sensitive", _("查看敏感信息")
        EXPORT = "export", _("导出")
        LOGIN_FAILED = "login_failed", _("登录失败")
        LOCKED_OUT = "locked_out", _("账号锁定")
        TOKEN_CREATED = "token_created", _("创建接口令牌")
        IMPORT = "import", _("批量导入")
        LOGIN = "login", _("登录")
        LOGOUT = "logout", _("退出登录")
        PASSWORD_CHANGED = "password_changed", _("修改密码")
        ROLE_GRANTED = "role_granted", _("授予岗位角色")
        ROLE_REVOKED = "role_revoked", _("撤销岗位角色")
        ACCOUNT_CHANGED = "account_changed", _("账号权限变更")
        TOKEN_REVOKED = "token_revoked", _("吊销接口令牌")
        MFA_ENROLLED = "mfa_enrolled", _("启用双因素认证")
        MFA_FAILED = "mfa_failed", _("动态口令错误")

    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(_("操作人账号"), max_length=150, blank=True)
    action = models.CharField(_("动作"), max_length=20, choices=Action.choices, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=60, blank=True)
    object_id = models.CharField(_("对象标识"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.get_action_display()} {self.object_repr}"


class NumberSequence(models.Model):
    """编号序列: per prefix and period counters for human-readable numbers."""

    prefix = models.CharField(max_length=16)
    period = models.CharField(max_length=16)
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["prefix", "period"]
        constraints = [
            models.UniqueConstraint(fields=["prefix", "period"], name="uniq_sequence_prefix_period")
        ]
        verbose_name = _("编号序列")
        verbose_name_plural = _("编号序列")

    def __str__(self) -> str:
        return f"{self.prefix}{self.period}:{self.value}"


class WorkerHeartbeat(models.Model):
    """A running ``gridcare worker``: it writes ``seen_at`` every few seconds. A task row left
    ``RUNNING`` by a worker whose heartbeat stopped (killed, out of memory, machine lost) is
    released by the others (``core.periodic.release_abandoned_tasks``)."""

    worker_id = models.CharField(_("工作进程标识"), max_length=64, primary_key=True)
    host = models.CharField(_("主机"), max_length=255, blank=True)
    pid = models.PositiveIntegerField(_("进程号"), null=True, blank=True)
    started_at = models.DateTimeField(_("启动时间"))
    seen_at = models.DateTimeField(_("最近心跳"))

    class Meta:
        verbose_name = _("工作进程心跳")
        verbose_name_plural = _("工作进程心跳")

    def __str__(self) -> str:
        return f"{self.worker_id} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"
