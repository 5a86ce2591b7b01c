"""导入客户档案: one row per customer, with its phones, addresses, one meter and one contract.

The customer's 台区 must already exist (import the topology first); its supply station is taken
from the 台区, and ``search_text`` is filled the same way the archive fills it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gridcare.core import clock
from gridcare.customers.models import (
    Customer,
    CustomerAddress,
    CustomerPhone,
    Meter,
    SupplyContract,
    TransformerArea,
)
from gridcare.customers.services import search_text_for
from gridcare.org.types import Actor

from . import cells
from .pipeline import chunks, employee_problem, insert, lookup, run_import, staff_by_employee_no, update_rows
from .reading import Column, Source, Table
from .results import ImportResult, RowChecker, RowError

COLUMNS = [
    Column(
        "account_no", "户号", ("用户编号", "客户编号", "户号编码", "account_no", "account"), required=True
    ),
    Column("name", "户名", ("用户名称", "客户名称", "name"), required=True),
    Column("customer_class", "用户类别", ("客户类别", "用户分类", "customer_class"), required=True),
    Column("tariff_category", "电价类别", ("电价", "电价类型", "tariff", "tariff_category"), required=True),
    Column("load_class", "负荷等级", ("负荷类别", "负荷级别", "load_class")),
    Column("capacity", "合同容量(kVA)", ("合同容量", "contracted_capacity_kva", "capacity_kva", "capacity")),
    Column("credit_rating", "信用等级", ("信用评级", "credit_rating")),
    Column("area_code", "台区编码", ("台区编号", "transformer_area", "area_code"), required=True),
    Column("phones", "联系电话", ("电话", "电话号码", "手机", "手机号码", "联系方式", "phone", "phones")),
    Column("supply_address", "用电地址", ("address", "supply_address"), required=True),
    Column("mailing_address", "通讯地址", ("通信地址", "邮寄地址", "mailing_address")),
    Column("id_number", "证件号码", ("身份证号", "身份证号码", "统一社会信用代码", "id_number")),
    Column("is_key", "重要客户", ("重要用户", "is_key", "key")),
    Column("is_vip", "VIP", ("vip客户", "is_vip")),
    Column("vulnerable_kind", "特殊群体", ("特殊客户群体", "vulnerable", "vulnerable_kind")),
    Column("is_sensitive", "敏感客户", ("敏感用户", "is_sensitive", "sensitive")),
    Column("sensitive_note", "敏感风险点", ("敏感说明", "sensitive_note")),
    Column("is_prepaid", "预付费", ("预付费用户", "is_prepaid", "prepaid")),
    Column("has_dedicated_transformer", "专变", ("专变用户", "has_dedicated_transformer", "dedicated")),
    Column("manager_no", "客户经理工号", ("account_manager", "manager_no")),
    Column("status", "用电状态", ("状态", "status")),
    Column("opened_on", "立户日期", ("opened_on",)),
    Column("meter_no", "表号", ("电能表号", "电表号", "电能表编号", "meter_no")),
    Column("meter_kind", "表类型", ("电能表类型", "电表类型", "meter_kind")),
    Column("meter_multiplier", "倍率", ("综合倍率", "multiplier")),
    Column("meter_installed_on", "装表日期", ("installed_on",)),
    Column("contract_no", "合同编号", ("合同号", "contract_no")),
    Column("contract_kind", "合同类别", ("合同类型", "contract_kind")),
    Column("signed_on", "签订日期", ("合同签订日期", "signed_on")),
    Column("expires_on", "到期日期", ("合同到期日期", "有效期至", "expires_on")),
    Column("contract_status", "合同状态", ("contract_status",)),
]
METER_KEYS = ("meter_kind", "meter_multiplier", "meter_installed_on")
CONTRACT_KEYS = ("contract_kind", "signed_on", "expires_on", "contract_status")

read_class = cells.ChoiceReader(
    Customer.CustomerClass,
    {
        "城乡居民": "residential",
        "居民生活": "residential",
        "非居民": "non_residential",
        "工商业": "non_residential",
        "商业": "non_residential",
        "农业": "agriculture",
        "公用": "public",
        "机关": "public",
    },
)
read_tariff = cells.ChoiceReader(
    Customer.TariffCategory,
    {
        "居民阶梯": "residential_tiered",
        "居民生活电价": "residential_tiered",
        "居民峰谷": "residential_tou",
        "居民分时": "residential_tou",
        "一般工商业": "general_business",
        "大工业": "large_industry",
        "农业生产": "agriculture",
        "农业": "agriculture",
    },
)
read_load_class = cells.ChoiceReader(
    Customer.LoadClass, {"一类": 1, "一级": 1, "二类": 2, "二级": 2, "三类": 3, "三级": 3}
)
read_credit = cells.ChoiceReader(Customer.CreditRating)
read_vulnerable = cells.ChoiceReader(
    Customer.VulnerableKind,
    {
        "五保": "wubao",
        "孤寡": "elderly",
        "低保": "dibao",
        "残疾人": "disabled",
        "残疾": "disabled",
        "无": "",
        "否": "",
    },
)
read_status = cells.ChoiceReader(
    Customer.Status, {"正常": "active", "欠费停电": "disconnected", "停电": "disconnected", "销户": "closed"}
)
read_meter_kind = cells.ChoiceReader(
    Meter.Kind, {"单相": "single", "单相表": "single", "三相": "three", "三相表": "three", "高压": "hv"}
)
read_contract_kind = cells.ChoiceReader(
    SupplyContract.Kind,
    {"居民": "residential", "低压": "low_voltage", "高压": "high_voltage", "临时": "temporary"},
)
read_contract_status = cells.ChoiceReader(SupplyContract.Status, {"到期": "expired", "终止": "terminated"})

CUSTOMER_FIELDS = [
    "name",
    "id_number",
    "customer_class",
    "tariff_category",
    "load_class",
    "contracted_capacity_kva",
    "credit_rating",
    "transformer_area",
    "station",
    "account_manager",
    "is_key",
    "is_vip",
    "vulnerable_kind",
    "is_sensitive",
    "sensitive_note",
    "is_prepaid",
    "has_dedicated_transformer",
    "status",
    "opened_on",
    "search_text",
]


@dataclass
class Item:
    """One checked row: the customer's fields and what hangs on it."""

    row: int
    account_no: str
    fields: dict[str, Any]
    area_code: str
    manager_no: str
    phones: list[tuple[str, str]]
    addresses: list[tuple[str, str]]
    meter: dict[str, Any] | None
    contract: dict[str, Any] | None


