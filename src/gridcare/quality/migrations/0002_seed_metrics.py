"""The metric registry's first definitions (issue 17, item 1). Each says where its formula comes
from; where the official formula is not known to us the row says so (``formula_known`` false) and
the definition is GridCare's, editable in the admin as a new version."""

from decimal import Decimal

from django.db import migrations

LIVE = {"state__in": ["merged", "cancelled"]}  # merged and voided orders never count
COMPLAINT = {"order_type": "complaint"}
HOTLINE_CHANNELS = ["hotline", "ivr", "web", "wechat"]
RULES_95598 = "国家电网公司95598客户服务业务管理办法（工单分类、时限）"


NOT_SHORT = {"short_abandon": True}  # short abandons count in neither side of a call rate


def service_level(seconds, sort):
    return dict(
        code=f"service_level_{seconds}s",
        name=f"{seconds}秒服务水平",
        area="hotline",
        description=f"进入排队后{seconds}秒内被座席接听的来电 ÷ 呼入量 × 100%；短时放弃不计入。",
        numerator={"source": "calls", "where": {"outcome": "answered", "wait_seconds__lte": seconds}, "agg": "count"},
        denominator={"source": "calls", "where": {}, "agg": "count"},
        exclude=NOT_SHORT,
        scale=Decimal(100),
        unit_label="%",
        target=Decimal(80),
        better="higher",
        source="呼叫中心运营指标（80/20 等）",
        sort=sort,
    )


def orders(**where):
    return {"source": "orders", "where": where, "agg": "count"}


def within_limit(code, name, milestone, sort, description):
    due = {"milestone": milestone, "any": [{"met_at__isnull": False}, {"due_at__lt": {"now": True}}]}
    return dict(
        code=code,
        name=name,
        area="orders",
        description=description,
        numerator={
            "source": "deadlines",
            "where": {"milestone": milestone, "met_at__isnull": False, "met_at__lte": {"F": "due_at"}},
            "agg": "count",
        },
        denominator={"source": "deadlines", "where": due, "agg": "count"},
        exclude={"order__state__in": ["merged", "cancelled"]},
        scale=Decimal(100),
        unit_label="%",
        target=Decimal(100),
        better="higher",
        scoring="达到目标得满分；每低1个百分点扣相应分值（分值由考核办法定）",
        source=RULES_95598,
        sort=sort,
    )


def average_minutes(code, name, milestone, area_class, sort):
    return dict(
        code=code,
        name=name,
        area="repair",
        description=f"{name}：该节点完成时间减起算时间的平均值（分钟），仅计已完成的时限；按工单的区域类别统计。",
        numerator={
            "source": "deadlines",
            "where": {"milestone": milestone, "order__area_class": area_class},
            "agg": "avg_minutes:started_at:met_at",
        },
        exclude={"order__state__in": ["merged", "cancelled"]},
        unit_label="分钟",
        decimals=1,
        better="lower",
        source=RULES_95598 + "；城区45分钟、农村90分钟、特殊边远地区2小时到达现场",
        sort=sort,
    )


def satisfaction(code, name, values, sort):
    return dict(
        code=code,
        name=name,
        area="callbacks",
        description=f"{name}：回访结果为{'、'.join(values)}的工单数 ÷ 回访成功的工单数 × 100%。",
        numerator=orders(satisfaction__in=values),
        denominator=orders(satisfaction__in=["satisfied", "basically", "dissatisfied"]),
        exclude=LIVE,
        scale=Decimal(100),
        unit_label="%",
        better="lower" if values == ["dissatisfied"] else "higher",
        source="95598回访管理（满意/基本满意/不满意三级）",
        sort=sort,
    )


