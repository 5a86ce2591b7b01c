import threading

import pytest
from django.db import connection

from gridcare.core import numbering


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
    taken: list[int] = []
    lock = threading.Lock()

    def take():
        from django.db import connections

        try:
            values = [numbering.next_value("ZX", "20261124") for _ in range(25)]
            with lock:
                taken.extend(values)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == list(range(1, 201))
