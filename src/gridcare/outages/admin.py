from django.contrib import admin

from .models import NoticeRule, Outage, OutageArea, OutageEvent


@admin.register(NoticeRule)
class NoticeRuleAdmin(admin.ModelAdmin):
    list_display = ["kind", "min_notice_hours", "phone_key_customers", "note"]


class OutageAreaInline(admin.TabularInline):
    model = OutageArea
    extra = 0
    can_delete = False
    readonly_fields = ["transformer_area", "feeder", "station", "customer_count"]

    def has_add_permission(self, request, obj=None):
        return False


class OutageEventInline(admin.TabularInline):
    model = OutageEvent
    extra = 0
    can_delete = False
    readonly_fields = ["action", "at", "actor", "from_state", "to_state", "note", "data"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Outage)
class OutageAdmin(admin.ModelAdmin):
    """Read-only: outages change state only through the services (pages and API)."""

    list_display = ["number", "kind", "state", "reason", "starts_at", "ends_at", "customer_count", "unit"]
    list_filter = ["kind", "state"]
    search_fields = ["number", "reason", "area_text"]
    inlines = [OutageAreaInline, OutageEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
