from django.db import migrations

CODES = [
    ("FAULT", "故障报修"),
    ("OUTAGE", "停电咨询（已告知停电信息）"),
    ("BILL", "电费电价查询"),
    ("BUSINESS", "业务咨询/办理"),
    ("COMPLAINT", "投诉"),
    ("REPORT", "举报"),
    ("URGE", "催办"),
    ("KB", "知识库答复"),
    ("OTHER", "其他"),
    ("NUISANCE", "骚扰/无效来电"),
]


def seed(apps, schema_editor):
    WrapUpCode = apps.get_model("hotline", "WrapUpCode")
    for code, label in CODES:
        WrapUpCode.objects.get_or_create(code=code, defaults={"label": label})


def unseed(apps, schema_editor):
    apps.get_model("hotline", "WrapUpCode").objects.filter(code__in=[c for c, _ in CODES]).delete()


class Migration(migrations.Migration):
    dependencies = [("hotline", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
