import pytest

from gridcare.org.models import Role
from gridcare.org.services import create_staff


@pytest.fixture
def wo_world(world):
    """The fixture world plus a shift leader at the city, a station head and a county manager."""
    w = world
    w.leader = create_staff(
        username="leader", password=w.password, full_name="陈值班", roles=[(Role.SHIFT_LEADER, w.city)]
    )
    w.station_head = create_staff(
        username="head_east", password=w.password, full_name="何所长", roles=[(Role.MANAGER, w.east)]
    )
    w.county_manager = create_staff(
        username="county_mgr", password=w.password, full_name="罗经理", roles=[(Role.MANAGER, w.county)]
    )
    w.east_reviewer = create_staff(
        username="east_reviewer", password=w.password, full_name="郑审核", roles=[(Role.SHIFT_LEADER, w.east)]
    )
    return w
