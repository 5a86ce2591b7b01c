"""The fixture world plus the people of a county's business expansion: an account manager and a
metering team member at the county (the HV nodes' owners), and the east station's head."""

from __future__ import annotations

import pytest

from gridcare.org.models import Role
from gridcare.org.services import create_staff


@pytest.fixture
def yk_world(world):
    w = world
    w.account_manager = create_staff(
        username="am_county",
        password=w.password,
        full_name="冯经理",
        roles=[(Role.ACCOUNT_MANAGER, w.county)],
    )
    w.metering_county = create_staff(
        username="metering_county", password=w.password, full_name="蒋计量", roles=[(Role.METERING, w.county)]
    )
    w.station_head = create_staff(
        username="head_east", password=w.password, full_name="何所长", roles=[(Role.MANAGER, w.east)]
    )
    w.county_manager = create_staff(
        username="county_mgr", password=w.password, full_name="罗经理", roles=[(Role.MANAGER, w.county)]
    )
    return w
