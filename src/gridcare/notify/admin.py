from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import Message, QuietHours


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """The outbox as operators see it: what waits, what failed and why, what was given up."""

    list_display = [
        "created_at",
        "channel",
        "masked_recipient",
        "recipient_name",
        "subject_or_body",
        "priority",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
    ]
    list_filter = ["state", "channel", "priority", "about_type"]
    search_fields = ["recipient_address", "recipient_name", "subject", "about_id", "dedup_key"]
    date_hierarchy = "created_at"
    actions = ["retry_messages"]
    list_per_page = 50
    show_full_result_count = False  # counting a big outbox on every page is slow

    # Read-only: the outbox is written by the verbs, never by hand; the address stays masked.
    readonly_fields = ["masked_recipient"] + [
        field.name for field in Message._meta.fields if field.name not in ("id", "recipient_address")
    ]
    exclude = ["recipient_address"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("接收地址"), ordering="recipient_address")
    def masked_recipient(self, obj: Message) -> str:
        return obj.masked_recipient

    @admin.display(description=_("标题/内容"))
    def subject_or_body(self, obj: Message) -> str:
        text = obj.subject or obj.body
        return text if len(text) <= 40 else text[:40] + "…"

    @admin.action(description=_("重新投递所选的失败/已放弃消息"), permissions=["change"])
    def retry_messages(self, request, queryset):
        count = services.retry(message_ids=queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext("%(count)d 条消息已重新排队。", "%(count)d 条消息已重新排队。", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(QuietHours)
class QuietHoursAdmin(admin.ModelAdmin):
    """短信免打扰时段: one row; SMS to customers queued inside it wait until it ends."""

    list_display = ["enabled", "starts", "ends"]

    def has_add_permission(self, request):
        return not QuietHours.objects.exists()
