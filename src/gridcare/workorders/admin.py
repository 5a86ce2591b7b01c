"""Admin: policies and rates are edited here; orders are only viewed (they change through the
services, so the transition table, history and deadlines stay right)."""

from django.contrib import admin

from gridcare.core.masking import mask_address, mask_phone
from gridcare.org.adminpersonal import PersonalDataAdmin

from .models import CallbackRule, Deadline, SupervisionSetting, TimeLimitPolicy, WorkOrder, WorkOrderEvent
from .policies import forget_policies


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EventInline(ReadOnlyMixin, admin.TabularInline):
    model = WorkOrderEvent
    fields = ["at", "action", "actor", "actor_unit", "from_state", "to_state", "note"]
    readonly_fields = fields
    extra = 0


class DeadlineInline(ReadOnlyMixin, admin.TabularInline):
    model = Deadline
    fields = ["milestone", "started_at", "due_at", "provisional", "met_at", "paused_at", "warning_level"]
    readonly_fields = fields
    extra = 0


@admin.register(WorkOrder)
class WorkOrderAdmin(ReadOnlyMixin, PersonalDataAdmin, admin.ModelAdmin):
    personal_fields = {"caller_phone": mask_phone, "address": mask_address}
    list_display = [
        "number",
        "order_type",
        "channel",
        "state",
        "priority",
        "warning_level",
        "assigned_unit",
        "created_at",
    ]
    list_filter = ["order_type", "state", "channel", "warning_level", "priority"]
    search_fields = ["number"]
    date_hierarchy = "created_at"
    list_select_related = ["assigned_unit"]
    show_full_result_count = False
    inlines = [DeadlineInline, EventInline]
    exclude = ["idempotency_key"]


@admin.register(TimeLimitPolicy)
class TimeLimitPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "order_type",
        "milestone",
        "area_class",
        "customer_class",
        "channel",
        "amount",
        "unit",
        "starts_on",
        "pauses_when_suspended",
        "is_active",
        "source",
    ]
    list_filter = ["order_type", "milestone", "is_active", "unit"]
    list_editable = ["amount", "is_active"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        forget_policies()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        forget_policies()

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        forget_policies()

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if request.method == "POST":
            forget_policies()  # list_editable saves
        return response


@admin.register(CallbackRule)
class CallbackRuleAdmin(admin.ModelAdmin):
    list_display = ["order_type", "subtype", "rate"]
    list_editable = ["rate"]


@admin.register(SupervisionSetting)
class SupervisionSettingAdmin(admin.ModelAdmin):
    list_display = ["__str__", "urgings_to_raise_warning"]
