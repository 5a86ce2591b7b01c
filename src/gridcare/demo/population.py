"""The demo county's customers, generated cheaply in bulk.

Faker (zh_CN) runs only to build pools (surnames with their weights, given names, company
words, mobile prefixes); each customer is then a handful of ``random.Random`` draws from the
pools, so half a million customers take seconds of Python. The same seed gives the same rows.

Over 500 lines on purpose: one generator — the tables of shares, the pools, the factory's draws
for each record and the chunks run in parallel share one seed and one draw order (the same seed
must give the same rows); split, that order would be spread over several modules.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import random
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate
from operator import mul
from types import SimpleNamespace

from faker import Faker
from faker.providers.person.zh_CN import Provider as PersonProvider
from faker.providers.phone_number.zh_CN import Provider as PhoneProvider

from gridcare.customers.models import (
    AreaClass,
    Customer,
    CustomerAddress,
    CustomerPhone,
    Meter,
    SupplyContract,
)
from gridcare.customers.services import search_text_for

from . import places
from .county import AreaInfo, County


def _plain(choices) -> SimpleNamespace:
    """Choice values as plain ``str``: enum members are slow to pass around half a million times."""
    return SimpleNamespace(**{member.name: member.value for member in choices})


C = _plain(Customer.CustomerClass)
T = _plain(Customer.TariffCategory)
V = _plain(Customer.VulnerableKind)
S = _plain(Customer.Status)
A = _plain(AreaClass)
PHONE = _plain(CustomerPhone.Kind)
ADDRESS = _plain(CustomerAddress.Kind)
METER = _plain(Meter.Kind)
CONTRACT = _plain(SupplyContract.Kind)
CONTRACT_STATUS = _plain(SupplyContract.Status)

CUSTOMER_FIELDS = [
    "id", "account_no", "name", "id_number", "customer_class", "tariff_category", "load_class",
    "contracted_capacity_kva", "credit_rating", "transformer_area", "station", "account_manager",
    "is_key", "is_vip", "vulnerable_kind", "is_sensitive", "sensitive_note", "is_prepaid",
    "has_dedicated_transformer", "status", "opened_on", "search_text",
]  # fmt: skip
PHONE_FIELDS = ["id", "customer", "number", "kind", "contact_name", "is_primary"]
ADDRESS_FIELDS = ["id", "customer", "kind", "address", "is_primary"]
METER_FIELDS = [
    "id",
    "customer",
    "meter_no",
    "kind",
    "multiplier",
    "installed_on",
    "last_verified_on",
    "is_active",
]
CONTRACT_FIELDS = [
    "id",
    "customer",
    "contract_no",
    "kind",
    "signed_on",
    "expires_on",
    "last_changed_on",
    "status",
]

# Customer class shares by area class (居民 / 一般工商业 / 大工业 / 农业生产 / 公用).
CLASS_ORDER = [C.RESIDENTIAL, C.NON_RESIDENTIAL, C.LARGE_INDUSTRY, C.AGRICULTURE, C.PUBLIC]
CLASS_SHARES = {
    AreaClass.URBAN: [0.86, 0.11, 0.004, 0.002, 0.024],
    AreaClass.RURAL: [0.90, 0.05, 0.003, 0.035, 0.012],
    AreaClass.REMOTE: [0.93, 0.025, 0.001, 0.03, 0.014],
}
CLASS_CUM = {key: list(accumulate(shares)) for key, shares in CLASS_SHARES.items()}
CAPACITY = {
    C.RESIDENTIAL: [4, 4, 6, 6, 8, 10, 12],
    C.NON_RESIDENTIAL: [10, 15, 20, 30, 40, 50, 80],
    C.LARGE_INDUSTRY: [315, 400, 500, 630, 800, 1000, 1250, 1600, 2000, 2500, 3150, 4000, 5000],
    C.AGRICULTURE: [5, 10, 15, 20, 30, 50, 80, 100, 160],
    C.PUBLIC: [5, 10, 20, 30, 50, 100, 160, 250],
}
LARGE_COMMERCIAL = [100, 125, 160, 200, 250, 315, 400, 500, 630]
CREDIT = (["AAA", "AA", "A", "B", "C"], list(accumulate([0.10, 0.25, 0.55, 0.07, 0.03])))
STATUS = ([S.ACTIVE, S.SUSPENDED, S.DISCONNECTED, S.CLOSED], list(accumulate([0.965, 0.008, 0.012, 0.015])))
VULNERABLE = (
    [V.FIVE_GUARANTEES, V.ELDERLY_ALONE, V.MINIMUM_LIVING, V.DISABLED],
    [0.006, 0.012, 0.015, 0.004],
)
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass
class Pools:
    surnames: list[str]
    surname_cum: list[float]
    given: list[str]
    company_words: list[str]
    mobile_prefixes: list[str]


def make_pools(fake: Faker, rng: random.Random) -> Pools:
    surnames = list(PersonProvider.last_names)
    weights = list(PersonProvider.last_names.values())
    common = list(PersonProvider.first_names)
    chars = sorted({ch for name in common for ch in name})
    composed = sorted({rng.choice(chars) + rng.choice(chars) for _ in range(4000)})
    # Faker's common given names weigh more than composed ones, as in a real register.
    given = common * 8 + composed
    company_words = sorted({fake.company_prefix() for _ in range(300)})
    return Pools(
        surnames=surnames,
        surname_cum=list(accumulate(weights)),
        given=given,
        company_words=company_words,
        mobile_prefixes=[str(p) for p in PhoneProvider.phonenumber_prefixes],
    )


class Draw:
    """Fast draws from one ``random.Random``: ``randint``/``choice``/``choices`` cost several
    times more, and a county of 500,000 customers makes some ten million draws."""

    def __init__(self, rng: random.Random):
        self.random = rng.random

    def int(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low + 1))

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def pick(self, items):
        return items[int(self.random() * len(items))]

    def weighted(self, items, cum_weights):
        return items[bisect(cum_weights, self.random() * cum_weights[-1])]


@dataclass
class Batch:
    customers: list[tuple] = field(default_factory=list)
    phones: list[tuple] = field(default_factory=list)
    addresses: list[tuple] = field(default_factory=list)
    meters: list[tuple] = field(default_factory=list)
    contracts: list[tuple] = field(default_factory=list)


def _id_number(d: Draw, region: str, today: dt.date) -> str:
    born = today - dt.timedelta(days=d.int(20 * 365, 85 * 365))
    body = f"{region}{born:%Y%m%d}{d.below(1000):03d}"
    return body + "10X98765432"[sum(map(mul, map(int, body), ID_WEIGHTS)) % 11]


def _credit_code(d: Draw, region: str) -> str:
    return "91" + region + "".join([d.pick(CREDIT_CODE_CHARS) for _ in range(10)])


class CustomerFactory:
    """Turns (area, slot) into the rows of one customer and its phones, addresses, meter, contract."""

    def __init__(
        self, county: County, pools: Pools, rng: random.Random, today: dt.date, first_id: dict[str, int]
    ):
        # Ids follow from the customer's position (up to 3 phones and 2 addresses each), so any
        # run of customers can be generated on its own — in another process — with the same result.
        self.county = county
        self.pools = pools
        self.rng = rng
        self.draw = Draw(rng)
        self.today = today
        self.first_id = first_id

    def person_name(self) -> str:
        d = self.draw
        return d.weighted(self.pools.surnames, self.pools.surname_cum) + d.pick(self.pools.given)

    def mobile(self) -> str:
        return f"{self.draw.pick(self.pools.mobile_prefixes)}{self.draw.below(10**8):08d}"

    def supply_address(self, area: AreaInfo, residential: bool) -> str:
        d = self.draw
        station = self.county.stations[area.station]
        county_plan = places.COUNTIES[station.county]
        head = f"{places.CITY_PLACE}{county_plan.name}{station.plan.town}"
        if area.road:
            address = f"{head}{area.road}{d.int(1, 380)}号"
            if area.community and residential:
                address += (
                    f"{area.community}{d.int(1, 24)}栋{d.int(1, 4)}单元{d.int(1, 18)}{d.int(1, 4):02d}室"
                )
            return address
        group = d.pick(area.groups)
        if not group.endswith("组"):
            group += "组"
        return f"{head}{area.village}{group}{d.int(1, 120)}号"

    def mailing_address(self) -> str:
        d = self.draw
        road = d.pick(places.ROAD_WORDS) + d.pick(places.ROAD_SUFFIXES)
        district = d.pick(places.CITY_DISTRICTS)
        return f"{places.CITY_PLACE}{district}{road}{d.int(1, 600)}号{d.int(1, 30)}栋{d.int(1, 3)}单元{d.int(1, 28)}{d.int(1, 6):02d}室"

    def business_name(self, customer_class: str, area: AreaInfo) -> str:
        d = self.draw
        station = self.county.stations[area.station]
        county_name = places.COUNTIES[station.county].name
        word = d.pick(self.pools.company_words)
        if customer_class == C.NON_RESIDENTIAL:
            if d.random() < 0.5:
                return self.person_name()  # 个体工商户 are often registered under the owner's name
            return f"{station.plan.town}{word}{d.pick(places.SHOP_KINDS)}"
        if customer_class == C.LARGE_INDUSTRY:
            return f"{county_name}{word}{d.pick(places.INDUSTRIES)}有限公司"
        if customer_class == C.AGRICULTURE:
            if d.random() < 0.5:
                return self.person_name()
            return f"{area.village or station.plan.town}{d.pick(places.FARMS)}"
        if area.road and d.random() < 0.4:
            return f"{station.plan.town}{area.road}路灯"
        return f"{area.village or station.plan.town}{d.pick(places.PUBLIC_KINDS)}"

    def make(
        self, area: AreaInfo, batch: Batch, cid: int, seq: int, key: tuple[str, int, int] | None = None
    ) -> None:
        d = self.draw
        today = self.today
        station = self.county.stations[area.station]
        county_plan = places.COUNTIES[station.county]
        position = cid - self.first_id["customer"]
        account_no = f"5{station.county + 1}{station.number:02d}{seq:06d}"

        if key is not None:
            name, load_class, capacity = key
            customer_class = C.PUBLIC
        else:
            customer_class = d.weighted(CLASS_ORDER, CLASS_CUM[area.area_class])
            load_class = 3
            if customer_class == C.NON_RESIDENTIAL and d.random() < 0.08:
                capacity = d.pick(LARGE_COMMERCIAL)
            else:
                capacity = d.pick(CAPACITY[customer_class])
            if customer_class == C.LARGE_INDUSTRY and d.random() < 0.6:
                load_class = 2
            name = (
                self.person_name()
                if customer_class == C.RESIDENTIAL
                else self.business_name(customer_class, area)
            )
        residential = customer_class == C.RESIDENTIAL
        if residential:
            tariff = T.RESIDENTIAL_TOU if d.random() < 0.2 else T.RESIDENTIAL_TIERED
        else:
            tariff = {
                C.LARGE_INDUSTRY: T.LARGE_INDUSTRY_TWO_PART,
                C.AGRICULTURE: T.AGRICULTURE,
            }.get(customer_class, T.GENERAL_BUSINESS)
        large = capacity >= 100
        manager_id = None
        if large:
            managers = self.county.account_managers[station.county]
            manager_id = managers[cid % len(managers)].pk
        vulnerable = ""
        if residential:
            factor = 0.5 if area.area_class == A.URBAN else 1.0
            x = d.random()
            for kind, share in zip(*VULNERABLE, strict=True):
                if x < share * factor:
                    vulnerable = kind
                    break
                x -= share * factor
        is_key = key is not None
        is_vip = (
            (is_key and d.random() < 0.5)
            or (customer_class == C.LARGE_INDUSTRY and d.random() < 0.3)
            or (large and d.random() < 0.1)
            or d.random() < 0.0005
        )
        sensitive_note = d.pick(places.SENSITIVE_NOTES) if d.random() < 0.003 else ""
        prepaid = (residential and d.random() < (0.2 if area.road else 0.1)) or (
            customer_class == C.NON_RESIDENTIAL and not large and d.random() < 0.1
        )
        status = S.ACTIVE if is_key else d.weighted(*STATUS)
        opened = today - dt.timedelta(days=d.int(60, 30 * 365))
        id_number = (
            _id_number(d, county_plan.id_region, today)
            if residential
            else _credit_code(d, county_plan.id_region)
        )

        supply = self.supply_address(area, residential)
        addresses = [supply]
        batch.addresses.append((self.first_id["address"] + 2 * position, cid, ADDRESS.SUPPLY, supply, True))
        if d.random() < 0.15:
            mailing = self.mailing_address()
            addresses.append(mailing)
            address_id = self.first_id["address"] + 2 * position + 1
            batch.addresses.append((address_id, cid, ADDRESS.MAILING, mailing, False))

        batch.customers.append(
            (
                cid, account_no, name, id_number, customer_class, tariff, load_class, Decimal(capacity),
                d.weighted(*CREDIT), area.pk, station.unit.pk, manager_id,
                is_key, is_vip, vulnerable, bool(sensitive_note), sensitive_note, prepaid, large, status,
                opened, search_text_for(name, addresses),
            )
        )  # fmt: skip

        # Phones: 1–3; mostly mobiles, some rural households only have a landline.
        x = d.random()
        count = 1 if x < 0.6 else 2 if x < 0.9 else 3
        for n in range(count):
            if n == 0 and area.village and d.random() < 0.06:
                number, kind = (
                    f"{county_plan.landline_prefix}{d.below(10**6):06d}",
                    PHONE.LANDLINE,
                )
            else:
                number, kind = self.mobile(), PHONE.MOBILE
            contact = ""
            if n > 0:
                kind = PHONE.CONTACT
                contact = f"{d.pick(places.CONTACT_RELATIONS)} {self.person_name()}"
            batch.phones.append(
                (self.first_id["phone"] + 3 * position + n, cid, number, kind, contact, n == 0)
            )

        mid = self.first_id["meter"] + position
        if large:
            meter_kind, multiplier = METER.HIGH_VOLTAGE, d.pick([20, 30, 40, 50, 75, 100, 150, 200])
        elif residential:
            meter_kind, multiplier = METER.SINGLE_PHASE, 1
        else:
            meter_kind, multiplier = METER.THREE_PHASE, d.pick([1, 1, 1, 5, 10, 20])
        installed = max(opened, today - dt.timedelta(days=d.int(365, 11 * 365)))
        verified = installed if not large else max(installed, today - dt.timedelta(days=d.int(30, 5 * 365)))
        batch.meters.append(
            (
                mid,
                cid,
                f"52{station.county + 1}0{mid:012d}",
                meter_kind,
                multiplier,
                installed,
                verified,
                status != S.CLOSED,
            )
        )

        if residential:
            contract_kind, signed, expires = CONTRACT.RESIDENTIAL, opened, None
        else:
            if d.random() < 0.01:
                contract_kind = CONTRACT.TEMPORARY
                expires = today + dt.timedelta(days=d.int(-30, 330))
                signed = expires - dt.timedelta(days=365)
            else:
                contract_kind = CONTRACT.HIGH_VOLTAGE if large else CONTRACT.LOW_VOLTAGE
                expires = today + dt.timedelta(days=d.int(-60, 5 * 365))  # some due for renewal
                signed = max(opened, expires - dt.timedelta(days=5 * 365))
        if status == S.CLOSED:
            contract_status = CONTRACT_STATUS.TERMINATED
        elif expires is not None and expires < today:
            contract_status = CONTRACT_STATUS.EXPIRED
        else:
            contract_status = CONTRACT_STATUS.ACTIVE
        changed = (
            signed + dt.timedelta(days=d.int(0, max(0, (today - signed).days))) if d.random() < 0.1 else None
        )
        batch.contracts.append(
            (
                self.first_id["contract"] + position, cid, f"GY{station.county + 1}{station.number:02d}{signed:%Y}{cid:08d}",
                contract_kind, signed, expires, changed, contract_status,
            )
        )  # fmt: skip


def key_customer_slots(county: County, count: int) -> list[tuple[AreaInfo, tuple[str, int, int]]]:
    """The first ``count`` 重要客户 (county hospitals, water works, government …, then the towns')."""
    slots: list[tuple[AreaInfo, tuple[str, int, int]]] = []
    by_station: dict[int, list[AreaInfo]] = {}
    for area in county.areas:
        by_station.setdefault(area.station, []).append(area)
    county_lists: list[list] = []
    for ci, plan in enumerate(places.COUNTIES):
        town_station = next(i for i, s in enumerate(county.stations) if s.county == ci)
        items = [
            (
                by_station[town_station][k % len(by_station[town_station])],
                (pattern.format(county=plan.name), lc, kva),
            )
            for k, (pattern, lc, kva) in enumerate(places.KEY_CUSTOMERS_COUNTY)
        ]
        for si, station in enumerate(county.stations):
            if station.county == ci and station.plan.profile != "urban":
                items += [
                    (by_station[si][k], (pattern.format(town=station.plan.town), lc, kva))
                    for k, (pattern, lc, kva) in enumerate(places.KEY_CUSTOMERS_TOWN)
                ]
        county_lists.append(items)
    # Interleave the counties so a small demo still has key customers in each of them.
    for k in range(max(len(items) for items in county_lists)):
        for items in county_lists:
            if k < len(items):
                slots.append(items[k])
    return slots[:count]


AREA_WEIGHT = {AreaClass.URBAN: 2.0, AreaClass.RURAL: 1.0, AreaClass.REMOTE: 0.4}


@dataclass
class Chunk:
    """A run of consecutive customers: which areas, and where their ids and account numbers start."""

    number: int
    slots: list[tuple[int, int, int, tuple[str, int, int] | None]]  # (area index, cid, seq, key)


@dataclass
class _Context:
    county: County
    pools: Pools
    today: dt.date
    first_id: dict[str, int]
    seed: int


_context: _Context | None = None


def _set_context(context: _Context) -> None:
    global _context
    _context = context


def _generate_chunk(chunk: Chunk) -> Batch:
    context = _context
    assert context is not None
    rng = random.Random(f"{context.seed}/{chunk.number}")
    factory = CustomerFactory(context.county, context.pools, rng, context.today, context.first_id)
    batch = Batch()
    areas = context.county.areas
    for area_index, cid, seq, key in chunk.slots:
        factory.make(areas[area_index], batch, cid, seq, key)
    return batch


def plan_chunks(
    county: County, total: int, rng: random.Random, first_customer_id: int, size: int
) -> list[Chunk]:
    """Spread ``total`` customers over the 台区 (key customers first) and cut them into chunks."""
    keys = key_customer_slots(county, min(max(1, total // 200), total))
    keyed: dict[int, list[tuple[str, int, int]]] = {}
    for area, key in keys:
        keyed.setdefault(area.pk, []).append(key)
    cum = list(accumulate(AREA_WEIGHT[a.area_class] for a in county.areas))
    counts = [0] * len(county.areas)
    for index in rng.choices(range(len(county.areas)), cum_weights=cum, k=total - len(keys)):
        counts[index] += 1
    station_seq = [0] * len(county.stations)
    chunks: list[Chunk] = []
    slots: list[tuple[int, int, int, tuple[str, int, int] | None]] = []
    cid = first_customer_id
    for index, (area, count) in enumerate(zip(county.areas, counts, strict=True)):
        for key in [*keyed.get(area.pk, []), *([None] * count)]:
            station_seq[area.station] += 1
            slots.append((index, cid, station_seq[area.station], key))
            cid += 1
            if len(slots) >= size:
                chunks.append(Chunk(number=len(chunks), slots=slots))
                slots = []
    if slots:
        chunks.append(Chunk(number=len(chunks), slots=slots))
    return chunks


def generate(
    county: County,
    total: int,
    pools: Pools,
    rng: random.Random,
    today: dt.date,
    first_id: dict[str, int],
    batch_size: int,
    *,
    seed: int,
    workers: int = 1,
) -> Iterator[Batch]:
    """Yield batches of rows for ``total`` customers spread over the county's 台区.

    Each batch is drawn from its own ``Random(f"{seed}/{n}")``, so the county is the same whether
    the batches are generated here or by ``workers`` forked processes (while this one writes).
    """
    chunks = plan_chunks(county, total, rng, first_id["customer"], batch_size)
    context = _Context(county=county, pools=pools, today=today, first_id=first_id, seed=seed)
    if workers > 1 and len(chunks) > 1:
        with multiprocessing.get_context("fork").Pool(workers, _set_context, (context,)) as pool:
            yield from pool.imap(_generate_chunk, chunks)
        return
    _set_context(context)
    for chunk in chunks:
        yield _generate_chunk(chunk)


MODELS = [Customer, CustomerPhone, CustomerAddress, Meter, SupplyContract]
TABLE_KEYS = {
    "customer": Customer,
    "phone": CustomerPhone,
    "address": CustomerAddress,
    "meter": Meter,
    "contract": SupplyContract,
}
