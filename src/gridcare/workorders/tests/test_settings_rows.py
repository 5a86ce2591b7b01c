"""督办参数 and the other one-row parameter tables: an admin's edit is in force at once."""

import pytest

from gridcare.workorders.models import SupervisionSetting

pytestmark = pytest.mark.django_db


def test_an_admin_edit_of_the_parameters_takes_effect_at_once(admin_client):
    row = SupervisionSetting.current()  # the row in force, now kept by this process
    assert row.pk and row.urgings_to_raise_warning == 2
    url = f"/admin/workorders/supervisionsetting/{row.pk}/"
    assert admin_client.post(url + "change/", {"urgings_to_raise_warning": 4}).status_code == 302
    assert SupervisionSetting.current().urgings_to_raise_warning == 4
    assert admin_client.post(url + "delete/", {"post": "yes"}).status_code == 302
    assert not SupervisionSetting.objects.exists()
    assert SupervisionSetting.current().urgings_to_raise_warning == 2  # the defaults again
    assert SupervisionSetting.current().pk is None
