from django.contrib import admin

from gridcare.core.masking import mask_address, mask_id_number, mask_phone
from gridcare.org.adminpersonal import PersonalDataAdmin, PersonalTabularInline

from .models import (
    Customer,
    CustomerAddress,
    CustomerPhone,
    Feeder,
    Meter,
    Substation,
    SupplyContract,
    TransformerArea,
)


@admin.register(Substation)
class SubstationAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "voltage_kv", "unit"]
    search_fields = ["name", "code"]
    list_filter = ["voltage_kv"]


@admin.register(Feeder)
class FeederAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "voltage_kv", "substation", "unit"]
    search_fields = ["name", "code"]
    list_select_related = ["substation", "unit"]
    autocomplete_fields = ["substation", "unit"]


@admin.register(TransformerArea)
class TransformerAreaAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "feeder", "station", "area_class", "capacity_kva", "grid_manager"]
    search_fields = ["name", "code"]
    list_filter = ["area_class", "is_public"]
    list_select_related = ["feeder", "station", "grid_manager"]
    autocomplete_fields = ["feeder", "station", "grid_manager"]


class PhoneInline(PersonalTabularInline):
    model = CustomerPhone
    extra = 0
    personal_fields = {"number": mask_phone}


class AddressInline(PersonalTabularInline):
    model = CustomerAddress
    extra = 0
    personal_fields = {"address": mask_address}


class MeterInline(admin.TabularInline):
    model = Meter
    extra = 0


class ContractInline(admin.TabularInline):
    model = SupplyContract
    extra = 0


@admin.register(Customer)
class CustomerAdmin(PersonalDataAdmin, admin.ModelAdmin):
    personal_fields = {"id_number": mask_id_number}
    list_display = [
        "account_no",
        "name",
        "customer_class",
        "station",
        "is_key",
        "is_vip",
        "is_sensitive",
        "status",
    ]
    search_fields = ["account_no", "name"]
    list_filter = [
        "customer_class",
        "load_class",
        "is_key",
        "is_vip",
        "is_sensitive",
        "vulnerable_kind",
        "status",
    ]
    list_select_related = ["station"]
    autocomplete_fields = ["transformer_area", "station", "account_manager"]
    inlines = [PhoneInline, AddressInline, MeterInline, ContractInline]
    show_full_result_count = False

    def save_related(self, request, form, formsets, change):
        from .services import refresh_search_text

        super().save_related(request, form, formsets, change)
        refresh_search_text(form.instance)


@admin.register(Meter)
class MeterAdmin(admin.ModelAdmin):
    list_display = ["meter_no", "customer", "kind", "installed_on", "last_verified_on", "is_active"]
    search_fields = ["meter_no", "customer__account_no"]
    autocomplete_fields = ["customer"]


@admin.register(SupplyContract)
class SupplyContractAdmin(admin.ModelAdmin):
    list_display = ["contract_no", "customer", "kind", "signed_on", "expires_on", "status"]
    search_fields = ["contract_no", "customer__account_no"]
    list_filter = ["kind", "status"]
    autocomplete_fields = ["customer"]
