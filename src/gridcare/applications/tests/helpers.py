"""Building applications in tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gridcare.applications import services
from gridcare.core import clock


def intake(**overrides) -> services.Intake:
    values = {
        "app_type": "new",
        "applicant_name": "陈光明",
        "id_type": "resident_id",
        "id_number": "520102198503031234",
        "address": "城关镇东风路20号",
        "contact_name": "陈光明",
        "contact_phone": "13700001111",
        "usage_class": "residential",
        "requested_kva": Decimal("8"),
    }
    values.update(overrides)
    return services.Intake(**values)


def at(*args: int) -> dt.datetime:
    """A local (Asia/Shanghai) time."""
    return dt.datetime(*args, tzinfo=clock.LOCAL_TZ)


def accept(actor, **overrides):
    application, created = services.accept_application(actor=actor, intake=intake(**overrides))
    assert created
    return application
