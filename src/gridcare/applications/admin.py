"""Admin: the node engine's rule data (voltage bands, paths and their nodes) is edited here;
applications are only viewed (they change through the services, so the tables, clocks and history
stay right), their personal data masked."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from gridcare.core.masking import mask_address, mask_id_number, mask_name, mask_phone
from gridcare.org.adminpersonal import PersonalDataAdmin

from .models import (
    Application,
    ApplicationDocument,
    ApplicationEvent,
    ApplicationNode,
    NodePath,
    PathNode,
    VoltageBand,
)


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(VoltageBand)
class VoltageBandAdmin(admin.ModelAdmin):
    list_display = ["voltage", "up_to_kva", "is_active", "source"]
    list_editable = ["is_active"]


class PathNodeInline(admin.TabularInline):
    model = PathNode
    fields = [
        "seq",
        "kind",
        "owner_level",
        "owner_function",
        "owner_role",
        "clock_starts",
        "limit_days",
        "warning_fractions",
        "customer_action",
        "source",
    ]
    extra = 0


@admin.register(NodePath)
class NodePathAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "supply", "voltage", "total_days", "is_active"]
    list_filter = ["category", "supply", "voltage", "is_active"]
    inlines = [PathNodeInline]


NODE_FIELDS = (
    "seq",
    "kind",
    "state",
    "owner_unit",
    "owner_role",
    "limit_days",
    "started_at",
    "due_at",
    "paused_at",
    "paused_days",
    "finished_at",
    "warning_level",
)
EVENT_FIELDS = ("at", "node", "action", "actor", "actor_unit", "from_state", "to_state", "note")


class NodeInline(ReadOnlyMixin, admin.TabularInline):
    model = ApplicationNode
    fields = NODE_FIELDS
    readonly_fields = NODE_FIELDS
    extra = 0


class DocumentInline(ReadOnlyMixin, admin.TabularInline):
    model = ApplicationDocument
    fields = ("kind", "via_shared_data", "note", "received_at")
    readonly_fields = fields
    extra = 0


class EventInline(ReadOnlyMixin, admin.TabularInline):
    model = ApplicationEvent
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS
    extra = 0


@admin.register(Application)
class ApplicationAdmin(ReadOnlyMixin, PersonalDataAdmin, admin.ModelAdmin):
    personal_fields = {
        "applicant_name": mask_name,
        "id_number": mask_id_number,
        "address": mask_address,
        "contact_phone": mask_phone,
    }
    list_display = ["number", "app_type", "category", "voltage", "state", "current_node", "accepted_at"]
    list_filter = ["app_type", "category", "voltage", "state", "current_node"]
    search_fields = ["number"]
    inlines = [NodeInline, DocumentInline, EventInline]
