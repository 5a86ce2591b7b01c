"""The statistics pages' pickers: unit (in the viewer's scope), period or date range."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Viewer

from .models import Period

PICKED_KINDS = (Unit.Kind.PROVINCE, Unit.Kind.CITY, Unit.Kind.COUNTY, Unit.Kind.STATION, Unit.Kind.DEPARTMENT)


DATE = forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}, format="%Y-%m-%d")


class SelectionForm(forms.Form):
    unit = forms.TypedChoiceField(
        label=_("单位"),
        coerce=int,
        required=False,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    period = forms.ChoiceField(
        label=_("周期"),
        choices=Period.choices,
        initial=Period.MONTH,
        required=False,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    date = forms.DateField(label=_("日期"), required=False, widget=DATE)
    start = forms.DateField(label=_("开始"), required=False, widget=DATE)
    end = forms.DateField(label=_("结束"), required=False, widget=DATE)

    def __init__(self, *args: Any, viewer: Viewer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = scoping.restrict(Unit.objects.filter(kind__in=PICKED_KINDS), viewer, "id").order_by("path")
        depth = min((u.path.count("/") for u in units), default=0)
        cast(forms.ChoiceField, self.fields["unit"]).choices = [
            (u.pk, "\u3000" * (u.path.count("/") - depth) + u.name) for u in units
        ]

    def selection(self) -> dict[str, Any]:
        """The arguments of ``statistics.select`` (valid form) — empty fields left out."""
        data = self.cleaned_data
        out: dict[str, Any] = {"period": data.get("period") or Period.MONTH}
        if data.get("unit"):
            out["unit_id"] = data["unit"]
        for key, name in (("date", "day"), ("start", "start"), ("end", "end")):
            if isinstance(data.get(key), dt.date):
                out[name] = data[key]
        return out
