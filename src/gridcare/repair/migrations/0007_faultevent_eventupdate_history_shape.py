# The history shape of core.models.HistoryEntry (issue #16); the fault event renamed from OutageEvent
# (the name of the outages app's history): the table is renamed, every row kept.

import django.core.serializers.json
import gridcare.core.clock
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0003_search_indexes'),
        ('org', '0003_admin_roles_separation_of_duties'),
        ('outages', '0005_outageevent_history_shape'),
        ('repair', '0006_idempotency_fingerprint'),
        ('workorders', '0008_workorderevent_history_shape'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel(
            old_name='OutageEvent',
            new_name='FaultEvent',
        ),
        migrations.AddField(
            model_name='eventupdate',
            name='from_state',
            field=models.CharField(blank=True, max_length=12, verbose_name='原状态'),
        ),
        migrations.AddField(
            model_name='eventupdate',
            name='to_state',
            field=models.CharField(blank=True, max_length=12, verbose_name='新状态'),
        ),
        migrations.AlterField(
            model_name='eventupdate',
            name='action',
            field=models.CharField(max_length=30, verbose_name='动作'),
        ),
        migrations.AlterField(
            model_name='eventupdate',
            name='at',
            field=models.DateTimeField(default=gridcare.core.clock.now, verbose_name='时间'),
        ),
        migrations.AlterField(
            model_name='eventupdate',
            name='data',
            field=models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='数据'),
        ),
    ]
