from django.contrib import admin

from gridcare.core.masking import mask_phone
from gridcare.org.adminpersonal import PersonalDataAdmin

from .models import AgentState, Call, CallStatisticsSetting, ReturnCall, ShiftHandover, WrapUpCode

# What the CTI reported and what was derived from it: read-only (the call events write them).
CALL_FIGURES = [
    "arrived_at",
    "call_date",
    "queued_at",
    "ringing_at",
    "answered_at",
    "abandoned_at",
    "ended_at",
    "wrapped_up_at",
    "outcome",
    "wait_seconds",
    "talk_seconds",
    "wrap_up_seconds",
    "abandoned_in",
    "abandon_inferred",
    "short_abandon",
    "transfers_count",
    "recording_ref",
    "answered_by",
    "return_call",
]


@admin.register(Call)
class CallAdmin(PersonalDataAdmin, admin.ModelAdmin):
    personal_fields = {"caller_number": mask_phone}
    list_display = [
        "call_id",
        "caller_number",
        "agent",
        "state",
        "outcome",
        "arrived_at",
        "wait_seconds",
        "talk_seconds",
        "wrap_up",
    ]
    list_filter = ["state", "outcome", "short_abandon", "wrap_up"]
    search_fields = ["call_id", "caller_number", "agent__username"]
    raw_id_fields = ["customer", "work_orders", "agent", "unit"]
    readonly_fields = CALL_FIGURES
    date_hierarchy = "arrived_at"


@admin.register(ReturnCall)
class ReturnCallAdmin(PersonalDataAdmin, admin.ModelAdmin):
    personal_fields = {"caller_number": mask_phone}
    list_display = ["caller_number", "unit", "missed_date", "reason", "state", "missed_count", "attempts"]
    list_filter = ["state", "reason"]
    readonly_fields = [
        "unit",
        "missed_date",
        "reason",
        "state",
        "missed_count",
        "first_missed_at",
        "last_missed_at",
        "attempts",
        "called_back_by",
        "called_back_at",
        "closed_at",
        "close_reason",
        "version",
    ]
    date_hierarchy = "missed_date"


@admin.register(CallStatisticsSetting)
class CallStatisticsSettingAdmin(admin.ModelAdmin):
    list_display = ["__str__", "short_abandon_seconds", "source"]


@admin.register(AgentState)
class AgentStateAdmin(admin.ModelAdmin):
    list_display = ["agent", "state", "since", "extension"]
    list_filter = ["state"]


@admin.register(WrapUpCode)
class WrapUpCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "is_active"]


@admin.register(ShiftHandover)
class ShiftHandoverAdmin(admin.ModelAdmin):
    list_display = ["unit", "handed_by", "handed_at", "received_by", "received_at"]
    readonly_fields = ["open_items"]
