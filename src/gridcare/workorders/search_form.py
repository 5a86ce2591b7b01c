"""The form of 工单查询 (kept apart from the intake forms): it validates shape only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Viewer

from .models import OrderType, State
from .queries import OrderSearch

STATE_CHOICES = [
    ("", _("全部状态")),
    ("open", _("全部在途")),
    ("closed", _("全部已办结")),
    *State.choices,
]


class OrderSearchForm(forms.Form):
    number = forms.CharField(label=_("工单编号"), max_length=24, required=False)
    customer = forms.CharField(label=_("户号或客户名称"), max_length=60, required=False)
    phone = forms.CharField(label=_("电话"), max_length=20, required=False)
    order_type = forms.ChoiceField(
        label=_("工单类型"), choices=[("", _("全部类型")), *OrderType.choices], required=False
    )
    state = forms.ChoiceField(label=_("状态"), choices=STATE_CHOICES, required=False)
    unit = forms.TypedChoiceField(label=_("单位"), coerce=int, empty_value=None, required=False)
    created_from = forms.DateField(label=_("受理日期自"), required=False)
    created_to = forms.DateField(label=_("受理日期至"), required=False)

    def __init__(self, *args: Any, user: Viewer, active_unit: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = scoping.restrict(Unit.objects.all(), user, "id", active_unit).order_by("path")
        unit = self.fields["unit"]
        assert isinstance(unit, forms.ChoiceField)  # declared above
        unit.choices = [("", _("全部单位")), *((u.pk, u.name) for u in units[:300])]
        for name in ("created_from", "created_to"):
            self.fields[name].widget = forms.DateInput(attrs={"type": "date"})

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns (the stubs allow None)
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            raise forms.ValidationError(_("起始日期晚于截止日期"))
        return data

    def has_filters(self) -> bool:
        return any(v not in (None, "") for v in self.cleaned_data.values())

    def query(self) -> OrderSearch:
        d = self.cleaned_data
        return OrderSearch(
            number=d["number"],
            customer=d["customer"],
            phone=d["phone"],
            order_type=d["order_type"],
            state=d["state"],
            unit=d["unit"],
            created_from=d["created_from"],
            created_to=d["created_to"],
        )
