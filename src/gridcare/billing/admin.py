"""Billing's rule data in the admin (tariffs and their versions, power-factor tables, late-fee rules,
thresholds, 保电); bills, payments and cases are read-only here — they change through the verbs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from pydantic import ValidationError

from . import models
from .tariffs import TariffRules


class TariffVersionForm(forms.ModelForm):
    class Meta:
        model = models.TariffVersion
        fields = ["schedule", "label", "effective_from", "rules", "source"]

    def clean_rules(self) -> Any:
        rules = self.cleaned_data["rules"]
        try:
            TariffRules.model_validate(rules)
        except ValidationError as exc:
            raise forms.ValidationError(
                _("电价规则不正确：%(errors)s")
                % {"errors": "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())}
            ) from exc
        return rules


class TariffVersionInline(admin.StackedInline):
    model = models.TariffVersion
    form = TariffVersionForm
    extra = 0


@admin.register(models.TariffSchedule)
class TariffScheduleAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "province", "kind", "category", "is_active"]
    list_filter = ["province", "kind", "is_active"]
    inlines = [TariffVersionInline]


@admin.register(models.TariffVersion)
class TariffVersionAdmin(admin.ModelAdmin):
    form = TariffVersionForm
    list_display = ["schedule", "label", "effective_from"]
    list_filter = ["schedule"]


@admin.register(models.PowerFactorTable)
class PowerFactorTableAdmin(admin.ModelAdmin):
    list_display = ["standard", "source"]


@admin.register(models.LateFeeRule)
class LateFeeRuleAdmin(admin.ModelAdmin):
    list_display = [
        "effective_from",
        "label",
        "residential_per_day",
        "current_year_per_day",
        "prior_years_per_day",
        "minimum",
    ]


@admin.register(models.BillingSetting)
class BillingSettingAdmin(admin.ModelAdmin):
    list_display = ["effective_from", "swing_percent", "due_days", "disconnect_after_days", "reconnect_hours"]


@admin.register(models.SupplyGuarantee)
class SupplyGuaranteeAdmin(admin.ModelAdmin):
    list_display = ["reason", "customer", "unit", "starts_at", "ends_at"]
    list_filter = ["reason"]
    raw_id_fields = ["customer"]


@admin.register(models.PaymentPoint)
class PaymentPointAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "unit", "address", "hours", "is_active"]
    list_filter = ["kind", "is_active"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(models.Bill)
class BillAdmin(ReadOnlyAdmin):
    list_display = ["number", "customer", "period", "kind", "state", "kwh", "amount", "paid", "due_on"]
    list_filter = ["state", "kind", "period"]
    search_fields = ["number", "customer__account_no"]
    raw_id_fields = ["customer", "run", "corrects"]


@admin.register(models.Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["receipt_no", "customer", "channel", "amount", "paid_at", "state"]
    list_filter = ["channel", "state"]
    search_fields = ["receipt_no", "reference", "customer__account_no"]
    raw_id_fields = ["customer"]


@admin.register(models.BillingRun)
class BillingRunAdmin(ReadOnlyAdmin):
    list_display = ["period", "unit", "state", "bills", "anomalies", "total_kwh", "total_amount"]


@admin.register(models.DisconnectionCase)
class DisconnectionCaseAdmin(ReadOnlyAdmin):
    list_display = ["number", "customer", "state", "arrears", "proposed_at", "reconnect_due_at"]
    list_filter = ["state"]
    raw_id_fields = ["customer"]
