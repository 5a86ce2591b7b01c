"""The demo county: what a person trying GridCare meets after `gridcare seed-demo`."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from gridcare.core import clock
from gridcare.customers.models import AreaClass, Customer, CustomerPhone, TransformerArea
from gridcare.customers.queries import CustomerQuery, search_customers, visible_customers
from gridcare.customers.services import search_text_for
from gridcare.demo.county import DEMO_PASSWORD
from gridcare.org.models import Role, RoleAssignment, Unit, User

# The accounts README's table of demo users offers (its rows begin "| `username` |").
README_ACCOUNTS = re.findall(
    r"^\| `([a-z0-9]+)` \|", (Path(__file__).resolve().parents[4] / "README.md").read_text(), re.M
)
TODAY = dt.datetime(2026, 3, 2, 9, 0)


@pytest.fixture
def county(db):
    with clock.frozen(TODAY):
        call_command("seed_demo", customers=1000, seed=7, no_knowledge=True, verbosity=0)


def _snapshot():
    return list(Customer.objects.order_by("account_no").values_list("account_no", "name", "search_text"))


def test_same_seed_gives_the_same_county(db):
    class Rollback(Exception):
        pass

    with clock.frozen(TODAY):
        with pytest.raises(Rollback), transaction.atomic():
            call_command("seed_demo", customers=300, seed=11, no_knowledge=True, verbosity=0)
            first = _snapshot()
            first_phones = sorted(CustomerPhone.objects.values_list("customer__account_no", "number"))
            raise Rollback
        assert not Customer.objects.exists()
        call_command("seed_demo", customers=300, seed=11, no_knowledge=True, verbosity=0)
    assert len(first) == 300
    assert _snapshot() == first
    assert sorted(CustomerPhone.objects.values_list("customer__account_no", "number")) == first_phones


def test_every_role_has_staff_and_readme_accounts_log_in(county, client):
    held = set(RoleAssignment.objects.values_list("role", flat=True))
    assert held == set(Role.values)
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert {"agent01", "billing01", "cashier01"} <= set(README_ACCOUNTS)
    for username in README_ACCOUNTS:
        response = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, username
        client.post("/logout/")


def test_county_shape(county):
    assert Unit.objects.filter(kind=Unit.Kind.PROVINCE).count() == 1
    assert Unit.objects.filter(kind=Unit.Kind.CITY).count() == 1
    assert Unit.objects.filter(kind=Unit.Kind.COUNTY).count() == 3
    assert Unit.objects.filter(kind=Unit.Kind.STATION).count() == 20
    assert set(Unit.objects.exclude(function="").values_list("function", flat=True)) == set(
        Unit.Function.values
    ) - {""}
    # every station has a repair crew team
    for station in Unit.objects.filter(kind=Unit.Kind.STATION):
        assert station.children.filter(function=Unit.Function.REPAIR).exists(), station
    assert TransformerArea.objects.filter(grid_manager__isnull=True).count() == 0
    assert set(TransformerArea.objects.values_list("area_class", flat=True)) == set(AreaClass.values)
    assert (
        TransformerArea.objects.filter(feeder__name__regex=r"^10kV.+线$").count()
        == TransformerArea.objects.count()
    )


def test_customers_look_real(county):
    customers = Customer.objects.all()
    assert customers.count() == 1000
    residential = customers.filter(customer_class=Customer.CustomerClass.RESIDENTIAL).count()
    assert 800 < residential < 950
    for flag in ["is_key", "is_vip", "is_prepaid", "is_sensitive"]:
        assert customers.filter(**{flag: True}).exists(), flag
    assert customers.exclude(vulnerable_kind="").exists()
    assert not customers.filter(is_sensitive=True, sensitive_note="").exists()
    # ≥100 kVA customers are served by an account manager
    large = customers.filter(contracted_capacity_kva__gte=100)
    assert large.exists() and not large.filter(account_manager__isnull=True).exists()
    assert customers.filter(is_key=True, name__endswith="人民医院").exists()
    for customer in customers.prefetch_related("addresses", "phones", "meters", "contracts")[:200]:
        assert customer.search_text == search_text_for(
            customer.name, [a.address for a in customer.addresses.all()]
        )
        assert customer.station_id == customer.transformer_area.station_id
        assert 1 <= len(customer.phones.all()) <= 3
        assert all(len(p.number) == 11 and p.number.isdigit() for p in customer.phones.all())
        assert len(customer.meters.all()) == 1 and len(customer.contracts.all()) == 1
        assert customer.addresses.all()[0].address.startswith("白溪市")


def test_clerk_sees_only_their_station(county, client):
    clerk = User.objects.get(username="clerk01")
    station = RoleAssignment.objects.get(user=clerk).unit
    own = Customer.objects.filter(station=station)
    assert own.exists()
    assert set(visible_customers(clerk).values_list("pk", flat=True)) == set(own.values_list("pk", flat=True))
    elsewhere = Customer.objects.exclude(station=station).first()
    client.force_login(clerk)
    assert client.get(f"/customers/{elsewhere.account_no}/").status_code == 404
    assert client.get(f"/customers/{own.first().account_no}/").status_code == 200


def test_agent_finds_a_customer_by_phone_and_address(county):
    agent = User.objects.get(username="agent01")
    customer = Customer.objects.filter(vulnerable_kind="").order_by("account_no")[500]
    phone = customer.phones.first().number
    assert customer in search_customers(agent, CustomerQuery(phone=phone))
    address = customer.addresses.first().address
    assert customer in search_customers(agent, CustomerQuery(address=address[6:]), limit=1000)


def test_refuses_a_non_empty_database_unless_asked_to_skip(county):
    with pytest.raises(CommandError, match="not empty"):
        call_command("seed_demo", customers=10, verbosity=0)
    call_command("seed_demo", customers=10, if_empty=True, verbosity=0)
    assert Customer.objects.count() == 1000


def test_runs_the_knowledge_seed_when_the_knowledge_app_has_one(db, monkeypatch):
    from django.core import management

    from gridcare.demo.management.commands import seed_demo

    calls = []
    real_call_command = management.call_command

    def spy(name, *args, **kwargs):
        calls.append(name)
        if name != "seed_knowledge":
            return real_call_command(name, *args, **kwargs)
        return None

    monkeypatch.setattr(
        seed_demo, "get_commands", lambda: {**management.get_commands(), "seed_knowledge": "x"}
    )
    monkeypatch.setattr(seed_demo, "call_command", spy)
    real_call_command("seed_demo", customers=20, verbosity=0)
    assert calls == ["seed_knowledge"]


def test_search_results_arrive_complete_in_one_query(county, django_assert_num_queries):
    agent = User.objects.get(username="agent01")
    from gridcare.org import scoping

    scoping.visible_unit_ids(agent)  # the scope is learnt once per request
    with_contacts = (
        Customer.objects.filter(phones__kind=CustomerPhone.Kind.CONTACT).order_by("account_no").first()
    )
    number = with_contacts.phones.get(is_primary=True).number
    with django_assert_num_queries(1):
        (found,) = search_customers(agent, CustomerQuery(phone=number))
        phones = [p.number for p in found.phones.all()]
        addresses = [a.address for a in found.addresses.all()]
        place = (found.station.name, found.transformer_area.name)
    assert found == with_contacts
    assert phones == [p.number for p in with_contacts.phones.order_by("-is_primary", "id")]
    assert phones[0] == number and len(phones) >= 2
    assert addresses == [a.address for a in with_contacts.addresses.order_by("-is_primary", "id")]
    assert place == (with_contacts.station.name, with_contacts.transformer_area.name)
    assert (
        found.opened_on == with_contacts.opened_on
        and found.contracted_capacity_kva == with_contacts.contracted_capacity_kva
    )
    # A query built on a loaded set is the ordinary related query.
    assert list(found.phones.filter(kind=CustomerPhone.Kind.CONTACT)) == list(
        with_contacts.phones.filter(kind=CustomerPhone.Kind.CONTACT)
    )
    # Name prefixes and free text read like before: LIKE wildcards typed by a person are literal.
    assert search_customers(agent, CustomerQuery(name="%")) == []
    assert search_customers(agent, CustomerQuery(q=found.name[:2]), limit=5)


def test_search_scope_edges(county):
    customer = Customer.objects.order_by("account_no").first()
    admin = User.objects.get(username="admin")
    assert search_customers(admin, CustomerQuery(account_no=customer.account_no)) == [customer]
    nobody = User.objects.create_user(username="nobody", password="x-unused-9")
    assert search_customers(nobody, CustomerQuery(account_no=customer.account_no)) == []


def test_rows_are_the_same_whether_drawn_here_or_in_worker_processes(db):
    import random

    from faker import Faker

    from gridcare.demo import population
    from gridcare.demo.county import build_county

    rng = random.Random(5)
    fake = Faker("zh_CN")
    fake.seed_instance(5)
    county = build_county(rng, fake, areas_per_feeder=2)
    pools = population.make_pools(fake, rng)
    first = dict.fromkeys(population.TABLE_KEYS, 1)
    state = rng.getstate()

    def rows(workers):
        rng.setstate(state)
        batches = population.generate(
            county, 400, pools, rng, TODAY.date(), first, 60, seed=5, workers=workers
        )
        return [(b.customers, b.phones, b.addresses, b.meters, b.contracts) for b in batches]

    here = rows(1)
    assert len(here) == 7 and sum(len(b[0]) for b in here) == 400
    assert rows(2) == here


def test_a_county_seeded_with_the_previous_password_logs_in_with_the_documented_one(db, client):
    """`python3 dev.py demo` on a database seeded before the password rules: README's password works."""
    from django.contrib.auth.hashers import make_password

    from gridcare.demo.seeding import renew_demo_password

    old = make_password("gridcare-demo")
    User.objects.create(username="admin", password=old, is_staff=True, is_superuser=True)
    User.objects.create(username="agent1", password=old)
    User.objects.create(username="changed", password=make_password("Own-chosen-phrase-77"))
    assert renew_demo_password() == 2
    for username in ("admin", "agent1"):
        assert client.post("/login/", {"username": username, "password": DEMO_PASSWORD}).status_code == 302
        client.post("/logout/")
    assert client.post("/login/", {"username": "changed", "password": DEMO_PASSWORD}).status_code == 200
    assert renew_demo_password() == 0  # once
