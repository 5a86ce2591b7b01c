"""Forms of the billing pages: shape only (a time is a time, a proof is not empty); the rules
live in the verbs (``arrears``, ``guarantees``), whose refusals the pages show as messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.core.validation import YEAR_MAX, YEAR_MIN, has_control_chars

from .models import SupplyGuarantee

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


class LineField(forms.CharField):
    """One line of text, without control characters."""

    def clean(self, value):
        value = super().clean(value)
        if value and has_control_chars(value, multiline=False):
            raise forms.ValidationError(_("不能包含控制字符或换行"))
        return value


class TimeField(forms.DateTimeField):
    """A local time from a ``datetime-local`` field, its year in a sane range."""

    def clean(self, value):
        value = super().clean(value)
        if value is not None and not (YEAR_MIN <= value.year <= YEAR_MAX):
            raise forms.ValidationError(_("请填写正确的时间"))
        return value


def when(label: StrOrPromise, *, required: bool = True) -> forms.DateTimeField:
    return TimeField(label=label, widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS, required=required)


class NoticeForm(forms.Form):
    delivered_at = when(_("送达时间"))
    proof = LineField(label=_("送达凭证"), max_length=200)


class CallForm(forms.Form):
    called_at = when(_("电话告知时间"))


class WhenForm(forms.Form):
    """The cut or the reconnection: at a given time, or now when left empty."""

    at = when(_("时间"), required=False)


class GuaranteeForm(forms.Form):
    TARGETS = [("customer", _("客户")), ("unit", _("单位"))]

    target = forms.ChoiceField(label=_("保电对象"), choices=TARGETS)
    account_no = LineField(label=_("户号"), max_length=20, required=False)
    unit = forms.IntegerField(label=_("单位"), required=False)
    reason = forms.ChoiceField(label=_("原因"), choices=SupplyGuarantee.Reason.choices)
    note = LineField(label=_("说明"), max_length=200, required=False)
    starts_at = when(_("开始"))
    ends_at = when(_("结束"))


class EndGuaranteeForm(forms.Form):
    why = LineField(label=_("结束原因"), max_length=100)
