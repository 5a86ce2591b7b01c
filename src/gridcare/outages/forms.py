"""Forms validate shape only; the rules live in services.py."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import OutageKind

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def codes(value: str) -> list[str]:
    return [c for c in re.split(r"[\s,，、;；]+", value or "") if c]


class OutageForm(forms.Form):
    kind = forms.ChoiceField(label=_("停电类型"), choices=OutageKind.choices)
    reason = forms.CharField(label=_("停电原因（对外公布）"), max_length=200)
    area_text = forms.CharField(label=_("停电范围说明（对外公布）"), max_length=300, required=False)
    feeders = forms.CharField(
        label=_("线路编码"), required=False, help_text=_("多个用逗号分隔；整条线路停电")
    )
    transformer_areas = forms.CharField(label=_("台区编码"), required=False, help_text=_("多个用逗号分隔"))
    planned_start = forms.DateTimeField(
        label=_("计划停电时间（故障：停电时间）"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )
    planned_end = forms.DateTimeField(
        label=_("计划送电时间"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS, required=False
    )
    estimated_end = forms.DateTimeField(
        label=_("预计恢复时间（故障）"), widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS, required=False
    )

    def clean(self):
        data = super().clean()
        if not codes(data.get("feeders", "")) and not codes(data.get("transformer_areas", "")):
            raise forms.ValidationError(_("请填写停电范围：线路编码或台区编码。"))
        return data


class LookupForm(forms.Form):
    account_no = forms.CharField(label=_("户号"), required=False)
    address = forms.CharField(label=_("地址片段"), required=False)
    area = forms.CharField(label=_("台区（编码或名称）"), required=False)
    feeder = forms.CharField(label=_("线路（编码或名称）"), required=False)
