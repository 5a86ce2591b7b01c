from django.db import migrations


def create_row(apps, schema_editor):
    apps.get_model("notify", "DeliveryWakeup").objects.get_or_create(pk=1)


def delete_row(apps, schema_editor):
    apps.get_model("notify", "DeliveryWakeup").objects.filter(pk=1).delete()


class Migration(migrations.Migration):
    """The single wake-up row the delivery task locks (tasks.wake_at)."""

    dependencies = [("notify", "0001_initial")]

    operations = [migrations.RunPython(create_row, delete_row)]
