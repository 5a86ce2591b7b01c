"""Build the demo county: organization, staff, topology and N customers, deterministic per seed."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from faker import Faker

from gridcare.core import clock
from gridcare.customers.models import Customer
from gridcare.org.models import Unit, User

from . import population
from .bulk import BulkLoader
from .county import build_county

DEFAULT_SEED = 95598
DEFAULT_CUSTOMERS = 20_000
BATCH_SIZE = 10_000


class NotEmpty(Exception):
    """The database already holds an organization or customers."""


@dataclass
class SeedReport:
    customers: int
    units: int
    staff: int
    areas: int
    seconds: float


def database_is_empty() -> bool:
    return not (Unit.objects.exists() or Customer.objects.exists())


# The demo password before the password rules of issue #14 (12+ characters, not only project words).
PREVIOUS_DEMO_PASSWORD = "gridcare-demo"  # noqa: S105


def renew_demo_password() -> int:
    """Give the accounts of a county seeded with the previous demo password the documented one
    (``county.DEMO_PASSWORD``), so an existing demo database still logs in as README.md says.
    The county gives every account one shared hash; an account whose password was changed since
    is left alone. Returns the number of accounts renewed."""
    from django.contrib.auth.hashers import check_password, make_password

    from .county import DEMO_PASSWORD

    admin = User.objects.filter(username="admin").only("password").first()
    if admin is None or not check_password(PREVIOUS_DEMO_PASSWORD, admin.password):
        return 0
    return User.objects.filter(password=admin.password).update(password=make_password(DEMO_PASSWORD))


def seed_demo_county(
    *,
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Seed an empty database. Raises ``NotEmpty`` when units or customers already exist."""
    started = time.perf_counter()
    say = progress or (lambda _message: None)
    if not database_is_empty():
        raise NotEmpty("the database already holds units or customers")
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    today = timezone.localdate(clock.now())
    loader = BulkLoader()
    with transaction.atomic():
        # ~20 台区 per feeder (~3,000 in all); a tiny county (tests, smoke runs) gets fewer.
        county = build_county(rng, fake, areas_per_feeder=max(2, min(20, customers // 150)))
        say(f"organization, {len(county.staff)} staff and {len(county.areas)} transformer areas ready")
        pools = population.make_pools(fake, rng)
        first_id = {name: loader.next_id(model) for name, model in population.TABLE_KEYS.items()}
        written = 0
        with loader.constraints_and_indexes_deferred(population.MODELS, say):
            # Big counties on PostgreSQL: forked processes draw the rows while this one writes.
            workers = min(2, os.cpu_count() or 1) if customers >= 50_000 and loader.is_postgresql else 1
            batches = population.generate(
                county, customers, pools, rng, today, first_id, BATCH_SIZE, seed=seed, workers=workers
            )
            for batch in batches:
                loader.write(population.Customer, population.CUSTOMER_FIELDS, batch.customers)
                loader.write(population.CustomerPhone, population.PHONE_FIELDS, batch.phones)
                loader.write(population.CustomerAddress, population.ADDRESS_FIELDS, batch.addresses)
                loader.write(population.Meter, population.METER_FIELDS, batch.meters)
                loader.write(population.SupplyContract, population.CONTRACT_FIELDS, batch.contracts)
                written += len(batch.customers)
                if written % 100_000 < BATCH_SIZE or written == customers:
                    say(f"{written:,} customers written ({time.perf_counter() - started:.0f} s)")
            say(f"rows written in {time.perf_counter() - started:.0f} s; rebuilding indexes and foreign keys")
        loader.finish(population.MODELS)
    return SeedReport(
        customers=written,
        units=Unit.objects.count(),
        staff=User.objects.count(),
        areas=len(county.areas),
        seconds=time.perf_counter() - started,
    )
