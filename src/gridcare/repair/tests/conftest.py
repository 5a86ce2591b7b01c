"""A feeder with several transformer areas full of customers, and crews, on top of the world."""

from __future__ import annotations

import datetime as dt

import pytest

from gridcare.core import clock

STORM_START = dt.datetime(2026, 7, 14, 15, 0)  # a Tuesday afternoon (Asia/Shanghai), day shift


@pytest.fixture
def grid(world):
    from gridcare.customers.models import AreaClass, Customer, CustomerAddress, CustomerPhone, TransformerArea
    from gridcare.customers.services import refresh_search_text
    from gridcare.org.models import Role
    from gridcare.org.services import create_staff
    from gridcare.repair.models import Crew

    w = world
    w.areas = []
    w.customers_by_area = {}
    roads = ["东风路", "解放路", "人民路", "建设路"]
    for i, road in enumerate(roads, start=1):
        area = TransformerArea.objects.create(
            name=f"{road}{i}号公变台区",
            code=f"T1{i}",
            feeder=w.feeder_east,
            station=w.east,
            area_class=AreaClass.URBAN,
        )
        people = []
        for k in range(1, 6):
            c = Customer.objects.create(
                account_no=f"51100{i}{k:04d}",
                name=f"{road}住户{k}",
                transformer_area=area,
                station=w.east,
                customer_class=Customer.CustomerClass.RESIDENTIAL,
                tariff_category=Customer.TariffCategory.RESIDENTIAL_TIERED,
                is_key=(k == 5),
            )
            CustomerPhone.objects.create(customer=c, number=f"1390{i}{k:06d}", is_primary=True)
            CustomerAddress.objects.create(customer=c, address=f"城关镇{road}{10 + k}号", is_primary=True)
            refresh_search_text(c)
            people.append(c)
        w.areas.append(area)
        w.customers_by_area[area.pk] = people
    w.crew_one = Crew.objects.create(
        name="城东抢修一组",
        code="S01C1",
        station=w.east,
        team_unit=w.east_crew,
        vehicle="黔A·12345",
        leader=w.crew,
    )
    w.crew_one.members.add(w.crew)
    w.crew_two = Crew.objects.create(
        name="城东电工组",
        code="S01C2",
        station=w.east,
        team_unit=w.east_crew,
        tier=Crew.Tier.ELECTRICIAN_GROUP,
    )
    # Every crew has somebody to send (a crew with no members is never dispatched).
    w.electrician = create_staff(
        username="electrician_east", password=w.password, full_name="孙电工", roles=[(Role.CREW, w.east_crew)]
    )
    w.crew_two.members.add(w.electrician)
    west_team = __import__("gridcare.org.services", fromlist=["create_unit"]).create_unit(
        name="城西抢修班", code="S02T1", kind="team", parent=w.west, function="repair"
    )
    w.west_team = west_team
    w.crew_west = Crew.objects.create(name="城西抢修一组", code="S02C1", station=w.west, team_unit=west_team)
    w.west_worker = create_staff(
        username="crew_west", password=w.password, full_name="郑电工", roles=[(Role.CREW, west_team)]
    )
    w.crew_west.members.add(w.west_worker)
    w.station_head = create_staff(
        username="head_east",
        password=w.password,
        full_name="陈所长",
        roles=[(Role.MANAGER, w.east)],
        mobile="13700000001",
    )
    w.county_chief = create_staff(
        username="chief_county", password=w.password, full_name="黄经理", roles=[(Role.MANAGER, w.county)]
    )
    return w


@pytest.fixture
def storm_clock():
    with clock.frozen(STORM_START) as frozen:
        yield frozen
