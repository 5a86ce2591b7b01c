"""Importing the grid topology and the customer archive from a utility's CSV/XLSX exports.

Given the fixture county (units X01 城关县, S01 城东供电所, S02 城西供电所), a grid manager with
工号 E1001 and an account manager with 工号 E1002, the sample files under docs/samples import
cleanly; a file with any bad row writes nothing and says which row, which column and why.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from gridcare.core import clock
from gridcare.core.models import AuditLog
from gridcare.customers.importing import import_customers, import_topology
from gridcare.customers.models import (
    Customer,
    CustomerAddress,
    CustomerPhone,
    Feeder,
    Meter,
    Substation,
    SupplyContract,
    TransformerArea,
)
from gridcare.customers.queries import CustomerQuery, search_customers
from gridcare.org.models import Role
from gridcare.org.services import create_staff

SAMPLES = Path(__file__).resolve().parents[4] / "docs" / "samples"

CUSTOMER_HEADER = [
    "户号",
    "户名",
    "用户类别",
    "电价类别",
    "合同容量(kVA)",
    "台区编码",
    "联系电话",
    "用电地址",
    "证件号码",
]


@pytest.fixture
def county(world):
    """The fixture world with 工号 on a grid manager and an account manager."""
    world.clerk_east.employee_no = "E1001"
    world.clerk_east.save(update_fields=["employee_no"])
    world.account_manager = create_staff(
        username="manager_zheng",
        password=world.password,
        full_name="郑经理",
        roles=[(Role.ACCOUNT_MANAGER, world.county)],
        employee_no="E1002",
    )
    return world


@pytest.fixture(autouse=True)
def _today():
    with clock.frozen(dt.datetime(2025, 6, 1, 9, 0)):
        yield


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def customer_row(account_no: str, name: str = "测试户", **overrides: object) -> list[object]:
    values = {
        "户号": account_no,
        "户名": name,
        "用户类别": "居民",
        "电价类别": "居民阶梯电价",
        "合同容量(kVA)": "8",
        "台区编码": "T01",
        "联系电话": "13800000000",
        "用电地址": f"城关镇测试路{account_no[-3:]}号",
        "证件号码": "",
    }
    values.update(overrides)
    return [values[h] for h in CUSTOMER_HEADER]


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Substation,
            Feeder,
            TransformerArea,
            Customer,
            CustomerPhone,
            CustomerAddress,
            Meter,
            SupplyContract,
        )
    }


def import_samples(suffix: str):
    topology = import_topology(SAMPLES / f"topology.{suffix}")
    customers = import_customers(SAMPLES / f"customers.{suffix}")
    return topology, customers


# --- files that import ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_topology_then_customers_end_to_end(county, suffix):
    topology, customers = import_samples(suffix)

    assert topology.ok and topology.written, topology.errors
    assert topology.created == {"substation": 1, "feeder": 2, "area": 4}
    area = TransformerArea.objects.select_related("feeder__substation").get(code="T111")
    assert area.feeder.code == "F11" and area.feeder.substation.code == "SUB10"
    assert area.station == county.west and area.area_class == "rural" and area.capacity_kva == 200
    assert TransformerArea.objects.get(code="T101").grid_manager == county.clerk_east
    assert TransformerArea.objects.get(code="T112").is_public is False

    assert customers.ok and customers.written, customers.errors
    assert customers.created["customers"] == 6
    brickworks = Customer.objects.get(account_no="5101000005")
    assert brickworks.station == county.west  # from its 台区
    assert brickworks.customer_class == Customer.CustomerClass.LARGE_INDUSTRY
    assert brickworks.load_class == 2 and brickworks.contracted_capacity_kva == Decimal("800.0")
    assert brickworks.is_key and brickworks.is_sensitive and brickworks.has_dedicated_transformer
    assert brickworks.account_manager == county.account_manager
    assert "停电损失" in brickworks.sensitive_note
    assert [p.number for p in brickworks.phones.all()] == ["13600040005", "13600040006"]
    assert brickworks.meters.get().kind == Meter.Kind.HIGH_VOLTAGE
    contract = brickworks.contracts.get()
    assert contract.expires_on == dt.date(2027, 3, 31) and contract.kind == "high_voltage"
    assert Customer.objects.get(account_no="5101000004").vulnerable_kind == "elderly"
    assert Customer.objects.get(account_no="5101000006").is_prepaid

    # The imported customers are found the way an agent looks them up.
    found = search_customers(county.agent, CustomerQuery(q="0851-86001234"))
    assert [c.account_no for c in found] == ["5101000001"]
    found = search_customers(county.agent, CustomerQuery(q="人民路8号"))
    assert [c.account_no for c in found] == ["5101000002"]
    # …and scoped by the station taken from the 台区.
    assert not search_customers(county.clerk_east, CustomerQuery(q="桃源砖厂"))
    assert search_customers(county.clerk_west, CustomerQuery(q="桃源砖厂"))

    log = AuditLog.objects.filter(action=AuditLog.Action.IMPORT).order_by("id").last()
    assert log.detail["created"]["customers"] == 6 and log.detail["rows"] == 6


def test_xlsx_with_number_and_date_cells_and_a_title_row(county):
    """What Excel really hands over: numbers, dates, and a banner above the header row."""
    header = [*CUSTOMER_HEADER, "立户日期", "重要客户"]
    rows = [
        ["城关县客户档案导出（2025-05-31）"],
        header,
        [
            5100000101,
            "周末",
            "居民",
            "residential_tiered",
            8,
            "T01",
            13800000101,
            "东风路1号",
            "",
            dt.datetime(2020, 1, 2),
            True,
        ],
        [
            5100000102,
            "吴天",
            "居民",
            "居民阶梯电价",
            12.5,
            "T02",
            13800000102,
            "西湖路2号",
            "",
            dt.date(2021, 3, 4),
            "否",
        ],
    ]
    result = import_customers(xlsx_bytes(rows), filename="导出.xlsx")
    assert result.ok, result.errors
    first = Customer.objects.get(account_no="5100000101")
    assert first.opened_on == dt.date(2020, 1, 2) and first.is_key
    assert first.phones.get().number == "13800000101"
    assert Customer.objects.get(account_no="5100000102").contracted_capacity_kva == Decimal("12.5")


def test_gbk_csv_from_chinese_excel(county):
    rows = [CUSTOMER_HEADER, customer_row("5100000201", "欧阳明月", 联系电话="13800000201、0851-86661234")]
    result = import_customers(csv_bytes(rows, encoding="gbk"), filename="客户.csv")
    assert result.ok, result.errors
    customer = Customer.objects.get(account_no="5100000201")
    assert customer.name == "欧阳明月"
    assert [(p.number, p.kind, p.is_primary) for p in customer.phones.all()] == [
        ("13800000201", "mobile", True),
        ("085186661234", "landline", False),
    ]
    assert customer.search_text == "欧阳明月城关镇测试路201号"


def test_english_headers_and_stored_codes_are_accepted(county):
    rows = [
        ["account_no", "name", "customer_class", "tariff_category", "transformer_area", "address", "phones"],
        ["5100000301", "钱多多", "non_residential", "general_business", "T01", "东风路3号", "13800000301"],
    ]
    result = import_customers(csv_bytes(rows))
    assert result.ok, result.errors
    assert Customer.objects.get(account_no="5100000301").customer_class == "non_residential"


# --- files that are rejected ----------------------------------------------------------------------


def test_one_bad_row_among_good_ones_leaves_nothing_behind(county):
    before = counts()
    rows = [
        CUSTOMER_HEADER,
        customer_row("5100000401"),
        customer_row("5100000402", 联系电话="1380000"),
        customer_row("5100000403"),
    ]
    result = import_customers(csv_bytes(rows))
    assert not result.written and counts() == before
    assert [(e.row, e.column, e.value) for e in result.errors] == [(3, "联系电话", "1380000")]
    assert "11 位" in result.errors[0].message
    assert not AuditLog.objects.filter(action=AuditLog.Action.IMPORT).exists()


def test_every_problem_is_reported_row_by_row(county):
    rows = [
        CUSTOMER_HEADER,
        customer_row("5100000501", 证件号码="520102196503122025"),  # wrong check digit
        customer_row("5100000502", 用户类别="外星人"),
        customer_row("5100000503", 台区编码="T99"),
        customer_row("5100000504", **{"合同容量(kVA)": "abc"}),
        customer_row("5100000001"),  # already in the archive
        customer_row("", 户名=""),
    ]
    result = import_customers(csv_bytes(rows))
    found = {(e.row, e.column): e.message for e in result.errors}
    assert found[(2, "证件号码")] == "身份证号码校验位不正确"
    assert "居民" in found[(3, "用户类别")]  # lists what may be written
    assert found[(4, "台区编码")].startswith("找不到该台区")
    assert found[(5, "合同容量(kVA)")] == "不是数字"
    assert "已存在" in found[(6, "户号")]
    assert found[(7, "户号")] == found[(7, "户名")] == "必填项为空"
    assert [e.row for e in result.errors] == sorted(e.row for e in result.errors)
    assert Customer.objects.count() == 2


def test_duplicates_within_the_file_are_caught(county):
    rows = [
        [*CUSTOMER_HEADER, "表号"],
        [*customer_row("5100000601"), "3300000601"],
        [*customer_row("5100000602"), "3300000601"],
        [*customer_row("5100000601"), "3300000603"],
    ]
    result = import_customers(csv_bytes(rows))
    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (3, "表号", "与第 2 行的表号重复"),
        (4, "户号", "与第 2 行的户号重复"),
    ]
    assert Customer.objects.count() == 2


def test_unknown_transformer_area_code_is_reported(county):
    result = import_customers(csv_bytes([CUSTOMER_HEADER, customer_row("5100000701", 台区编码="T404")]))
    assert [(e.row, e.column, e.value) for e in result.errors] == [(2, "台区编码", "T404")]


def test_missing_required_column_rejects_the_file(county, tmp_path):
    header = [h for h in CUSTOMER_HEADER if h != "台区编码"]
    bad = tmp_path / "客户.csv"
    bad.write_bytes(csv_bytes([header, ["5100000801"] * len(header)]))
    result = import_customers(bad)
    assert not result.ok and result.errors[0].row == 0
    assert "台区编码" in result.errors[0].message

    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_customers", str(bad), stdout=out)
    assert "客户.csv 无法导入" in out.getvalue() and "缺少必需的列：台区编码" in out.getvalue()


def test_old_xls_and_garbage_are_refused_with_a_reason(county):
    assert "另存为 .xlsx" in import_customers(b"\xd0\xcf\x11\xe0", filename="客户.xls").errors[0].message
    assert "无法打开" in import_customers(b"PK\x03\x04broken", filename="客户.xlsx").errors[0].message


def test_topology_references_are_checked(county):
    rows = [
        ["类别", "编码", "名称", "上级编码", "运维单位编码", "供电所编码", "区域类别", "网格客户经理工号"],
        ["线路", "F20", "10kV新线", "SUB99", "S01", "", "", ""],  # no such substation
        ["台区", "T20", "新1号台区", "F20", "", "X01", "城区", ""],  # X01 is a county, not a station
        ["台区", "T21", "新2号台区", "F20", "", "S01", "郊区", "E9999"],
        ["台区", "T01", "重复台区", "F01", "", "S01", "城区", ""],  # T01 exists
        ["台区", "T22", "新3号台区", "F20", "", "S01", "农村", ""],
        ["台区", "T22", "新3号台区", "F20", "", "S01", "农村", ""],
    ]
    before = counts()
    result = import_topology(csv_bytes(rows))
    found = {(e.row, e.column): e.message for e in result.errors}
    assert found[(2, "上级编码")].startswith("找不到该变电站")
    assert found[(3, "供电所编码")] == "该单位不是供电所（是县公司）"
    assert "城区" in found[(4, "区域类别")]
    assert found[(4, "网格客户经理工号")] == "找不到该工号的员工"
    assert "已存在" in found[(5, "编码")]
    assert found[(7, "编码")] == "与第 6 行的台区编码重复"
    assert (6, "上级编码") not in found  # F20 is defined in the same file
    assert counts() == before


def test_dry_run_writes_nothing(county):
    before = counts()
    topology = import_topology(SAMPLES / "topology.csv", dry_run=True)
    assert topology.ok and not topology.written and counts() == before

    out = io.StringIO()
    call_command("import_topology", str(SAMPLES / "topology.csv"), "--dry-run", stdout=out)
    assert "校验通过" in out.getvalue() and counts() == before


def test_update_replaces_existing_customers_instead_of_failing(county):
    rows = [
        [*CUSTOMER_HEADER, "VIP"],
        [*customer_row("5100000001", "张建国", 台区编码="T02", 联系电话="13811112222;13833334444"), "是"],
    ]
    assert not import_customers(csv_bytes(rows)).ok
    result = import_customers(csv_bytes(rows), update=True)
    assert result.ok and result.updated["customers"] == 1 and result.created["customers"] == 0
    customer = Customer.objects.get(account_no="5100000001")
    assert customer.is_vip and customer.station == county.west  # moved with its new 台区
    assert [p.number for p in customer.phones.all()] == ["13811112222", "13833334444"]
    assert Customer.objects.count() == 2


def test_update_changes_the_meter_and_contract_it_names(county):
    import_samples("csv")
    rows = list(csv.reader(io.StringIO((SAMPLES / "customers.csv").read_text(encoding="utf-8"))))
    header, first = rows[0], rows[1]
    first[header.index("表类型")] = "三相智能表"
    first[header.index("到期日期")] = "2035-03-01"
    result = import_customers(csv_bytes([header, first]), update=True)
    assert result.ok, result.errors
    assert result.updated == {"customers": 1, "meters": 1, "contracts": 1}
    customer = Customer.objects.get(account_no=first[0])
    assert customer.meters.get().kind == Meter.Kind.THREE_PHASE
    assert customer.contracts.get().expires_on == dt.date(2035, 3, 1)
    assert Meter.objects.count() == 6 and SupplyContract.objects.count() == 5


def test_a_meter_of_another_customer_is_an_error_even_with_update(county):
    import_samples("csv")
    rows = [[*CUSTOMER_HEADER, "表号"], [*customer_row("5100000001"), "3300000001"]]
    result = import_customers(csv_bytes(rows), update=True)
    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (2, "表号", "该表号已属于户号 5101000001 的客户")
    ]


def test_moving_an_area_to_another_station_takes_its_customers(county):
    rows = [
        ["类别", "编码", "名称", "上级编码", "供电所编码", "区域类别"],
        ["台区", "T01", "东风1号台区", "F01", "S02", "城区"],
    ]
    result = import_topology(csv_bytes(rows), update=True)
    assert result.ok, result.errors
    county.customer_east.refresh_from_db()
    assert county.customer_east.station == county.west


# --- the commands ---------------------------------------------------------------------------------


def test_command_prints_the_report_and_exits_non_zero(county, tmp_path, monkeypatch, capsys):
    bad = tmp_path / "客户.csv"
    bad.write_bytes(csv_bytes([CUSTOMER_HEADER, customer_row("5100000901", 证件号码="12345")]))
    report = tmp_path / "错误.csv"
    from django.db import connections

    from gridcare import cli

    # run_from_argv closes the connections when it ends; the test's transaction lives on one.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    monkeypatch.setattr(sys, "argv", ["gridcare", "import-customers", str(bad), "--report", str(report)])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code != 0
    output = capsys.readouterr()
    assert "第 2 行 [证件号码] “12345”：证件号码格式不正确" in output.out
    assert "未导入" in output.err
    assert "证件号码格式不正确" in report.read_text(encoding="utf-8-sig")
    assert Customer.objects.count() == 2


def test_command_imports_and_records_the_actor(county):
    call_command(
        "import_topology", str(SAMPLES / "topology.xlsx"), "--user", "clerk_east", stdout=io.StringIO()
    )
    out = io.StringIO()
    call_command("import_customers", str(SAMPLES / "customers.csv"), "--user", "clerk_east", stdout=out)
    assert "导入完成" in out.getvalue() and "客户 6 户" in out.getvalue()
    assert AuditLog.objects.filter(action=AuditLog.Action.IMPORT, actor=county.clerk_east).count() == 2

    with pytest.raises(CommandError):
        call_command("import_customers", str(SAMPLES / "customers.csv"), stdout=io.StringIO())
