from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Schema

from gridcare.core.masking import mask_address, mask_id_number, mask_phone

from .models import Customer


class CustomerFlags(Schema):
    key: bool
    vip: bool
    vulnerable: str
    sensitive: bool
    prepaid: bool


class TopologyOut(Schema):
    substation: str
    feeder: str
    feeder_code: str
    transformer_area: str
    transformer_area_code: str
    area_class: str
    station: str
    grid_manager: str | None


class CustomerSummaryOut(Schema):
    account_no: str
    name: str
    customer_class: str
    phones_masked: list[str]
    address_masked: str
    station: str
    transformer_area: str
    flags: CustomerFlags

    @staticmethod
    def from_customer(c: Customer) -> CustomerSummaryOut:
        addresses = list(c.addresses.all())
        return CustomerSummaryOut(
            account_no=c.account_no,
            name=c.name,
            customer_class=c.customer_class,
            phones_masked=[mask_phone(p.number) for p in c.phones.all()],
            address_masked=mask_address(addresses[0].address) if addresses else "",
            station=c.station.name,
            transformer_area=c.transformer_area.name,
            flags=flags_of(c),
        )


class MeterOut(Schema):
    meter_no: str
    kind: str
    multiplier: int
    installed_on: dt.date | None
    last_verified_on: dt.date | None
    is_active: bool


class ContractOut(Schema):
    contract_no: str
    kind: str
    signed_on: dt.date
    expires_on: dt.date | None
    last_changed_on: dt.date | None
    status: str


class CustomerDetailOut(Schema):
    account_no: str
    name: str
    customer_class: str
    tariff_category: str
    load_class: int
    contracted_capacity_kva: Decimal
    credit_rating: str
    status: str
    id_number_masked: str
    phones_masked: list[str]
    addresses_masked: list[str]
    account_manager: str | None
    flags: CustomerFlags
    sensitive_note: str
    topology: TopologyOut
    meters: list[MeterOut]
    contracts: list[ContractOut]

    @staticmethod
    def from_customer(c: Customer) -> CustomerDetailOut:
        area = c.transformer_area
        return CustomerDetailOut(
            account_no=c.account_no,
            name=c.name,
            customer_class=c.customer_class,
            tariff_category=c.tariff_category,
            load_class=c.load_class,
            contracted_capacity_kva=c.contracted_capacity_kva,
            credit_rating=c.credit_rating,
            status=c.status,
            id_number_masked=mask_id_number(c.id_number),
            phones_masked=[mask_phone(p.number) for p in c.phones.all()],
            addresses_masked=[mask_address(a.address) for a in c.addresses.all()],
            account_manager=c.account_manager.display_name if c.account_manager else None,
            flags=flags_of(c),
            sensitive_note=c.sensitive_note,
            topology=TopologyOut(
                substation=area.feeder.substation.name,
                feeder=area.feeder.name,
                feeder_code=area.feeder.code,
                transformer_area=area.name,
                transformer_area_code=area.code,
                area_class=area.area_class,
                station=c.station.name,
                grid_manager=area.grid_manager.display_name if area.grid_manager else None,
            ),
            meters=[MeterOut.model_validate(m, from_attributes=True) for m in c.meters.all()],
            contracts=[ContractOut.model_validate(k, from_attributes=True) for k in c.contracts.all()],
        )


class PersonalDataOut(Schema):
    phones: list[str]
    id_number: str
    addresses: list[str]


def flags_of(c: Customer) -> CustomerFlags:
    return CustomerFlags(
        key=c.is_key,
        vip=c.is_vip,
        vulnerable=c.vulnerable_kind,
        sensitive=c.is_sensitive,
        prepaid=c.is_prepaid,
    )
