"""core.clock: the one clock, and how times are written."""


def test_local_time_reads_a_naive_value_as_shanghai_not_the_servers_zone(monkeypatch):
    import datetime as dt
    import time

    from gridcare.core import clock

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        naive = dt.datetime(2026, 11, 24, 9, 30)
        assert clock.local(naive).isoformat() == "2026-11-24T09:30:00+08:00"
        aware = dt.datetime(2026, 11, 24, 1, 30, tzinfo=dt.UTC)
        assert clock.local(aware).isoformat() == "2026-11-24T09:30:00+08:00"
        assert clock.local(None) is None
    finally:
        monkeypatch.undo()
        time.tzset()
