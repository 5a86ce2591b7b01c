# The history shape of core.models.HistoryEntry (issue #16): fields widened or added with defaults, no row lost.

import django.core.serializers.json
import gridcare.core.clock
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('workorders', '0007_number_unique_serves_prefix_search'),
    ]

    operations = [
        migrations.AlterField(
            model_name='workorderevent',
            name='action',
            field=models.CharField(max_length=30, verbose_name='动作'),
        ),
        migrations.AlterField(
            model_name='workorderevent',
            name='at',
            field=models.DateTimeField(default=gridcare.core.clock.now, verbose_name='时间'),
        ),
        migrations.AlterField(
            model_name='workorderevent',
            name='data',
            field=models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='数据'),
        ),
    ]
