"""Admin: policies and rates are edited here; orders are only viewed (they change through the
services, so the transition table, history and deadlines stay right)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.forms import BaseFormSet, ModelForm
from django.http import HttpRequest, HttpResponse

from gridcare.core.masking import mask_address, mask_phone
from gridcare.org.adminpersonal import PersonalDataAdmin

from .models import (
    CallbackRule,
    CallbackSetting,
    Deadline,
    SupervisionSetting,
    TimeLimitPolicy,
    WorkOrder,
    WorkOrderEvent,
)
from .policies import forget_policies


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


EVENT_FIELDS = ("at", "action", "actor", "actor_unit", "from_state", "to_state", "note")
DEADLINE_FIELDS = ("milestone", "started_at", "due_at", "provisional", "met_at", "paused_at", "warning_level")


class EventInline(ReadOnlyMixin, admin.TabularInline):
    model = WorkOrderEvent
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS
    extra = 0


class DeadlineInline(ReadOnlyMixin, admin.TabularInline):
    model = Deadline
    fields = DEADLINE_FIELDS
    readonly_fields = DEADLINE_FIELDS
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

    def save_model(
        self, request: HttpRequest, obj: TimeLimitPolicy, form: ModelForm[TimeLimitPolicy], change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        forget_policies()

    def delete_model(self, request: HttpRequest, obj: TimeLimitPolicy) -> None:
        super().delete_model(request, obj)
        forget_policies()

    def save_formset(
        self, request: HttpRequest, form: ModelForm[TimeLimitPolicy], formset: BaseFormSet[Any], change: bool
    ) -> None:
        super().save_formset(request, form, formset, change)
        forget_policies()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        if request.method == "POST":
            forget_policies()  # list_editable saves
        return response


@admin.register(CallbackRule)
class CallbackRuleAdmin(admin.ModelAdmin):
    list_display = ["order_type", "subtype", "rate", "when_dissatisfied"]
    list_editable = ["rate", "when_dissatisfied"]


@admin.register(SupervisionSetting)
class SupervisionSettingAdmin(admin.ModelAdmin):
    list_display = ["__str__", "urgings_to_raise_warning"]


@admin.register(CallbackSetting)
class CallbackSettingAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "max_attempts",
        "min_interval_minutes",
        "calls_from",
        "calls_until",
        "refusal_ends_callback",
        "source",
    ]
