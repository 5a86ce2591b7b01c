"""The smart intake form: fields adapt to the order type; the content sent to the engine is composed
from them so the handling unit reads one structured text."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.core.validation import PhoneField
from gridcare.workorders.models import Channel, ComplaintClass, OrderType

FAULT_SCOPES = [
    ("single", _("仅本户")),
    ("building", _("整栋楼/整个小区")),
    ("area", _("附近一片")),
    ("unknown", _("不清楚")),
]
APPLICATION_TYPES = [
    ("new", _("新装")),
    ("increase", _("增容")),
    ("decrease", _("减容")),
    ("suspend", _("暂停")),
    ("temp_swap", _("暂换")),
    ("temp_removal", _("暂拆")),
    ("meter_removal", _("拆表")),
    ("closure", _("销户")),
    ("relocation", _("移表")),
    ("voltage", _("改压")),
    ("class_change", _("改类")),
]


class SmartIntakeForm(forms.Form):
    order_type = forms.ChoiceField(label=_("工单类型"), choices=OrderType.choices)
    channel = forms.ChoiceField(label=_("渠道"), choices=Channel.choices, initial=Channel.HOTLINE)
    account_no = forms.CharField(required=False, widget=forms.HiddenInput)
    caller_name = forms.CharField(label=_("来电人"), max_length=60, required=False)
    caller_phone = PhoneField(label=_("联系电话"), required=False)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    content = forms.CharField(label=_("客户诉求"), max_length=3000, widget=forms.Textarea(attrs={"rows": 3}))
    # fault repair
    symptom = forms.ChoiceField(
        label=_("故障现象"),
        required=False,
        choices=[
            ("no_power", _("无电")),
            ("low_voltage", _("电压低/灯暗")),
            ("flicker", _("时有时无")),
            ("sparks", _("冒火/异响")),
            ("line_down", _("线路断落")),
            ("meter", _("电表故障")),
        ],
    )
    scope = forms.ChoiceField(label=_("停电范围"), choices=FAULT_SCOPES, required=False)
    hazard = forms.BooleanField(label=_("有安全隐患（断线、冒火、触电风险）"), required=False)
    self_check_done = forms.BooleanField(label=_("已指导客户自查（总闸、漏电开关）"), required=False)
    # complaint
    complaint_class = forms.ChoiceField(
        label=_("投诉分类"), required=False, choices=[("", "—"), *ComplaintClass.choices]
    )
    complaint_object = forms.CharField(label=_("投诉对象（人员/单位）"), max_length=100, required=False)
    demand = forms.CharField(label=_("客户诉求/期望"), max_length=300, required=False)
    # business
    application_type = forms.ChoiceField(
        label=_("业务类型"), choices=[("", "—"), *APPLICATION_TYPES], required=False
    )
    handed_in_by_account_manager = forms.BooleanField(label=_("客户经理代办"), required=False)

    def clean(self):
        """What the call's structured text needs; the order's own requirements per type (a
        complaint's class…) are the intake service's (``workorders.services.validate_intake``)."""
        data = super().clean()
        order_type = data.get("order_type")
        if order_type == OrderType.BUSINESS and not data.get("application_type"):
            self.add_error("application_type", _("请选择业务类型"))
        if order_type == OrderType.FAULT_REPAIR and not data.get("scope"):
            self.add_error("scope", _("请确认停电范围"))
        return data

    def composed_content(self) -> tuple[str, str]:
        """(content, subtype) for the engine."""
        d = self.cleaned_data
        lines = [d["content"].strip()]
        subtype = ""
        if d["order_type"] == OrderType.FAULT_REPAIR:
            subtype = d.get("symptom") or ""
            symptoms = self.fields["symptom"]
            assert isinstance(symptoms, forms.ChoiceField)  # declared above
            # A ChoiceField keeps its choices normalised to (value, label) pairs.
            symptom_labels: dict[str | None, str] = dict(cast("list[tuple[str, str]]", symptoms.choices))
            scopes: dict[str | None, str] = {value: str(label) for value, label in FAULT_SCOPES}
            lines.append(
                f"故障现象：{symptom_labels.get(d.get('symptom'), '')}；"
                f"范围：{scopes.get(d.get('scope'), '')}"
            )
            if d.get("hazard"):
                lines.append("【有安全隐患，请优先处置】")
            if d.get("self_check_done"):
                lines.append("已指导客户自查。")
        elif d["order_type"] == OrderType.COMPLAINT:
            if d.get("complaint_object"):
                lines.append(f"投诉对象：{d['complaint_object']}")
            if d.get("demand"):
                lines.append(f"客户诉求：{d['demand']}")
        elif d["order_type"] == OrderType.BUSINESS:
            subtype = d.get("application_type") or ""
            lines.append(f"业务类型：{dict(APPLICATION_TYPES).get(subtype, '')}")
        return "\n".join(line for line in lines if line), subtype

    def intake_data(self) -> dict:
        """The cleaned data as the intake takes it: the structured text composed into ``content``,
        the symptom or application type as ``subtype`` (``workorders.Intake.of`` reads it)."""
        content, subtype = self.composed_content()
        return {**self.cleaned_data, "content": content, "subtype": subtype}
