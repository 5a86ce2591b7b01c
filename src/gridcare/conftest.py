"""The fixture world: a small county with named staff (see tests in every app).

- 省公司 > 市公司 > 城关县公司 > {城东供电所, 城西供电所}; 山区县公司 > 山区供电所
- hotline agent 王座席 at the city (sees all three stations)
- business clerk 李受理 at 城东供电所, clerk 赵受理 at 城西供电所
- dispatcher 周调度 at 城关县公司, crew member 钱电工 in 城东抢修班
- metering staff 吴计量 at 城东供电所 (may not see full personal data)
- outsider 孙外人 with no role
"""

from __future__ import annotations

import pytest

from gridcare.core import clock

PASSWORD = "Gc-test-pass-2025"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _reset_clock_and_calendar():
    from gridcare.applications.paths import forget_rules
    from gridcare.billing.answers import forget_versions
    from gridcare.billing.latefees import forget_late_fee_rules
    from gridcare.core import calendar
    from gridcare.core.models import SettingsRow
    from gridcare.org.services import forget_tokens
    from gridcare.repair.dispatching import forget_system_actor
    from gridcare.repair.placement import reset_caches
    from gridcare.workorders.policies import forget_policies

    forget_rules()
    forget_versions()
    forget_late_fee_rules()
    calendar.invalidate()
    reset_caches()
    forget_policies()
    forget_tokens()
    forget_system_actor()
    SettingsRow.forget_all()
    _clear_local_cache()  # login throttles and lockout counters of unknown usernames
    yield
    clock.reset()
    forget_rules()
    forget_versions()
    forget_late_fee_rules()
    calendar.invalidate()
    reset_caches()
    forget_policies()
    forget_tokens()
    forget_system_actor()
    SettingsRow.forget_all()


def _clear_local_cache() -> None:
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    if isinstance(caches["default"], LocMemCache):  # never flush a real Redis
        caches["default"].clear()


class World:
    pass


# (model label, rows that tell the seeding happened, migration module, seeding function): what
# the data migrations seed. A migration that adds rows to a table seeded before names its own rows,
# so each is put back on its own.
SEEDED_BY_MIGRATIONS: list[tuple[str, dict, str, str]] = [
    ("core.CalendarYear", {}, "gridcare.core.migrations.0003_load_official_calendar", "load"),
    ("workorders.TimeLimitPolicy", {}, "gridcare.workorders.migrations.0002_seed_policies", "seed"),
    (
        "workorders.TimeLimitPolicy",
        {"milestone": "callback"},
        "gridcare.workorders.migrations.0010_seed_callback_rules",
        "seed",
    ),
    ("hotline.WrapUpCode", {}, "gridcare.hotline.migrations.0002_wrap_up_codes", "seed"),
    (
        "hotline.CallStatisticsSetting",
        {},
        "gridcare.hotline.migrations.0004_call_figures_return_calls",
        "seed",
    ),
    ("outages.NoticeRule", {}, "gridcare.outages.migrations.0002_notice_rules", "seed"),
    ("applications.NodePath", {}, "gridcare.applications.migrations.0002_seed_paths", "seed"),
    ("repair.RepairSetting", {}, "gridcare.repair.migrations.0002_seed_setting", "seed"),
    ("notify.DeliveryWakeup", {}, "gridcare.notify.migrations.0002_delivery_wakeup_row", "create_row"),
    ("quality.Metric", {"code": "complaints"}, "gridcare.quality.migrations.0002_seed_metrics", "seed"),
    ("quality.EvaluationScheme", {"version": 1}, "gridcare.quality.migrations.0006_seed_evaluation", "seed"),
    ("quality.InspectionForm", {}, "gridcare.quality.migrations.0008_seed_inspection", "seed"),
    ("quality.Metric", {"code": "occupancy"}, "gridcare.quality.migrations.0009_seed_agent_time", "seed"),
    (
        "quality.Metric",
        {"code": "yk_hv_on_time"},
        "gridcare.quality.migrations.0013_application_metrics",
        "seed",
    ),
    (
        "quality.Metric",
        {"code": "yk_callback_satisfaction"},
        "gridcare.quality.migrations.0015_application_callback_metrics",
        "seed",
    ),
    (
        "applications.CallbackQuestion",
        {},
        "gridcare.applications.migrations.0005_callbacks",
        "seed_questions",
    ),
    (
        "applications.AcceptanceRule",
        {},
        "gridcare.applications.migrations.0006_survey_acceptance",
        "seed_rules",
    ),
    ("billing.TariffSchedule", {}, "gridcare.billing.migrations.0002_seed", "seed"),
]


def restore_seeded_rows() -> None:
    """Put back what the data migrations seeded if an earlier transactional test flushed it (the
    live server's transactional database does not always restore the serialized rows)."""
    import importlib

    from django.apps import apps

    for label, rows, module, function in SEEDED_BY_MIGRATIONS:
        if not apps.get_model(label).objects.filter(**rows).exists():
            getattr(importlib.import_module(module), function)(apps, None)


