"""The acceptance inspection's model is ``AcceptanceInspection``: ``quality`` has an ``Inspection``
(质检) already, and no two models share a name (``core/tests/test_history_shape.py``).

Numbered 0004 as reserved for this work; it follows 0006_survey_acceptance, which created the
model."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0006_survey_acceptance"),
    ]

    operations = [
        migrations.RenameModel(old_name="Inspection", new_name="AcceptanceInspection"),
    ]