@dataclass
class Plan:
    items: list[Item] = field(default_factory=list)
    existing: dict[str, int] = field(default_factory=dict)  # account_no → customer id
    meters: dict[str, tuple[int, str]] = field(default_factory=dict)  # meter_no → (id, owner account_no)
    contracts: dict[str, tuple[int, str]] = field(default_factory=dict)


def import_customers(
    source: Source,
    *,
    filename: str | None = None,
    update: bool = False,
    dry_run: bool = False,
    actor: Actor | None = None,
) -> ImportResult:
    """Check every row; write all of them in one transaction, or nothing if any row is wrong.

    With ``update``, a row whose 户号 exists replaces that customer's archive fields, phones and
    addresses with the file's, and updates (or adds) the meter and contract it names.
    """
    return run_import(
        kind="customers",
        label="导入客户档案",
        object_type="customers.customer",
        source=source,
        filename=filename,
        columns=COLUMNS,
        check=lambda table, errors: _check(table, errors, update=update),
        write=_write,
        dry_run=dry_run,
        actor=actor,
    )


def _read_row(check: RowChecker, today) -> Item:
    row = check.row
    read = check.read
    account_no = read("account_no", cells.code, 20)
    fields: dict[str, Any] = {
        "name": read("name", cells.limited, 100, required=True),
        "id_number": read("id_number", cells.id_number),
        "customer_class": read("customer_class", read_class, required=True),
        "tariff_category": read("tariff_category", read_tariff, required=True),
        "load_class": read("load_class", read_load_class, default=Customer.LoadClass.THIRD),
        "contracted_capacity_kva": read("capacity", cells.decimal, places=1, max_digits=10) or 0,
        "credit_rating": read("credit_rating", read_credit, default=Customer.CreditRating.A),
        "is_key": read("is_key", cells.boolean),
        "is_vip": read("is_vip", cells.boolean),
        "vulnerable_kind": read("vulnerable_kind", read_vulnerable, default=""),
        "is_sensitive": read("is_sensitive", cells.boolean),
        "sensitive_note": read("sensitive_note", cells.limited, 200),
        "is_prepaid": read("is_prepaid", cells.boolean),
        "has_dedicated_transformer": read("has_dedicated_transformer", cells.boolean),
        "status": read("status", read_status, default=Customer.Status.ACTIVE),
        "opened_on": read("opened_on", cells.date),
    }
    if fields["opened_on"] and fields["opened_on"] > today:
        check.error("opened_on", "立户日期晚于今天")
    supply = read("supply_address", cells.limited, 200, required=True)
    mailing = read("mailing_address", cells.limited, 200)
    addresses = [(CustomerAddress.Kind.SUPPLY, supply)] if supply else []
    if mailing:
        addresses.append((CustomerAddress.Kind.MAILING, mailing))

    meter = None
    meter_no = read("meter_no", cells.code, 30, required=False)
    if meter_no:
        meter = {
            "meter_no": meter_no,
            "kind": read("meter_kind", read_meter_kind, default=Meter.Kind.SINGLE_PHASE),
            "multiplier": read("meter_multiplier", cells.integer, minimum=1, maximum=100_000) or 1,
            "installed_on": read("meter_installed_on", cells.date),
        }
        if meter["installed_on"] and meter["installed_on"] > today:
            check.error("meter_installed_on", "装表日期晚于今天")
    elif not row.has("meter_no") and row.has(*METER_KEYS):
        check.error("meter_no", "填写了电能表信息但缺少表号")

    contract = None
    contract_no = read("contract_no", cells.code, 30, required=False)
    if contract_no:
        contract = {
            "contract_no": contract_no,
            "kind": read("contract_kind", read_contract_kind, required=True),
            "signed_on": read("signed_on", cells.date),
            "expires_on": read("expires_on", cells.date),
            "status": read("contract_status", read_contract_status, default=SupplyContract.Status.ACTIVE),
        }
        signed, expires = contract["signed_on"], contract["expires_on"]
        if signed is None and not row.has("signed_on"):
            check.error("signed_on", "填写了合同编号时，签订日期为必填项")
        elif signed and signed > today:
            check.error("signed_on", "签订日期晚于今天")
        if signed and expires and expires < signed:
            check.error("expires_on", f"到期日期早于签订日期 {signed:%Y-%m-%d}")
    elif not row.has("contract_no") and row.has(*CONTRACT_KEYS):
        check.error("contract_no", "填写了合同信息但缺少合同编号")

    return Item(
        row=row.number,
        account_no=account_no,
        fields=fields,
        area_code=read("area_code", cells.code, 32),
        manager_no=read("manager_no", cells.limited, 20) or "",
        phones=read("phones", cells.phones) or [],
        addresses=addresses,
        meter=meter,
        contract=contract,
    )


