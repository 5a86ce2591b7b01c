"""The pages' forms: shape only; the services decide what may happen (as the API's schemas)."""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gridcare.core.validation import PhoneField
from gridcare.customers.models import Customer
from gridcare.workorders.models import Channel

from .models import ApplicationType, DocumentKind, IdType, Supply, WaitReason

EQUIPMENT_ROWS = 6


class AcceptForm(forms.Form):
    """受理: what SG186 carries. Equipment rows and documents are read from the POST by
    ``equipment`` and ``documents`` (fixed rows of plain inputs: no script needed)."""

    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    app_type = forms.ChoiceField(label=_("业务类型"), choices=ApplicationType.choices)
    channel = forms.ChoiceField(label=_("受理渠道"), choices=Channel.choices, initial=Channel.HALL)
    account_no = forms.CharField(label=_("既有户号"), max_length=20, required=False)
    applicant_name = forms.CharField(label=_("申请户名"), max_length=100)
    id_type = forms.ChoiceField(label=_("证件类型"), choices=IdType.choices)
    id_number = forms.CharField(label=_("证件号码"), min_length=4, max_length=30)
    address = forms.CharField(label=_("用电地址"), max_length=200)
    contact_name = forms.CharField(label=_("联系人"), max_length=60)
    contact_phone = PhoneField(label=_("联系电话"))
    usage_class = forms.ChoiceField(label=_("用电类别"), choices=Customer.CustomerClass.choices)
    industry = forms.CharField(label=_("行业分类"), max_length=60, required=False)
    load_nature = forms.TypedChoiceField(
        label=_("负荷性质"), choices=Customer.LoadClass.choices, coerce=int, initial=Customer.LoadClass.THIRD
    )
    requested_kva = forms.DecimalField(
        label=_("申请容量(kVA)"), min_value=Decimal("0.1"), max_value=Decimal("1000000"), decimal_places=1
    )
    supply = forms.ChoiceField(label=_("电源"), choices=Supply.choices, initial=Supply.SINGLE)
    households = forms.IntegerField(label=_("户数"), min_value=1, max_value=100_000, initial=1)
    supply_unit = forms.ChoiceField(label=_("供电单位"), required=False)
    high_risk = forms.BooleanField(label=_("高危及重要客户"), required=False)
    dishonest = forms.BooleanField(label=_("失信客户"), required=False)
    green_channel = forms.BooleanField(label=_("绿色通道（重点项目）"), required=False)
    handed_in_by_account_manager = forms.BooleanField(label=_("客户经理代办（优先办理）"), required=False)

    def __init__(self, *args: Any, unit_choices: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit_field = self.fields["supply_unit"]
        assert isinstance(unit_field, forms.ChoiceField)
        unit_field.choices = [("", _("默认（客户所属供电所或本单位）")), *(unit_choices or [])]
        self.equipment_rows: list[dict[str, str]] = []
        self.equipment_errors: list[str] = []

    def equipment(self, data: QueryDict) -> list[dict[str, Any]]:
        """The filled equipment rows (name, kW, phase, voltage, count); errors in ``equipment_errors``."""
        rows: list[dict[str, Any]] = []
        self.equipment_rows = []
        for i in range(EQUIPMENT_ROWS):
            raw = {
                k: data.get(f"eq-{i}-{k}", "").strip()[:60]
                for k in ("name", "kw", "phase", "voltage", "count")
            }
            self.equipment_rows.append(raw)
            if not any(raw[k] for k in ("name", "kw")):
                continue
            try:
                kw = Decimal(raw["kw"])
                count = int(raw["count"] or "1")
            except (InvalidOperation, ValueError):
                self.equipment_errors.append(gettext("第%(n)d行设备的功率或台数无效") % {"n": i + 1})
                continue
            if not raw["name"] or kw <= 0 or count < 1:
                self.equipment_errors.append(gettext("第%(n)d行设备须填写名称、功率和台数") % {"n": i + 1})
                continue
            rows.append(
                {
                    "name": raw["name"],
                    "kw": str(kw),
                    "phase": 1 if raw["phase"] == "1" else 3,
                    "voltage": raw["voltage"] or "380V",
                    "count": count,
                }
            )
        return rows

    @staticmethod
    def documents(data: QueryDict) -> list[tuple[str, bool, str]]:
        """The documents ticked as received: (kind, via shared data / 一证办电, note)."""
        return [
            (kind, data.get(f"doc-{kind}-shared") == "on", data.get(f"doc-{kind}-note", "").strip()[:200])
            for kind in DocumentKind.values
            if data.get(f"doc-{kind}") == "on"
        ]


def new_form_token() -> str:
    return uuid.uuid4().hex


def fingerprint(data: QueryDict) -> str:
    """The submitted form without its CSRF token: a double click sends the same."""
    items = sorted((k, v) for k, values in data.lists() for v in values if k != "csrfmiddlewaretoken")
    return hashlib.blake2b(repr(items).encode(), digest_size=16).hexdigest()


class NodeActionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.ChoiceField(label=_("中止原因"), choices=[("", "—"), *WaitReason.choices], required=False)
    note = forms.CharField(
        label=_("说明"), widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=1000
    )

    def __init__(self, *args: Any, fields: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "reason" not in fields:
            del self.fields["reason"]
