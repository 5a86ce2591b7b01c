"""The outbox: every outbound message is a row written in the business transaction and
delivered afterwards by the worker (see docs/notify.md and docs/decisions/0003-outbox.md).

Recipients are plain data (an address per channel and optional ``type:id`` references), so this
app depends on nothing above ``core``.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridcare.core import clock
from gridcare.core.masking import mask_phone
from gridcare.core.models import SettingsRow


def mask_address(address: str) -> str:
    """Addresses in logs and lists are masked: 138****1234, zh***@example.com."""
    if "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:2]}***@{domain}"
    return mask_phone(address)


class Channel(models.TextChoices):
    SMS = "sms", _("短信")
    EMAIL = "email", _("电子邮件")
    WECHAT = "wechat", _("微信")
    APP_PUSH = "app_push", _("App推送")
    STAFF_INBOX = "staff_inbox", _("站内消息")
    LOG = "log", _("日志")


class Priority(models.IntegerChoices):
    """A smaller number is sent first (key customers before ordinary ones)."""

    URGENT = 0, _("紧急")
    KEY_CUSTOMER = 10, _("重要客户")
    NORMAL = 50, _("普通")
    BULK = 90, _("批量")


class MessageQuerySet(models.QuerySet["Message"]):
    def open(self) -> MessageQuerySet:
        """Rows the worker still owes an attempt: new, failed-and-retrying, or claimed by a worker
        (whose lease may run out). Exactly the rows with a next attempt time."""
        return self.filter(next_attempt_at__isnull=False)

    def due(self, at: dt.datetime) -> MessageQuerySet:
        return self.filter(next_attempt_at__lte=at)


class Message(models.Model):
    """待发消息（发件箱）. One outbound message to one recipient on one channel."""

    class State(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENDING = "sending", _("发送中")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("失败待重试")
        DEAD = "dead", _("已放弃")

    OPEN_STATES = (State.PENDING, State.FAILED, State.SENDING)

    channel = models.CharField(_("渠道"), max_length=20, choices=Channel.choices)
    recipient_address = models.CharField(
        _("接收地址"), max_length=254, help_text=_("手机号、邮箱、微信OpenID或员工ID")
    )
    recipient_name = models.CharField(_("接收人"), max_length=100, blank=True)
    # Optional reference to the recipient object as plain strings, e.g. ("org.user", "12").
    recipient_type = models.CharField(_("接收对象类型"), max_length=60, blank=True)
    recipient_id = models.CharField(_("接收对象标识"), max_length=64, blank=True)
    # What the message is about, e.g. ("workorders.workorder", "GD20261124000001").
    about_type = models.CharField(_("关联对象类型"), max_length=60, blank=True)
    about_id = models.CharField(_("关联对象标识"), max_length=64, blank=True)

    subject = models.CharField(_("标题"), max_length=200, blank=True)
    body = models.TextField(_("内容"))
    priority = models.PositiveSmallIntegerField(
        _("优先级"), default=Priority.NORMAL, help_text=_("数字越小越先发送")
    )
    dedup_key = models.CharField(
        _("去重键"),
        max_length=200,
        null=True,
        blank=True,
        help_text=_("同一去重键只入队一次"),
    )  # unique by the constraint below (a field's unique=True adds a second, LIKE index on PostgreSQL)

    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("已尝试次数"), default=0)
    # Set while the message is open, empty once it is sent or given up (a check constraint keeps
    # the two in step), so the queue index below holds open rows only.
    next_attempt_at = models.DateTimeField(_("下次尝试时间"), null=True, blank=True, default=clock.now)
    last_attempt_at = models.DateTimeField(_("最近尝试时间"), null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    provider_ref = models.CharField(_("网关回执号"), max_length=100, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        indexes = [
            # The worker's queue: due rows in sending order. The condition is "IS NOT NULL" (no
            # literal values) so that SQLite, too, uses it for "next_attempt_at <= %s".
            models.Index(
                fields=["priority", "created_at", "id"],
                condition=Q(next_attempt_at__isnull=False),
                name="notify_msg_queue",
            ),
            models.Index(fields=["about_type", "about_id"], name="notify_msg_about"),
            models.Index(fields=["channel", "recipient_address", "-created_at"], name="notify_msg_recipient"),
            # What operators filter on in the admin (PostgreSQL); sent and open rows stay out.
            models.Index(
                fields=["state", "-created_at"],
                condition=Q(state__in=["failed", "dead"]),
                name="notify_msg_trouble",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["dedup_key"], name="notify_msg_dedup_key"),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "failed", "sending"], next_attempt_at__isnull=False)
                | Q(state__in=["sent", "dead"], next_attempt_at__isnull=True),
                name="notify_msg_open_has_next_attempt",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.masked_recipient}: {self.subject or self.body[:30]}"

    @property
    def idempotency_key(self) -> str:
        """The message's own id, for the gateway to drop a repeat: at-least-once delivery sends
        a message a second time when a worker dies between handing it over and recording it.
        Senders pass it on (an SMS gateway's client reference, the e-mail's Message-ID)."""
        return f"gridcare-msg-{self.pk}"

    @property
    def masked_recipient(self) -> str:
        """Staff inbox addresses are user ids, not personal data; phones and e-mails are masked."""
        if self.channel == Channel.STAFF_INBOX:
            return self.recipient_address
        return mask_address(self.recipient_address)


class DeliveryWakeup(models.Model):
    """投递唤醒. The single row remembering when the next delayed delivery task is scheduled,
    so retries schedule one wake-up rather than one per failing batch."""

    run_after = models.DateTimeField(_("计划唤醒时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("投递唤醒")
        verbose_name_plural = _("投递唤醒")

    def __str__(self) -> str:
        return str(self.run_after or "-")


class QuietHours(SettingsRow):
    """短信免打扰时段 (one row, editable in the admin): SMS to customers queued inside this window
    wait until it ends (``services._given`` sets their first attempt). Staff messages — warnings,
    a live outage's dispatch — go out at once; a notice marked ``ignore_quiet_hours`` (an urgent
    safety notice) too. Times are Beijing time; a window whose start is after its end runs over
    midnight (22:00–07:00 by default)."""

    enabled = models.BooleanField(_("启用免打扰时段"), default=True)
    starts = models.TimeField(_("开始时间"), default=dt.time(22, 0))
    ends = models.TimeField(_("结束时间"), default=dt.time(7, 0))

    class Meta:
        verbose_name = _("短信免打扰时段")
        verbose_name_plural = _("短信免打扰时段")

    def held_until(self, at: dt.datetime) -> dt.datetime | None:
        """The end of the quiet window ``at`` falls in (an aware instant), or None outside it."""
        if not self.enabled or self.starts == self.ends:
            return None
        local = at.astimezone(clock.LOCAL_TZ)
        time_of_day = local.time().replace(tzinfo=None)
        if self.starts < self.ends:
            inside = self.starts <= time_of_day < self.ends
        else:
            inside = time_of_day >= self.starts or time_of_day < self.ends
        if not inside:
            return None
        day = local.date() if time_of_day < self.ends else local.date() + dt.timedelta(days=1)
        return dt.datetime.combine(day, self.ends, tzinfo=clock.LOCAL_TZ)
