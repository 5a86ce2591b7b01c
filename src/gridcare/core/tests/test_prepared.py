"""``core.prepared.fetch_together``: statements sent together (one round trip on PostgreSQL)
answer as they would one by one — in order, and an error stops the ones after it."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection

from gridcare.core import prepared


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_statements_sent_together_answer_each_in_order():
    rows = prepared.fetch_together(
        [
            ("SELECT %s, %s", [1, "一"]),
            ("SELECT %s WHERE 1 = 0", [2]),
            ("SELECT %s UNION ALL SELECT %s", [3, 4]),
        ]
    )
    assert [[tuple(r) for r in part] for part in rows] == [[(1, "一")], [], [(3,), (4,)]]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_error_stops_the_statements_after_it_and_the_connection_goes_on():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE fetch_together_probe (n integer)")
    try:
        with pytest.raises(DatabaseError):
            prepared.fetch_together(
                [
                    ("SELECT COUNT(*) FROM fetch_together_probe", []),
                    ("SELECT * FROM no_such_table_here", []),
                    ("INSERT INTO fetch_together_probe (n) VALUES (%s) RETURNING n", [1]),
                ]
            )
        assert prepared.fetch("SELECT COUNT(*) FROM fetch_together_probe", []) == [(0,)]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE fetch_together_probe")
