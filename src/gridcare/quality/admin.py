"""The metric registry in the admin (system area): a definition is checked against what the
registry can compute before it is saved; a change of formula is best entered as a new version."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from . import metrics
from .models import Bulletin, BulletinSetting, Metric, WallScreen


class MetricForm(forms.ModelForm):
    class Meta:
        model = Metric
        fields = [  # noqa: RUF012
            "code",
            "version",
            "name",
            "area",
            "description",
            "numerator",
            "denominator",
            "exclude",
            "scale",
            "unit_label",
            "decimals",
            "period",
            "target",
            "better",
            "scoring",
            "source",
            "formula_known",
            "valid_from",
            "is_active",
            "sort",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            metrics.check_metric(data.get("numerator"), data.get("denominator"), data.get("exclude") or {})
        except metrics.SpecError as exc:
            self.add_error(exc.part if exc.part in self.fields else None, exc.message)
        return data


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    form = MetricForm
    list_display = [
        "code",
        "version",
        "name",
        "area",
        "unit_label",
        "target",
        "better",
        "formula_known",
        "is_active",
    ]
    list_filter = ["area", "formula_known", "is_active"]
    search_fields = ["code", "name"]


@admin.register(BulletinSetting)
class BulletinSettingAdmin(admin.ModelAdmin):
    list_display = ["times", "unit_kinds", "hot_spot_days", "hot_spot_min"]


@admin.register(Bulletin)
class BulletinAdmin(admin.ModelAdmin):
    """Issued bulletins are kept as issued: read-only."""

    list_display = ["number", "unit", "slot_at", "issued_at", "recipients"]
    list_filter = ["slot_at"]
    search_fields = ["number"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WallScreen)
class WallScreenAdmin(admin.ModelAdmin):
    """Screens are created with ``gridcare create-wall`` (the link is shown once); here they are
    renamed, moved to another unit or switched off."""

    list_display = ["name", "unit", "prefix", "is_active", "last_seen_at"]
    fields = ["name", "unit", "is_active", "prefix", "last_seen_at"]
    readonly_fields = ["prefix", "last_seen_at"]

    def has_add_permission(self, request) -> bool:
        return False