def _check(table: Table, errors: list[RowError], *, update: bool) -> Plan:
    columns = {c.key: c for c in COLUMNS}
    today = clock.today()
    parsed: list[tuple[RowChecker, Item]] = []
    first_row: dict[str, dict[str, int]] = {"account_no": {}, "meter_no": {}, "contract_no": {}}

    def once(check: RowChecker, key: str, value: str | None, label: str) -> None:
        if not value:
            return
        seen = first_row[key]
        if value in seen:
            check.error(key, f"与第 {seen[value]} 行的{label}重复")
        else:
            seen[value] = check.row.number

    for row in table.rows:
        check = RowChecker(row, columns, errors)
        item = _read_row(check, today)
        once(check, "account_no", item.account_no, "户号")
        once(check, "meter_no", item.meter and item.meter["meter_no"], "表号")
        once(check, "contract_no", item.contract and item.contract["contract_no"], "合同编号")
        parsed.append((check, item))

    plan = Plan()
    areas = {
        code: (pk, station)
        for code, pk, station in lookup(
            TransformerArea.objects.all(),
            "code",
            {i.area_code for _, i in parsed if i.area_code},
            "id",
            "station",
        )
    }
    staff = staff_by_employee_no({i.manager_no for _, i in parsed if i.manager_no})
    plan.existing = dict(lookup(Customer.objects.all(), "account_no", first_row["account_no"], "id"))
    plan.meters = {
        no: (pk, owner)
        for no, pk, owner in lookup(
            Meter.objects.all(), "meter_no", first_row["meter_no"], "id", "customer__account_no"
        )
    }
    plan.contracts = {
        no: (pk, owner)
        for no, pk, owner in lookup(
            SupplyContract.objects.all(),
            "contract_no",
            first_row["contract_no"],
            "id",
            "customer__account_no",
        )
    }

    for check, item in parsed:
        if item.account_no in plan.existing and not update:
            check.error("account_no", "该户号已存在于系统中（如需更新请使用 --update）")
        if item.area_code:
            if item.area_code in areas:
                item.fields["transformer_area_id"], item.fields["station_id"] = areas[item.area_code]
            else:
                check.error("area_code", "找不到该台区（请先导入电网拓扑）")
        item.fields["account_manager_id"] = None
        if item.manager_no:
            problem = employee_problem(staff.get(item.manager_no))
            if problem:
                check.error("manager_no", problem)
            else:
                item.fields["account_manager_id"] = staff[item.manager_no][0][0]
        for key, thing, known, label in (
            ("meter_no", item.meter, plan.meters, "表号"),
            ("contract_no", item.contract, plan.contracts, "合同编号"),
        ):
            number = thing and thing[key]
            if number in known:
                owner = known[number][1]
                if owner != item.account_no:
                    check.error(key, f"该{label}已属于户号 {owner} 的客户")
                elif not update:
                    check.error(key, f"该{label}已存在于系统中（如需更新请使用 --update）")
        if not check.failed:
            item.fields["search_text"] = search_text_for(item.fields["name"], [a for _, a in item.addresses])
            plan.items.append(item)
    return plan


