"""Forms validate shape only; the services decide what may happen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.core.validation import PhoneField

from .models import CallbackMethod, CallOutcome, Channel, ComplaintClass, OrderType, Satisfaction


class IntakeForm(forms.Form):
    order_type = forms.ChoiceField(label=_("工单类型"), choices=OrderType.choices)
    channel = forms.ChoiceField(label=_("受理渠道"), choices=Channel.choices, initial=Channel.HOTLINE)
    account_no = forms.CharField(label=_("户号"), max_length=20, required=False)
    caller_name = forms.CharField(label=_("来电人"), max_length=60, required=False)
    caller_phone = PhoneField(label=_("来电号码"), required=False)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    subtype = forms.CharField(label=_("业务子类"), max_length=40, required=False)
    complaint_class = forms.ChoiceField(
        label=_("投诉分类"), choices=[("", "—"), *ComplaintClass.choices], required=False
    )
    content = forms.CharField(label=_("诉求内容"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000)
    handed_in_by_account_manager = forms.BooleanField(label=_("客户经理代办（优先办理）"), required=False)


class ActionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("说明"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )
    unit = forms.ChoiceField(label=_("承办单位"), required=False)
    reply = forms.CharField(label=_("处理结果"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    at_fault = forms.TypedChoiceField(
        label=_("是否有责"),
        choices=[("", "—"), ("1", _("有责")), ("0", _("无责"))],
        required=False,
        coerce=lambda v: v == "1",
        empty_value=None,
    )
    approve = forms.TypedChoiceField(
        label=_("审核结论"),
        choices=[("1", _("通过")), ("0", _("退回重办"))],
        required=False,
        coerce=lambda v: v == "1",
        empty_value=True,  # type: ignore[arg-type]  # stubs: str | None; Django returns any value as is
    )
    outcome = forms.ChoiceField(
        label=_("拨打结果"), choices=[("", "—"), *CallOutcome.choices], required=False
    )
    satisfaction = forms.ChoiceField(
        label=_("满意度"), choices=[("", "—"), *Satisfaction.choices], required=False
    )
    method = forms.ChoiceField(
        label=_("回访方式"), choices=CallbackMethod.choices, initial=CallbackMethod.PHONE, required=False
    )
    into = forms.CharField(label=_("合并至工单号"), max_length=24, required=False)
    problem_solved = forms.CharField(
        label=_("问题解决情况"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    cause_analysis = forms.CharField(
        label=_("原因分析"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    preventive_measures = forms.CharField(
        label=_("整改/举一反三措施"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    accountability = forms.CharField(
        label=_("责任人教育考核"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def __init__(
        self,
        *args: Any,
        fields: tuple[str, ...] = (),
        unit_choices: Sequence[tuple[str, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        keep = {"version", "note", *fields}
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        unit = self.fields.get("unit")
        if isinstance(unit, forms.ChoiceField):
            unit.choices = [("", "—"), *unit_choices]

    def payload(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k not in {"version", "note"}}
        return {k: v for k, v in data.items() if v not in ("", None)}
