"""The metric registry in the admin (system area): a definition is checked against what the
registry can compute before it is saved; a change of formula is best entered as a new version."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from . import metrics
from .models import Metric


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
