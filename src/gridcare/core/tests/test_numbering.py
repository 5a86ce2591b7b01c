import pytest
from django.db import connection

from gridcare.core import numbering
from gridcare.core.testing import in_threads


@pytest.mark.django_db
def test_numbers_count_up_per_prefix_and_period():
    assert numbering.next_number("GZ", "20261124") == "GZ20261124000001"
    assert numbering.next_number("GZ", "20261124") == "GZ20261124000002"
    assert numbering.next_number("TS", "20261124") == "TS20261124000001"
    assert numbering.next_number("GZ", "20261125") == "GZ20261125000001"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_intake_never_shares_a_number():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    runs = in_threads(lambda: [numbering.next_value("ZX", "20261124") for _ in range(25)], 8)
    taken = [value for run in runs for value in run]
    assert sorted(taken) == list(range(1, 201))
