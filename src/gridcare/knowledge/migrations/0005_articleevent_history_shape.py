# The history shape of core.models.HistoryEntry (issue #16): fields widened or added with defaults, no row lost.

import django.core.serializers.json
import django.db.models.deletion
import gridcare.core.clock
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('knowledge', '0004_attachment_original_name_type_size'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The history shape of core.models.HistoryEntry: the status columns keep their rows under
        # the shared names, widened to its lengths; ``data`` is new (empty for the old rows).
        migrations.RenameField(
            model_name='articleevent',
            old_name='from_status',
            new_name='from_state',
        ),
        migrations.RenameField(
            model_name='articleevent',
            old_name='to_status',
            new_name='to_state',
        ),
        migrations.AddField(
            model_name='articleevent',
            name='data',
            field=models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='数据'),
        ),
        migrations.AlterField(
            model_name='articleevent',
            name='from_state',
            field=models.CharField(blank=True, max_length=12, verbose_name='原状态'),
        ),
        migrations.AlterField(
            model_name='articleevent',
            name='to_state',
            field=models.CharField(blank=True, max_length=12, verbose_name='新状态'),
        ),
        migrations.AlterField(
            model_name='articleevent',
            name='action',
            field=models.CharField(choices=[('create', '新建'), ('edit', '修改'), ('submit', '提交审核'), ('withdraw', '撤回'), ('approve', '审核发布'), ('reject', '退回修改'), ('retire', '下线'), ('import', '导入发布')], max_length=30, verbose_name='动作'),
        ),
        migrations.AlterField(
            model_name='articleevent',
            name='actor',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='操作人'),
        ),
        migrations.AlterField(
            model_name='articleevent',
            name='at',
            field=models.DateTimeField(default=gridcare.core.clock.now, verbose_name='时间'),
        ),
        migrations.AlterField(
            model_name='articleevent',
            name='note',
            field=models.TextField(blank=True, verbose_name='说明'),
        ),
    ]
