from django.contrib import admin

from . import calendar
from .models import AuditLog, CalendarDay, CalendarYear, NumberSequence


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "kind", "name", "source"]
    list_filter = ["kind", "source"]
    date_hierarchy = "date"
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        calendar.changed([obj.date.year], sender=CalendarDay)

    def delete_model(self, request, obj):
        year = obj.date.year
        super().delete_model(request, obj)
        calendar.changed([year], sender=CalendarDay)

    def delete_queryset(self, request, queryset):
        years = sorted({d.year for d in queryset.values_list("date", flat=True)})
        super().delete_queryset(request, queryset)
        calendar.changed(years, sender=CalendarDay)


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "published", "note", "updated_at"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        calendar.changed([obj.year], sender=CalendarYear)


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_name", "action", "object_type", "object_repr", "ip"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_name", "object_repr", "object_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(NumberSequence)
class NumberSequenceAdmin(admin.ModelAdmin):
    list_display = ["prefix", "period", "value"]
    search_fields = ["prefix", "period"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
