"""The statistics pages' pickers: unit (in the viewer's scope), period or date range."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any, cast

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from gridcare.core import clock
from gridcare.core.validation import YEAR_MAX, YEAR_MIN
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Viewer

from . import staffing
from .models import Period

PICKED_KINDS = (Unit.Kind.PROVINCE, Unit.Kind.CITY, Unit.Kind.COUNTY, Unit.Kind.STATION, Unit.Kind.DEPARTMENT)


class PlainSelect(forms.Select):
    """A select rendered in one pass from plain ``plain_options`` [(value, label)]: a province lists
    about a thousand units, which Django's template per option renders in ~100 ms (and a choice
    field normalizes again and again)."""

    plain_options: list[tuple[Any, str]] = []

    def render(self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        chosen = {str(v) for v in (value if isinstance(value, list | tuple) else [value]) if v is not None}
        options = "".join(
            f'<option value="{html.escape(str(v))}"{" selected" if str(v) in chosen else ""}>'
            f"{html.escape(str(label), quote=False)}</option>"
            for v, label in self.plain_options
        )
        return format_html("<select{}>{}</select>", flatatt(final), mark_safe(options))  # noqa: S308 - every part escaped above


DATE = forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}, format="%Y-%m-%d")


class SelectionForm(forms.Form):
    unit = forms.IntegerField(
        label=_("单位"),
        required=False,
        widget=PlainSelect(attrs={"class": "form-select form-select-sm"}),
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
        units = list(
            scoping.visible_units(viewer)
            .filter(kind__in=PICKED_KINDS)
            .order_by("path")
            .values_list("pk", "path", "name")
        )
        depth = min((path.count("/") for _, path, _ in units), default=0)
        self.unit_ids = {pk for pk, _, _ in units}
        cast(PlainSelect, self.fields["unit"].widget).plain_options = [
            (pk, "\u3000" * (path.count("/") - depth) + name) for pk, path, name in units
        ]

    def clean_unit(self) -> int | None:
        unit = self.cleaned_data.get("unit")
        if unit is not None and unit not in self.unit_ids:
            raise forms.ValidationError(_("您的管辖范围内没有该单位"), code="invalid_choice")
        return unit

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


# --- Staffing (排班测算, Erlang C) ---


class StaffingForm(forms.Form):
    """The page's question, in the units a planner thinks in (percentages); the API takes shares."""

    date = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))
    unit = forms.IntegerField(label=_("单位"), required=False)
    service_level = forms.FloatField(label=_("服务水平目标（%）"), min_value=1, max_value=99.9)
    target_seconds = forms.IntegerField(
        label=_("目标应答时间（秒）"), min_value=0, max_value=staffing.TARGET_SECONDS_MAX
    )
    shrinkage = forms.FloatField(label=_("缩减率（%）"), min_value=0, max_value=staffing.SHRINKAGE_MAX * 100)
    storm = forms.FloatField(label=_("风暴倍数"), min_value=staffing.STORM_MIN, max_value=staffing.STORM_MAX)
    weeks = forms.IntegerField(
        label=_("历史周数"), min_value=staffing.WEEKS_MIN, max_value=staffing.WEEKS_MAX
    )
    max_occupancy = forms.FloatField(label=_("最高占用率（%）"), min_value=1, max_value=100, required=False)
    max_asa = forms.FloatField(
        label=_("平均应答速度上限（秒）"), min_value=1, max_value=staffing.TARGET_SECONDS_MAX, required=False
    )

    @staticmethod
    def defaults() -> dict[str, str]:
        return {
            "date": (clock.today() + dt.timedelta(days=1)).isoformat(),
            "service_level": f"{staffing.DEFAULT_SERVICE_LEVEL * 100:g}",
            "target_seconds": str(staffing.DEFAULT_TARGET_SECONDS),
            "shrinkage": f"{staffing.DEFAULT_SHRINKAGE * 100:g}",
            "storm": "1",
            "weeks": str(staffing.DEFAULT_WEEKS),
        }

    def clean_date(self) -> dt.date:
        date: dt.date = self.cleaned_data["date"]
        if not YEAR_MIN <= date.year <= YEAR_MAX:
            raise forms.ValidationError(
                _("年份必须在 %(min)s 到 %(max)s 之间") % {"min": YEAR_MIN, "max": YEAR_MAX}
            )
        return date

    def targets(self) -> staffing.Targets:
        d = self.cleaned_data
        return staffing.Targets(
            service_level=d["service_level"] / 100,
            target_seconds=d["target_seconds"],
            shrinkage=d["shrinkage"] / 100,
            max_occupancy=d["max_occupancy"] / 100 if d["max_occupancy"] is not None else None,
            max_asa_seconds=d["max_asa"],
        )
