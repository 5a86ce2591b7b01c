"""GridCare's PostgreSQL connections run without JIT (docs/deployment.md): compiling short queries
cost more than running them."""

import pytest
from django.db import connection


@pytest.mark.django_db
def test_jit_is_off_for_gridcares_connections():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL session setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
