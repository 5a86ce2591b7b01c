# The history shape of core.models.HistoryEntry (issue #16): fields widened or added with defaults, no row lost.

import django.core.serializers.json
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('outages', '0004_idempotency_fingerprint'),
    ]

    operations = [
        migrations.AlterField(
            model_name='outageevent',
            name='data',
            field=models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='数据'),
        ),
        migrations.AlterField(
            model_name='outageevent',
            name='note',
            field=models.TextField(blank=True, verbose_name='说明'),
        ),
    ]