@pytest.fixture
def world(db):
    from gridcare.customers.models import (
        AreaClass,
        Customer,
        CustomerAddress,
        CustomerPhone,
        Feeder,
        Substation,
        TransformerArea,
    )
    from gridcare.customers.services import refresh_search_text
    from gridcare.org.models import Role, Unit
    from gridcare.org.services import create_staff, create_unit

    restore_seeded_rows()
    w = World()
    w.province = create_unit(name="测试省电力公司", code="P01", kind=Unit.Kind.PROVINCE)
    w.city = create_unit(name="测试市供电公司", code="C01", kind=Unit.Kind.CITY, parent=w.province)
    w.county = create_unit(name="城关县供电公司", code="X01", kind=Unit.Kind.COUNTY, parent=w.city)
    w.county2 = create_unit(name="山区县供电公司", code="X02", kind=Unit.Kind.COUNTY, parent=w.city)
    w.east = create_unit(name="城东供电所", code="S01", kind=Unit.Kind.STATION, parent=w.county)
    w.west = create_unit(name="城西供电所", code="S02", kind=Unit.Kind.STATION, parent=w.county)
    w.mountain = create_unit(name="山区供电所", code="S03", kind=Unit.Kind.STATION, parent=w.county2)
    w.east_crew = create_unit(
        name="城东抢修班", code="S01T1", kind=Unit.Kind.TEAM, parent=w.east, function=Unit.Function.REPAIR
    )

    w.agent = create_staff(
        username="agent", password=PASSWORD, full_name="王座席", roles=[(Role.AGENT, w.city)]
    )
    w.clerk_east = create_staff(
        username="clerk_east", password=PASSWORD, full_name="李受理", roles=[(Role.BUSINESS_CLERK, w.east)]
    )
    w.clerk_west = create_staff(
        username="clerk_west", password=PASSWORD, full_name="赵受理", roles=[(Role.BUSINESS_CLERK, w.west)]
    )
    w.dispatcher = create_staff(
        username="dispatcher", password=PASSWORD, full_name="周调度", roles=[(Role.DISPATCHER, w.county)]
    )
    w.crew = create_staff(
        username="crew", password=PASSWORD, full_name="钱电工", roles=[(Role.CREW, w.east_crew)]
    )
    w.metering = create_staff(
        username="metering", password=PASSWORD, full_name="吴计量", roles=[(Role.METERING, w.east)]
    )
    w.outsider = create_staff(username="outsider", password=PASSWORD, full_name="孙外人", roles=[])

    w.substation = Substation.objects.create(
        name="城关110kV变电站", code="SUB01", voltage_kv=110, unit=w.county
    )
    w.feeder_east = Feeder.objects.create(name="10kV东风线", code="F01", substation=w.substation, unit=w.east)
    w.feeder_west = Feeder.objects.create(name="10kV西湖线", code="F02", substation=w.substation, unit=w.west)
    w.area_east = TransformerArea.objects.create(
        name="东风1号台区",
        code="T01",
        feeder=w.feeder_east,
        station=w.east,
        area_class=AreaClass.URBAN,
        grid_manager=w.clerk_east,
    )
    w.area_west = TransformerArea.objects.create(
        name="西湖1号台区", code="T02", feeder=w.feeder_west, station=w.west, area_class=AreaClass.RURAL
    )

    def customer(account_no, name, area, phone, address, **extra):
        c = Customer.objects.create(
            account_no=account_no,
            name=name,
            transformer_area=area,
            station=area.station,
            customer_class=extra.pop("customer_class", Customer.CustomerClass.RESIDENTIAL),
            tariff_category=Customer.TariffCategory.RESIDENTIAL_TIERED,
            id_number="520102198001011234",
            **extra,
        )
        CustomerPhone.objects.create(customer=c, number=phone, is_primary=True)
        CustomerAddress.objects.create(customer=c, address=address, is_primary=True)
        refresh_search_text(c)
        return c

    w.customer_east = customer("5100000001", "张建国", w.area_east, "13812341234", "城关镇东风路18号3单元")
    w.customer_west = customer(
        "5100000002",
        "刘秀英",
        w.area_west,
        "13987654321",
        "西湖乡柳树村5组",
        vulnerable_kind=Customer.VulnerableKind.ELDERLY_ALONE,
    )
    w.password = PASSWORD
    return w


@pytest.fixture
def admin_user(db, django_user_model):
    """pytest-django's superuser for ``admin_client``, holding the 系统管理员 role: under 三员分立
    (org.adminroles) a superuser flag alone opens nothing in the admin."""
    from gridcare.org.models import Role, RoleAssignment, Unit
    from gridcare.org.services import create_unit

    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "password")
    unit = Unit.objects.filter(parent=None).first() or create_unit(
        name="系统管理", code="GC-SYSADMIN", kind=Unit.Kind.PROVINCE
    )
    RoleAssignment.objects.create(user=user, role=Role.ADMIN, unit=unit)
    return user


# --- a real SMTP server on 127.0.0.1 (aiosmtpd) for the e-mail sender's tests ------------------


@pytest.fixture
def smtp_sender(settings):
    """E-mail goes through notify's SMTP sender to 127.0.0.1 (port set by ``smtp_server``)."""
    settings.GRIDCARE_SENDERS = {
        **settings.GRIDCARE_SENDERS,
        "email": "gridcare.notify.senders.SmtpEmailSender",
    }
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "95598@gridcare.localhost"
    return settings


@pytest.fixture
def smtp_server(smtp_sender):
    """A real SMTP server (aiosmtpd) on a free local port; yields its mailbox."""
    import logging

    from aiosmtpd.controller import Controller

    from gridcare.core.testing import Mailbox, free_port

    # aiosmtpd logs the cancelled client tasks from its own thread after the test has finished.
    smtp_log = logging.getLogger("mail.log")
    smtp_log.addHandler(logging.NullHandler())
    smtp_log.propagate = False

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    smtp_sender.EMAIL_PORT = port
    yield mailbox
    controller.stop()
