"""Seed the node engine's rule data: voltage bands by capacity and the node paths with their
owners, clock start events and limits in working days (all editable in the admin; each row keeps
its source). See docs/applications.md for the table and the choices made."""

from django.db import migrations

S2023 = "国家电网供电服务“十项承诺”（2023年版）：业扩全过程时限（供电企业部分）"
S2011_PLAN = "国家电网供电服务“十项承诺”（2011年版）：供电方案答复 居民3、低压7个工作日"
S2011_ENERGIZE = "国家电网供电服务“十项承诺”（2011年版）：装表接电 居民3、非居民5个工作日"
SG186 = "省公司业扩时限规则（SG186考核口径）：高压环节时限"
PRACTICE = "服务申请办理实践：其他业务5个工作日（变更用电的公开时限未找到）"

CONNECT = ["new", "increase", "pv", "ev_charging", "voltage_change"]
CHANGES = [
    "decrease",
    "suspend",
    "temp_swap",
    "temp_removal",
    "meter_removal",
    "close",
    "meter_move",
    "class_change",
]

BANDS = [
    # (voltage, up to kVA, active, source)
    ("lv", 100, True, "公开业扩系统：100kW及以下低压220/380V供电（省级选择，可调整）"),
    ("lv", 160, False, "上海：160kW以下低压接入（备选：按省份启用此档并停用100kW档）"),
    ("kv10", 8000, True, "公开业扩系统：8000kVA及以下10kV供电"),
    ("kv35", None, True, "8000kVA以上35kV及以上供电，需开展接入系统方案研究"),
]

# Node rows: (kind, owner level, owner function, owner role, clock starts, limit, customer action, source)
STATION_WINDOW = ("station", "business", "business_clerk")
COUNTY_CENTER = ("county", "customer_service", "account_manager")


def lv_nodes(plan_days, energize_days):
    return [
        ("accept", *STATION_WINDOW, "accepted", None, "", "一口对外：营业厅/线上受理"),
        ("survey", *STATION_WINDOW, "node_opened", None, "", "低压：勘查与方案答复计入方案答复时限"),
        ("plan_reply", *STATION_WINDOW, "accepted", plan_days, "", S2011_PLAN),
        (
            "energize",
            "station",
            "metering",
            "metering",
            "formalities_complete",
            energize_days,
            "请签订供用电合同并缴清相关费用",
            S2011_ENERGIZE,
        ),
        ("archive", *STATION_WINDOW, "node_opened", None, "", ""),
    ]


def hv_nodes(plan_days, access_study=False):
    nodes = [
        ("accept", *STATION_WINDOW, "accepted", None, "", "一口对外：营业厅/线上受理"),
        ("survey", *COUNTY_CENTER, "node_opened", None, "", "勘查计入方案答复时限（自受理起算）"),
    ]
    if access_study:
        nodes.append(
            (
                "access_study",
                *COUNTY_CENTER,
                "node_opened",
                None,
                "请委托有资质的单位开展接入系统方案研究并提交报告",
                "35kV及以上：接入系统方案研究（客户委托，不计入供电企业时限）",
            )
        )
    nodes += [
        ("plan_reply", *COUNTY_CENTER, "accepted", plan_days, "", SG186 + "：方案答复 单电源15、双电源30（自受理起算）"),
        (
            "design_review",
            *COUNTY_CENTER,
            "customer_request",
            10,
            "请提交受电工程设计文件送审",
            SG186 + "：设计审核10（自客户送审起算）",
        ),
        (
            "mid_inspection",
            *COUNTY_CENTER,
            "customer_request",
            5,
            "隐蔽工程完工后请提出中间检查申请",
            SG186 + "：中间检查5（自客户报验起算）",
        ),
        (
            "completion_inspection",
            *COUNTY_CENTER,
            "customer_request",
            5,
            "受电工程竣工后请提出竣工检验申请",
            SG186 + "：竣工检验5（自客户报验起算）",
        ),
        (
            "energize",
            "county",
            "metering",
            "metering",
            "formalities_complete",
            5,
            "请签订供用电合同并缴清相关费用",
            SG186 + "：装表接电5（自检验合格且手续完备起算）",
        ),
        ("archive", *COUNTY_CENTER, "node_opened", None, "", ""),
    ]
    return nodes


CHANGE_NODES = [
    ("accept", *STATION_WINDOW, "accepted", None, "", "一口对外：营业厅/线上受理"),
    ("survey", *STATION_WINDOW, "node_opened", None, "", ""),
    ("energize", "station", "metering", "metering", "node_opened", 5, "", PRACTICE),
    ("archive", *STATION_WINDOW, "node_opened", None, "", ""),
]

PATHS = [
    # (name, app types, category, supply, voltage, total days, source, nodes)
    ("低压居民新装增容", CONNECT, "residential", "", "lv", 5, S2023 + "：居民≤5个工作日", lv_nodes(3, 3)),
    (
        "低压非居民新装增容",
        CONNECT,
        "lv_non_residential",
        "",
        "lv",
        6,
        S2023 + "：低压非居民≤6个工作日",
        lv_nodes(7, 5),
    ),
    ("高压单电源新装增容", CONNECT, "hv", "single", "", 22, S2023 + "：高压单电源≤22个工作日", hv_nodes(15)),
    ("高压双电源新装增容", CONNECT, "hv", "dual", "", 32, S2023 + "：高压双电源≤32个工作日", hv_nodes(30)),
    (
        "35kV单电源新装增容",
        CONNECT,
        "hv",
        "single",
        "kv35",
        22,
        S2023 + "：高压单电源≤22个工作日",
        hv_nodes(15, access_study=True),
    ),
    (
        "35kV双电源新装增容",
        CONNECT,
        "hv",
        "dual",
        "kv35",
        32,
        S2023 + "：高压双电源≤32个工作日",
        hv_nodes(30, access_study=True),
    ),
    ("变更用电", CHANGES, "", "", "", None, PRACTICE, CHANGE_NODES),
]


def seed(apps, schema_editor):
    VoltageBand = apps.get_model("applications", "VoltageBand")
    NodePath = apps.get_model("applications", "NodePath")
    PathNode = apps.get_model("applications", "PathNode")
    if not VoltageBand.objects.exists():
        for voltage, up_to, active, source in BANDS:
            VoltageBand.objects.create(voltage=voltage, up_to_kva=up_to, is_active=active, source=source)
    if NodePath.objects.exists():
        return
    for name, types, category, supply, voltage, total, source, nodes in PATHS:
        path = NodePath.objects.create(
            name=name,
            app_types=types,
            category=category,
            supply=supply,
            voltage=voltage,
            total_days=total,
            source=source,
        )
        for seq, (kind, level, function, role, starts, limit, action, node_source) in enumerate(nodes, 1):
            PathNode.objects.create(
                path=path,
                seq=seq,
                kind=kind,
                owner_level=level,
                owner_function=function,
                owner_role=role,
                clock_starts=starts,
                limit_days=limit,
                customer_action=action,
                source=node_source,
            )


def unseed(apps, schema_editor):
    apps.get_model("applications", "NodePath").objects.all().delete()
    apps.get_model("applications", "VoltageBand").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("applications", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