def _write(plan: Plan, result: ImportResult) -> None:
    new = [item for item in plan.items if item.account_no not in plan.existing]
    changed = [
        {"id": plan.existing[item.account_no], **item.fields}
        for item in plan.items
        if item.account_no in plan.existing
    ]
    new_ids = insert(Customer, [{"account_no": i.account_no, **i.fields} for i in new], returning_ids=True)
    ids = dict(plan.existing)
    ids.update(zip((i.account_no for i in new), new_ids, strict=True))
    update_rows(Customer, changed, CUSTOMER_FIELDS)
    for batch in chunks([row["id"] for row in changed]):
        CustomerPhone.objects.filter(customer_id__in=batch).delete()
        CustomerAddress.objects.filter(customer_id__in=batch).delete()

    phones: list[dict[str, Any]] = []
    addresses: list[dict[str, Any]] = []
    meters: list[dict[str, Any]] = []
    contracts: list[dict[str, Any]] = []
    meters_changed: list[dict[str, Any]] = []
    contracts_changed: list[dict[str, Any]] = []
    for item in plan.items:
        customer_id = ids[item.account_no]
        phones += [
            {
                "customer_id": customer_id,
                "number": number,
                "kind": kind,
                "contact_name": "",
                "is_primary": i == 0,
            }
            for i, (number, kind) in enumerate(item.phones)
        ]
        addresses += [
            {"customer_id": customer_id, "kind": kind, "address": address, "is_primary": i == 0}
            for i, (kind, address) in enumerate(item.addresses)
        ]
        if item.meter:
            if item.meter["meter_no"] in plan.meters:
                pk = plan.meters[item.meter["meter_no"]][0]
                meters_changed.append({"id": pk, **item.meter})
            else:
                meters.append({"customer_id": customer_id, **item.meter})
        if item.contract:
            if item.contract["contract_no"] in plan.contracts:
                pk = plan.contracts[item.contract["contract_no"]][0]
                contracts_changed.append({"id": pk, **item.contract})
            else:
                contracts.append({"customer_id": customer_id, **item.contract})
    insert(CustomerPhone, phones)
    insert(CustomerAddress, addresses)
    insert(Meter, meters)
    update_rows(Meter, meters_changed, ["kind", "multiplier", "installed_on"])
    insert(SupplyContract, contracts)
    update_rows(SupplyContract, contracts_changed, ["kind", "signed_on", "expires_on", "status"])
    result.created = {
        "customers": len(new),
        "phones": len(phones),
        "addresses": len(addresses),
        "meters": len(meters),
        "contracts": len(contracts),
    }
    result.updated = {
        "customers": len(changed),
        "meters": len(meters_changed),
        "contracts": len(contracts_changed),
    }
