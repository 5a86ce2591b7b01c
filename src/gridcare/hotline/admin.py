from django.contrib import admin

from gridcare.core.masking import mask_phone
from gridcare.org.adminpersonal import PersonalDataAdmin

from .models import AgentState, Call, ShiftHandover, WrapUpCode


@admin.register(Call)
class CallAdmin(PersonalDataAdmin, admin.ModelAdmin):
    personal_fields = {"caller_number": mask_phone}
    list_display = [
        "call_id",
        "caller_number",
        "agent",
        "state",
        "ringing_at",
        "answered_at",
        "ended_at",
        "wrap_up",
    ]
    list_filter = ["state", "wrap_up"]
    search_fields = ["call_id", "caller_number", "agent__username"]
    raw_id_fields = ["customer", "work_orders"]
    date_hierarchy = "ringing_at"


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
