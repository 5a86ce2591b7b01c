from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from gridcare.core.api_errors import ApiError
from gridcare.core.masking import mask_address, mask_phone
from gridcare.org.adminpersonal import PersonalDataAdmin

from .models import (
    Crew,
    CrewAssignment,
    DutyRoster,
    EventUpdate,
    FaultEvent,
    RepairSetting,
    ReportedCall,
    SupportRequest,
    TroubleCall,
)
from .services import retry_reported_call


@admin.register(RepairSetting)
class RepairSettingAdmin(admin.ModelAdmin):
    list_display = [
        "window_minutes",
        "prior_area",
        "prior_feeder",
        "area_event_at",
        "feeder_event_at",
        "auto_dispatch",
        "outage_warning_hours",
    ]

    def has_add_permission(self, request):
        return not RepairSetting.objects.exists()


class RosterInline(admin.TabularInline):
    model = DutyRoster
    extra = 0


@admin.register(Crew)
class CrewAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "tier", "station", "team_unit", "status", "vehicle", "is_active"]
    list_filter = ["tier", "status", "is_active"]
    search_fields = ["code", "name", "station__name"]
    raw_id_fields = ["station", "team_unit", "leader"]
    filter_horizontal = ["members"]
    autocomplete_fields = []
    inlines = [RosterInline]


@admin.register(DutyRoster)
class DutyRosterAdmin(admin.ModelAdmin):
    list_display = ["date", "shift", "crew", "note"]
    list_filter = ["shift", "date"]
    raw_id_fields = ["crew"]


class AssignmentInline(admin.TabularInline):
    model = CrewAssignment
    extra = 0
    raw_id_fields = ["crew", "assigned_by"]


class UpdateInline(admin.TabularInline):
    model = EventUpdate
    extra = 0
    can_delete = False
    readonly_fields = ["action", "at", "actor", "note", "data"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(FaultEvent)
class FaultEventAdmin(admin.ModelAdmin):
    """Read-mostly: events change through the dispatcher pages (services), not here."""

    list_display = [
        "number",
        "level",
        "state",
        "station",
        "call_count",
        "affected_count",
        "crew",
        "created_at",
    ]
    list_filter = ["level", "state"]
    search_fields = ["number"]
    readonly_fields = [f.name for f in FaultEvent._meta.fields]
    inlines = [AssignmentInline, UpdateInline]

    def has_add_permission(self, request):
        return False


@admin.register(TroubleCall)
class TroubleCallAdmin(admin.ModelAdmin):
    list_display = ["order", "event", "placed_by", "transformer_area", "received_at"]
    list_filter = ["placed_by"]
    search_fields = ["order__number"]
    readonly_fields = [f.name for f in TroubleCall._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(SupportRequest)
class SupportRequestAdmin(admin.ModelAdmin):
    list_display = ["event", "kind", "state", "requested_at"]
    list_filter = ["kind", "state"]
    raw_id_fields = ["event", "requested_by", "handled_by"]


@admin.register(ReportedCall)
class ReportedCallAdmin(PersonalDataAdmin, admin.ModelAdmin):
    """来电登记: the API's queue; failed calls are taken here or on the dispatcher's board."""

    personal_fields = {"caller_phone": mask_phone, "address": mask_address}
    list_display = [
        "ref",
        "received_at",
        "state",
        "unit",
        "customer",
        "caller_phone",
        "order",
        "repeated",
        "attempts",
    ]
    list_filter = ["state", "channel", "repeated"]
    search_fields = ["=ref", "customer__account_no", "caller_phone", "order__number"]
    date_hierarchy = "received_at"
    raw_id_fields = ["actor", "unit", "customer", "order"]
    readonly_fields = [
        "ref",
        "received_at",
        "reported_at",
        "processed_at",
        "attempts",
        "error",
        "idempotency_key",
    ]
    actions = ["retry"]

    @admin.action(description=_("重新处理所选的失败来电"))
    def retry(self, request, queryset):
        done = 0
        for call in queryset.filter(state=ReportedCall.State.FAILED):
            try:
                retry_reported_call(call=call, actor=request.user)
            except ApiError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return
            done += 1
        self.message_user(request, _("%(n)d 个来电已重新排队处理") % {"n": done}, messages.SUCCESS)
