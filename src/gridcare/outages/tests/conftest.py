"""The fixture world plus a second transformer area on 东风线 with a key customer (a hospital
whose account manager has an e-mail address), a customer with no mobile, and a station head."""

import datetime as dt

import pytest

from gridcare.core import clock

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=clock.LOCAL_TZ)  # a Tuesday morning


@pytest.fixture
def now():
    with clock.frozen(NOW) as frozen:
        yield frozen


@pytest.fixture
def ow(world, now):
    from gridcare.customers.models import AreaClass, Customer, CustomerAddress, CustomerPhone, TransformerArea
    from gridcare.customers.services import refresh_search_text
    from gridcare.org.models import Role
    from gridcare.org.services import create_staff

    w = world
    w.now = now
    w.station_head = create_staff(
        username="head_east", password=w.password, full_name="何所长", roles=[(Role.MANAGER, w.east)]
    )
    w.account_manager = create_staff(
        username="am_east",
        password=w.password,
        full_name="孔经理",
        roles=[(Role.ACCOUNT_MANAGER, w.east)],
    )
    w.account_manager.email = "kong@gridcare.example"
    w.account_manager.save(update_fields=["email"])
    w.area_east2 = TransformerArea.objects.create(
        name="东风2号台区", code="T03", feeder=w.feeder_east, station=w.east, area_class=AreaClass.URBAN
    )

    def customer(account_no, name, area, phone, address, kind=CustomerPhone.Kind.MOBILE, **extra):
        c = Customer.objects.create(
            account_no=account_no,
            name=name,
            transformer_area=area,
            station=area.station,
            customer_class=extra.pop("customer_class", Customer.CustomerClass.RESIDENTIAL),
            tariff_category=Customer.TariffCategory.RESIDENTIAL_TIERED,
            **extra,
        )
        if phone:
            CustomerPhone.objects.create(customer=c, number=phone, kind=kind, is_primary=True)
        CustomerAddress.objects.create(customer=c, address=address, is_primary=True)
        refresh_search_text(c)
        return c

    w.hospital = customer(
        "5100000010",
        "城关县人民医院",
        w.area_east2,
        "13800000010",
        "城关镇东风路200号",
        customer_class=Customer.CustomerClass.PUBLIC,
        is_key=True,
        account_manager=w.account_manager,
    )
    w.neighbour = customer("5100000011", "陈明", w.area_east2, "13800000011", "城关镇东风路202号")
    w.landline_only = customer(
        "5100000012",
        "赵老伯",
        w.area_east2,
        "08511234567",
        "城关镇东风路204号",
        kind=CustomerPhone.Kind.LANDLINE,
    )
    w.closed = customer(
        "5100000013",
        "已销户",
        w.area_east2,
        "13800000013",
        "城关镇东风路206号",
        status=Customer.Status.CLOSED,
    )
    return w


def local(*args):
    return dt.datetime(*args, tzinfo=clock.LOCAL_TZ)
