"""导入电网拓扑: substations 变电站, feeders 线路 and transformer areas 台区 from one table.

Each row is one object; the 类别 column says which. Parents are referenced by code (上级编码), either
in the database or anywhere in the same file, so a whole county's topology fits in one file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.customers.models import AreaClass, Customer, Feeder, Substation, TransformerArea
from gridcare.org.models import Unit
from gridcare.org.types import Actor

from . import cells
from .pipeline import employee_problem, insert, lookup, run_import, staff_by_employee_no, update_rows
from .reading import Column, Source, Table
from .results import ImportResult, RowChecker, RowError


class TopologyKind(models.TextChoices):
    SUBSTATION = "substation", _("变电站")
    FEEDER = "feeder", _("线路")
    AREA = "area", _("台区")


COLUMNS = [
    Column("kind", "类别", ("类型", "设备类别", "kind", "type"), required=True),
    Column("code", "编码", ("编号", "code"), required=True),
    Column("name", "名称", ("name",), required=True),
    Column("voltage_kv", "电压等级(kV)", ("电压等级", "电压", "voltage", "voltage_kv")),
    Column("parent", "上级编码", ("上级", "所属上级编码", "parent", "parent_code")),
    Column("unit", "运维单位编码", ("运维单位", "unit", "unit_code")),
    Column("station", "供电所编码", ("供电所", "所属供电所编码", "station", "station_code")),
    Column("area_class", "区域类别", ("供电区域类别", "area_class")),
    Column("capacity_kva", "容量(kVA)", ("变压器容量", "容量", "capacity", "capacity_kva")),
    Column("is_public", "公用变", ("是否公用变", "public", "is_public")),
    Column("grid_manager", "网格客户经理工号", ("台区经理工号", "客户经理工号", "grid_manager")),
]

read_kind = cells.ChoiceReader(
    TopologyKind, {"变电所": "substation", "馈线": "feeder", "10kv线路": "feeder", "transformer_area": "area"}
)
read_area_class = cells.ChoiceReader(
    AreaClass, {"城市": "urban", "市区": "urban", "乡村": "rural", "边远": "remote", "特殊边远地区": "remote"}
)
NAME_LENGTH = {"substation": 60, "feeder": 60, "area": 80}
DEFAULT_VOLTAGE = {"substation": 35, "feeder": 10}
PARENT_KIND = {"feeder": "substation", "area": "feeder"}


@dataclass
class Plan:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    existing: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind → code → id / (id, station)


def import_topology(
    source: Source,
    *,
    filename: str | None = None,
    update: bool = False,
    dry_run: bool = False,
    actor: Actor | None = None,
) -> ImportResult:
    """Check every row; write all of them in one transaction, or nothing if any row is wrong.

    With ``update``, a code that already exists updates that object (a 台区 moved to another
    supply station takes its customers along); without it, an existing code is an error.
    """
    return run_import(
        kind="topology",
        label="导入电网拓扑",
        object_type="customers.transformerarea",
        source=source,
        filename=filename,
        columns=COLUMNS,
        check=lambda table, errors: _check(table, errors, update=update),
        write=_write,
        dry_run=dry_run,
        actor=actor,
    )


def _check(table: Table, errors: list[RowError], *, update: bool) -> Plan:
    columns = {c.key: c for c in COLUMNS}
    parsed: list[tuple[RowChecker, dict[str, Any]]] = []
    first_row: dict[tuple[str, str], int] = {}
    for row in table.rows:
        check = RowChecker(row, columns, errors)
        kind = check.read("kind", read_kind, required=True)
        item: dict[str, Any] = {"kind": kind, "row": row.number}
        item["code"] = check.read("code", cells.code, 32)
        item["name"] = check.read("name", cells.limited, NAME_LENGTH.get(kind, 60), required=True)
        if kind in ("substation", "feeder"):
            voltage = check.read("voltage_kv", cells.integer, minimum=1, maximum=1000)
            item["voltage_kv"] = voltage or DEFAULT_VOLTAGE[kind]
            item["unit"] = check.read("unit", cells.code, 32)
        if kind in ("feeder", "area"):
            item["parent"] = check.read("parent", cells.code, 32)
        if kind == "area":
            item["station"] = check.read("station", cells.code, 32)
            item["area_class"] = check.read("area_class", read_area_class, required=True)
            capacity = check.read("capacity_kva", cells.integer, minimum=1, maximum=1_000_000)
            item["capacity_kva"] = capacity or 400
            item["is_public"] = check.read("is_public", cells.boolean) if row.has("is_public") else True
            item["grid_manager"] = check.read("grid_manager", cells.limited, 20)
            item["grid_manager_id"] = None
        if kind and item["code"]:
            key = (kind, item["code"])
            if key in first_row:
                check.error("code", f"与第 {first_row[key]} 行的{TopologyKind(kind).label}编码重复")
            else:
                first_row[key] = row.number
        parsed.append((check, item))

    in_file = {kind: {code for (k, code) in first_row if k == kind} for kind in TopologyKind.values}
    wanted: dict[str, set[str]] = {kind: set(in_file[kind]) for kind in TopologyKind.values}
    for _check, item in parsed:
        if item.get("parent") and item["kind"] in PARENT_KIND:
            wanted[PARENT_KIND[item["kind"]]].add(item["parent"])
    plan = Plan()
    plan.existing["substation"] = dict(lookup(Substation.objects.all(), "code", wanted["substation"], "id"))
    plan.existing["feeder"] = dict(lookup(Feeder.objects.all(), "code", wanted["feeder"], "id"))
    plan.existing["area"] = {
        code: (pk, station)
        for code, pk, station in lookup(
            TransformerArea.objects.all(), "code", wanted["area"], "id", "station"
        )
    }
    unit_codes = {item.get(k) for _check, item in parsed for k in ("unit", "station")} - {None, ""}
    units = {
        code: (pk, kind) for code, pk, kind in lookup(Unit.objects.all(), "code", unit_codes, "id", "kind")
    }
    staff = staff_by_employee_no(
        {item["grid_manager"] for _check, item in parsed if item.get("grid_manager")}
    )

    plan.rows = {kind: [] for kind in TopologyKind.values}
    for check, item in parsed:
        kind = item["kind"]
        if kind is None:
            continue
        if item["code"] in plan.existing[kind] and not update:
            check.error("code", f"该{TopologyKind(kind).label}编码已存在于系统中（如需更新请使用 --update）")
        parent_kind = PARENT_KIND.get(kind)
        parent = item.get("parent")
        if parent_kind and parent and parent not in in_file[parent_kind] | plan.existing[parent_kind].keys():
            label = TopologyKind(parent_kind).label
            check.error("parent", f"找不到该{label}（文件中和系统中都没有此编码的{label}）")
        if item.get("unit"):
            if item["unit"] in units:
                item["unit_id"] = units[item["unit"]][0]
            else:
                check.error("unit", "找不到该编码的单位")
        if item.get("station"):
            pk, unit_kind = units.get(item["station"], (None, None))
            if pk is None:
                check.error("station", "找不到该编码的供电所")
            elif unit_kind != Unit.Kind.STATION:
                check.error("station", f"该单位不是供电所（是{Unit.Kind(unit_kind).label}）")
            item["station_id"] = pk
        if item.get("grid_manager"):
            matches = staff.get(item["grid_manager"])
            problem = employee_problem(matches)
            if problem:
                check.error("grid_manager", problem)
            else:
                item["grid_manager_id"] = matches[0][0]
        if not check.failed:
            plan.rows[kind].append(item)
    return plan


def _write(plan: Plan, result: ImportResult) -> None:
    ids: dict[str, dict[str, int]] = {
        "substation": dict(plan.existing["substation"]),
        "feeder": dict(plan.existing["feeder"]),
        "area": {code: pk for code, (pk, _station) in plan.existing["area"].items()},
    }

    def save(kind: str, model: type[models.Model], build) -> None:
        new, changed = [], []
        for item in plan.rows[kind]:
            row = build(item)
            if item["code"] in ids[kind]:
                changed.append({"id": ids[kind][item["code"]], **row})
            else:
                new.append({"code": item["code"], **row})
        created = insert(model, new, returning_ids=True)
        ids[kind].update(zip((row["code"] for row in new), created, strict=True))
        update_rows(model, changed, [name for name in changed[0] if name != "id"] if changed else [])
        result.created[kind] = len(new)
        result.updated[kind] = len(changed)

    save(
        "substation",
        Substation,
        lambda i: {"name": i["name"], "voltage_kv": i["voltage_kv"], "unit_id": i["unit_id"]},
    )
    save(
        "feeder",
        Feeder,
        lambda i: {
            "name": i["name"],
            "voltage_kv": i["voltage_kv"],
            "unit_id": i["unit_id"],
            "substation_id": ids["substation"][i["parent"]],
        },
    )
    save(
        "area",
        TransformerArea,
        lambda i: {
            "name": i["name"],
            "feeder_id": ids["feeder"][i["parent"]],
            "station_id": i["station_id"],
            "area_class": i["area_class"],
            "capacity_kva": i["capacity_kva"],
            "is_public": i["is_public"],
            "grid_manager_id": i["grid_manager_id"],
        },
    )
    # Customer.station repeats its area's station (scoping filters on it): follow moved areas.
    moved: dict[int, list[int]] = {}
    for item in plan.rows["area"]:
        old = plan.existing["area"].get(item["code"])
        if old and old[1] != item["station_id"]:
            moved.setdefault(item["station_id"], []).append(old[0])
    customers_moved = 0
    for station_id, area_ids in moved.items():
        customers_moved += Customer.objects.filter(transformer_area_id__in=area_ids).update(
            station_id=station_id
        )
    if customers_moved:
        result.updated["customer_station"] = customers_moved
