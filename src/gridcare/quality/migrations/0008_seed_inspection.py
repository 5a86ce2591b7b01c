"""The first 质检评分表 and the evaluation scheme that counts inspection scores (issue 17, item 6).
The items and deductions are GridCare's starting point (typical of 95598 quality forms), editable
as a new version."""

from django.db import migrations

SECTIONS = [
    {
        "name": "服务规范",
        "weight": 30,
        "items": [
            {"code": "greeting", "text": "未使用规范开头语、结束语", "deduct": 5},
            {"code": "identity", "text": "未核实客户身份即办理或告知户内信息", "deduct": 10},
            {"code": "tone", "text": "语气生硬、不耐烦", "deduct": 10},
            {"code": "interrupt", "text": "随意打断客户", "deduct": 5},
            {"code": "silence", "text": "长时间静音或等待未作解释", "deduct": 5},
        ],
    },
    {
        "name": "业务处理",
        "weight": 40,
        "items": [
            {"code": "answer", "text": "答复错误或不完整", "deduct": 20},
            {"code": "record", "text": "工单信息记录不全或有误", "deduct": 10},
            {"code": "routing", "text": "工单类型或派发单位错误", "deduct": 15},
            {"code": "time_limit", "text": "未按规定告知办理时限", "deduct": 10},
        ],
    },
    {
        "name": "沟通技巧",
        "weight": 30,
        "items": [
            {"code": "confirm", "text": "未确认客户诉求", "deduct": 10},
            {"code": "soothe", "text": "客户情绪激动时未主动安抚", "deduct": 10},
            {"code": "next_step", "text": "未提供解决方案或后续安排", "deduct": 10},
        ],
    },
    {
        "name": "服务红线",
        "weight": 0,
        "items": [
            {"code": "leak", "text": "泄露客户信息", "deduct": 0, "fatal": True},
            {"code": "abuse", "text": "辱骂、顶撞客户", "deduct": 0, "fatal": True},
            {"code": "refuse", "text": "推诿、拒绝受理客户诉求", "deduct": 0, "fatal": True},
        ],
    },
]

METRICS = [
    dict(
        code="inspection_score",
        name="质检平均得分",
        area="hotline",
        description="统计期内评定（含复核后）的质检得分平均值。",
        numerator={"source": "inspections", "where": {"state__in": ["scored", "appealed", "reviewed"]}, "agg": "avg:score"},
        unit_label="分",
        decimals=1,
        better="higher",
        target=90,
        source="95598质检管理",
        sort=100,
    ),
    dict(
        code="inspection_error_rate",
        name="质检差错率",
        area="hotline",
        description="有扣分项或致命错误的质检来电 ÷ 已质检来电 × 100%。",
        numerator={"source": "inspections", "where": {"state__in": ["scored", "appealed", "reviewed"], "score__lt": 100}, "agg": "count"},
        denominator={"source": "inspections", "where": {"state__in": ["scored", "appealed", "reviewed"]}, "agg": "count"},
        scale=100,
        unit_label="%",
        better="lower",
        source="95598质检管理",
        sort=110,
    ),
]

SCHEME_2 = [
    {"metric": "calls_answered", "weight": 20, "mode": "relative"},
    {"metric": "average_handling_time", "weight": 15, "mode": "linear", "full_at": 240, "zero_at": 480},
    {"metric": "wrap_up_seconds", "weight": 5, "mode": "linear", "full_at": 30, "zero_at": 120},
    {"metric": "satisfaction_rate", "weight": 25, "mode": "linear", "full_at": 98, "zero_at": 80},
    {"metric": "first_contact_resolution", "weight": 10, "mode": "linear", "full_at": 90, "zero_at": 50},
    {"metric": "inspection_score", "weight": 25, "mode": "linear", "full_at": 100, "zero_at": 60},
]


def seed(apps, schema_editor):
    apps.get_model("quality", "InspectionForm").objects.update_or_create(
        version=1, defaults={"name": "95598座席通话质检评分表", "sections": SECTIONS}
    )
    Metric = apps.get_model("quality", "Metric")
    for row in METRICS:
        Metric.objects.update_or_create(code=row["code"], version=1, defaults=row)
    apps.get_model("quality", "EvaluationScheme").objects.update_or_create(
        version=2,
        defaults={"name": "座席个人服务品质评价（含质检）", "indicators": SCHEME_2, "stars": [90, 80, 70, 60]},
    )


def unseed(apps, schema_editor):
    apps.get_model("quality", "EvaluationScheme").objects.filter(version=2).delete()
    apps.get_model("quality", "Metric").objects.filter(code__in=[m["code"] for m in METRICS]).delete()
    apps.get_model("quality", "InspectionForm").objects.filter(version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("quality", "0007_inspection")]
    operations = [migrations.RunPython(seed, unseed)]