METRICS = [
    # --- complaints -----------------------------------------------------------------------------
    dict(
        code="complaints",
        name="投诉工单量",
        area="complaints",
        description="受理时间在统计期内的投诉工单数（不含已合并、已作废），计入承办单位；未派单的计入受理单位。",
        numerator=orders(**COMPLAINT),
        exclude=LIVE,
        unit_label="件",
        decimals=0,
        better="lower",
        source=RULES_95598,
        sort=10,
    ),
    dict(
        code="complaints_per_10k",
        name="万户投诉率",
        area="complaints",
        description="投诉工单量 ÷ 客户数 × 10000。客户数为当前档案数（GridCare 不保存历史户数快照）。",
        numerator=orders(**COMPLAINT),
        denominator={"source": "customers", "where": {}, "agg": "count"},
        exclude=LIVE,
        scale=Decimal(10000),
        unit_label="件/万户",
        decimals=2,
        better="lower",
        source="供电服务质量评价：万户投诉量",
        sort=20,
    ),
    dict(
        code="complaints_12398",
        name="12398投诉量",
        area="complaints",
        description="经12398能源监管热线受理的投诉工单数。",
        numerator=orders(channel="regulator_12398", **COMPLAINT),
        exclude=LIVE,
        unit_label="件",
        decimals=0,
        better="lower",
        source="国家能源局12398能源监管热线",
        sort=30,
    ),
    dict(
        code="complaints_95598",
        name="95598投诉量",
        area="complaints",
        description="经95598热线、自助语音、网站/网上国网、微信受理的投诉工单数。",
        numerator=orders(channel__in=HOTLINE_CHANNELS, **COMPLAINT),
        exclude=LIVE,
        unit_label="件",
        decimals=0,
        better="lower",
        source=RULES_95598,
        sort=40,
    ),
    dict(
        code="complaints_at_fault",
        name="有责投诉量",
        area="complaints",
        description="核定为供电企业有责的投诉工单数。",
        numerator=orders(at_fault=True, **COMPLAINT),
        exclude=LIVE,
        unit_label="件",
        decimals=0,
        better="lower",
        source=RULES_95598,
        sort=50,
    ),
    dict(
        code="praises",
        name="表扬工单量",
        area="complaints",
        description="受理时间在统计期内的表扬工单数。",
        numerator=orders(order_type="praise"),
        exclude=LIVE,
        unit_label="件",
        decimals=0,
        better="higher",
        source=RULES_95598,
        sort=60,
    ),
    # --- work orders --------------------------------------------------------------------------------
    dict(
        code="orders",
        name="工单总量",
        area="orders",
        description="受理时间在统计期内的工单数（不含已合并、已作废）。",
        numerator=orders(),
        exclude=LIVE,
        unit_label="件",
        decimals=0,
        better="lower",
        source=RULES_95598,
        sort=10,
    ),
    within_limit(
        "dispatch_within_limit",
        "派单及时率",
        "dispatch",
        20,
        "派单时限内完成派单的时限数 ÷ 已完成或已到期的派单时限数 × 100%（起算在统计期内）。",
    ),
    within_limit(
        "arrive_within_limit",
        "到达现场及时率",
        "arrive",
        30,
        "到达现场时限内到达的 ÷ 已到达或已到期的 × 100%（城区45分钟、农村90分钟、边远2小时，按时限表）。",
    ),
    within_limit(
        "restore_within_limit",
        "恢复送电及时率",
        "restore",
        40,
        "恢复送电时限内恢复的 ÷ 已恢复或已到期的 × 100%。",
    ),
    within_limit(
        "contact_within_limit",
        "联系客户及时率",
        "contact",
        50,
        "联系客户时限内联系的 ÷ 已联系或已到期的 × 100%。",
    ),
    within_limit(
        "reply_within_limit",
        "答复及时率",
        "reply",
        60,
        "答复时限内答复客户的 ÷ 已答复或已到期的 × 100%（如投诉1个工作日联系、答复时限按时限表）。",
    ),
    dict(
        code="commitment_fulfilment",
        name="服务承诺兑现率",
        area="orders",
        description="所有节点时限中按时完成的 ÷ 已完成或已到期的 × 100%。官方口径未掌握：此为 GridCare 口径，可在后台以新版本修改。",
        numerator={
            "source": "deadlines",
            "where": {"met_at__isnull": False, "met_at__lte": {"F": "due_at"}},
            "agg": "count",
        },
        denominator={
            "source": "deadlines",
            "where": {"any": [{"met_at__isnull": False}, {"due_at__lt": {"now": True}}]},
            "agg": "count",
        },
        exclude={"order__state__in": ["merged", "cancelled"]},
        scale=Decimal(100),
        unit_label="%",
        target=Decimal(100),
        better="higher",
        source="供电服务“十项承诺”",
        formula_known=False,
        sort=70,
    ),
    dict(
        code="first_contact_resolution",
        name="一次解决率",
        area="orders",
        description="受理时当场办结、未派单的咨询与电费电价查询工单 ÷ 该两类工单总数 × 100%。官方口径未掌握：此为 GridCare 口径。",
        numerator=orders(
            order_type__in=["consultation", "bill_query"],
            assigned_unit__isnull=True,
            state__in=["archived", "called_back", "reviewed"],
        ),
        denominator=orders(order_type__in=["consultation", "bill_query"]),
        exclude=LIVE,
        scale=Decimal(100),
        unit_label="%",
        better="higher",
        source="GridCare",
        formula_known=False,
        sort=80,
    ),
    # --- repair -------------------------------------------------------------------------------------
    average_minutes("arrival_minutes_urban", "平均到达现场时长（城区）", "arrive", "urban", 10),
    average_minutes("arrival_minutes_rural", "平均到达现场时长（农村）", "arrive", "rural", 20),
    average_minutes("arrival_minutes_remote", "平均到达现场时长（特殊边远）", "arrive", "remote", 30),
    average_minutes("restore_minutes_urban", "平均故障恢复时长（城区）", "restore", "urban", 40),
    average_minutes("restore_minutes_rural", "平均故障恢复时长（农村）", "restore", "rural", 50),
    average_minutes("restore_minutes_remote", "平均故障恢复时长（特殊边远）", "restore", "remote", 60),
    # --- callbacks ----------------------------------------------------------------------------------
    dict(
        code="callback_rate",
        name="回访率",
        area="callbacks",
        description="已回访（有回访结果）的需回访工单 ÷ 需回访工单 × 100%。",
        numerator=orders(
            callback_required=True, satisfaction__in=["satisfied", "basically", "dissatisfied"]
        ),
        denominator=orders(callback_required=True),
        exclude=LIVE,
        scale=Decimal(100),
        unit_label="%",
        target=Decimal(100),
        better="higher",
        source="95598回访管理：应回访工单100%回访",
        sort=10,
    ),
    satisfaction("satisfied_rate", "满意率", ["satisfied"], 20),
    satisfaction("satisfaction_rate", "满意率（含基本满意）", ["satisfied", "basically"], 30),
    satisfaction("dissatisfied_rate", "不满意率", ["dissatisfied"], 40),
    # --- hotline ------------------------------------------------------------------------------------
    dict(
        code="calls_offered",
        name="呼入量",
        area="hotline",
        description="来电时间在统计期内、转入人工的来电数（含放弃、未接通）。",
        numerator={"source": "calls", "where": {}, "agg": "count"},
        unit_label="通",
        decimals=0,
        better="higher",
        source="呼叫中心运营指标",
        sort=10,
    ),
    dict(
        code="answer_rate",
        name="人工接通率",
        area="hotline",
        description="座席接通的来电 ÷ 呼入量 × 100%；短时放弃（进入排队后数秒内挂机，阈值见来电统计参数）不计入。",
        numerator={"source": "calls", "where": {"outcome": "answered"}, "agg": "count"},
        denominator={"source": "calls", "where": {}, "agg": "count"},
        exclude=NOT_SHORT,
        scale=Decimal(100),
        unit_label="%",
        target=Decimal(90),
        better="higher",
        source="呼叫中心运营指标（短时放弃不计）",
        sort=20,
    ),
    service_level(15, 30),
    service_level(20, 40),
    dict(
        code="abandon_rate",
        name="呼损率（放弃率）",
        area="hotline",
        description="客户在座席接听前挂机的来电 ÷ 呼入量 × 100%；短时放弃不计入分子和分母。",
        numerator={"source": "calls", "where": {"outcome": "abandoned"}, "agg": "count"},
        denominator={"source": "calls", "where": {}, "agg": "count"},
        exclude=NOT_SHORT,
        scale=Decimal(100),
        unit_label="%",
        better="lower",
        source="呼叫中心运营指标（短时放弃不计）",
        sort=50,
    ),
    dict(
        code="average_speed_of_answer",
        name="平均应答速度",
        area="hotline",
        description="已接通来电从进入排队到座席接听的平均等待秒数（ASA）。",
        numerator={"source": "calls", "where": {"outcome": "answered"}, "agg": "avg_seconds:wait_seconds"},
        unit_label="秒",
        decimals=1,
        better="lower",
        source="呼叫中心运营指标",
        sort=55,
    ),
    dict(
        code="talk_seconds",
        name="平均通话时长",
        area="hotline",
        description="已接通来电从接听到挂机的平均秒数。",
        numerator={"source": "calls", "where": {"outcome": "answered"}, "agg": "avg_seconds:talk_seconds"},
        unit_label="秒",
        decimals=0,
        better="lower",
        source="呼叫中心运营指标",
        sort=60,
    ),
    dict(
        code="average_handling_time",
        name="平均处理时长",
        area="hotline",
        description="已接通来电的通话秒数加话后处理秒数的平均值（AHT）。",
        numerator={
            "source": "calls",
            "where": {"outcome": "answered"},
            "agg": "avg_sum:talk_seconds:wrap_up_seconds",
        },
        unit_label="秒",
        decimals=0,
        better="lower",
        source="呼叫中心运营指标",
        sort=70,
    ),
    dict(
        code="repeat_2h",
        name="2小时重复来电率",
        area="hotline",
        description="同一号码在2小时内再次来电的来电数 ÷ 呼入量 × 100%。官方口径未掌握：此为 GridCare 口径。",
        numerator={"source": "calls", "where": {}, "agg": "repeat_within:120"},
        denominator={"source": "calls", "where": {}, "agg": "count"},
        scale=Decimal(100),
        unit_label="%",
        better="lower",
        source="GridCare",
        formula_known=False,
        sort=80,
    ),
    dict(
        code="repeat_calls_7d",
        name="重复来电率（7日4次）",
        area="hotline",
        description="7日内同一号码接通座席4次及以上的接通来电数 ÷ 接通来电数 × 100%（电信行业口径）。",
        numerator={"source": "calls", "where": {}, "agg": "repeat_numbers:4:7"},
        denominator={"source": "calls", "where": {"answered_at__isnull": False}, "agg": "count"},
        scale=Decimal(100),
        unit_label="%",
        better="lower",
        source="电信行业呼叫中心重复来电口径",
        formula_known=False,
        sort=90,
    ),
]


def seed(apps, schema_editor):
    Metric = apps.get_model("quality", "Metric")
    for row in METRICS:
        Metric.objects.update_or_create(code=row["code"], version=1, defaults=row)


def unseed(apps, schema_editor):
    apps.get_model("quality", "Metric").objects.filter(code__in=[m["code"] for m in METRICS]).delete()


class Migration(migrations.Migration):
    dependencies = [("quality", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
