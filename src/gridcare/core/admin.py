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
        self._changed([obj.date.year])

    def delete_model(self, request, obj):
        year = obj.date.year
        super().delete_model(request, obj)
        self._changed([year])

    def delete_queryset(self, request, queryset):
        years = sorted({d.year for d in queryset.values_list("date", flat=True)})
        super().delete_queryset(request, queryset)
        self._changed(years)

    @staticmethod
    def _changed(years: list[int]) -> None:
        calendar.invalidate(years)
        calendar.calendar_changed.send(sender=CalendarDay, years=years)


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "published", "note", "updated_at"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        calendar.invalidate([obj.year])
        calendar.calendar_changed.send(sender=CalendarYear, years=[obj.year])


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
