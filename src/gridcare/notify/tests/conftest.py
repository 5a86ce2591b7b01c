import pytest

from .senders_for_tests import RecordingSender

HERE = "gridcare.notify.tests.senders_for_tests"


@pytest.fixture
def recording(settings):
    """Every channel goes to RecordingSender; returns the list of what was sent."""
    RecordingSender.sent = []
    settings.GRIDCARE_SENDERS = dict.fromkeys(
        ("sms", "email", "wechat", "app_push", "log"), f"{HERE}.RecordingSender"
    )
    return RecordingSender.sent


@pytest.fixture
def gateway_down(settings):
    settings.GRIDCARE_SENDERS = {**settings.GRIDCARE_SENDERS, "sms": f"{HERE}.GatewayDownSender"}


@pytest.fixture
def retry_policy(settings):
    """Three attempts, one minute then two minutes apart; a worker lease of five minutes."""
    settings.GRIDCARE_NOTIFY_MAX_ATTEMPTS = 3
    settings.GRIDCARE_NOTIFY_RETRY_SECONDS = 60
    settings.GRIDCARE_NOTIFY_RETRY_MAX_SECONDS = 3600
    settings.GRIDCARE_NOTIFY_LEASE_SECONDS = 300


@pytest.fixture(autouse=True)
def _quiet_hours_off(monkeypatch):
    """Tests not about quiet hours run as by day, whatever the hour they run at (the quiet-hours
    tests override this fixture)."""
    from gridcare.notify.models import QuietHours

    monkeypatch.setattr(QuietHours, "current", classmethod(lambda cls: cls(enabled=False)))
