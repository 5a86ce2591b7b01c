"""A county generated from a scenario's parameters, deterministic per seed.

``plan_county`` draws the county as plain data (no database): one county unit with 2–4 supply
stations, substations, feeders, transformer areas of urban/rural/remote class, customers with
account numbers, a primary supply address and a mobile, a few key customers, and crews with their
members. ``write_county`` writes a plan into the database in bulk (COPY on PostgreSQL) through the
models of ``gridcare.customers``, ``gridcare.org`` and ``gridcare.repair``; the rows' ids are the
plan's indices plus the offsets it returns.

Addresses are built so that a spoken address can be placed on the topology as in life: the full
address names one customer; its compound (urban) or village group (rural) names one transformer
area; its road or village is shared by a few areas of one feeder.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import NamedTuple

from gridcare.demo import places

from .scenarios import Scenario

TOWNS = ["城关镇", "河口镇", "石桥镇", "青山乡", "龙潭镇", "柳溪乡"]
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红文辉玉萍鹏飞志永春林海燕云")
PROVINCE_CODE = "BF"


class CustomerRow(NamedTuple):
    area: int  # index into CountyPlan.areas
    account_no: str
    name: str
    mobile: str
    address: str
    is_key: bool


@dataclass(frozen=True)
class StationPlan:
    index: int
    name: str
    code: str
    town: str
    profile: str


@dataclass(frozen=True)
class FeederPlan:
    index: int
    station: int
    substation: int
    name: str
    code: str
    areas: tuple[int, ...]


@dataclass(frozen=True)
class AreaPlan:
    index: int
    feeder: int
    station: int
    name: str
    code: str
    area_class: str
    road: str  # the road (urban) or village (rural/remote) it shares with other areas of its feeder
    place: str  # its compound or village group: names this area alone
    first_customer: int
    customers: int


@dataclass(frozen=True)
class CrewPlan:
    station: int
    code: str
    name: str
    members: int
    tier: str


@dataclass
class CountyPlan:
    scenario: str
    seed: int
    county_name: str
    stations: list[StationPlan] = field(default_factory=list)
    substations: list[tuple[str, str, int]] = field(default_factory=list)  # (name, code, kV)
    feeders: list[FeederPlan] = field(default_factory=list)
    areas: list[AreaPlan] = field(default_factory=list)
    customers: list[CustomerRow] = field(default_factory=list)
    crews: list[CrewPlan] = field(default_factory=list)

    def area_customers(self, area: int) -> range:
        a = self.areas[area]
        return range(a.first_customer, a.first_customer + a.customers)

    def feeder_customers(self, feeder: int) -> list[int]:
        return [c for a in self.feeders[feeder].areas for c in self.area_customers(a)]


def _log_uniform(rng: random.Random, lo: int, hi: int) -> int:
    if hi <= lo:
        return lo
    return min(hi, max(lo, round(math.exp(rng.uniform(math.log(lo), math.log(hi + 0.999)) - 0.4999))))


def plan_county(scenario: Scenario) -> CountyPlan:
    """The county of ``scenario``: the same scenario and seed give the same plan."""
    rng = random.Random(f"county:{scenario.seed}")
    plan = CountyPlan(scenario=scenario.name, seed=scenario.seed, county_name="清河县")
    village_pool = [a + b + "村" for a in places.VILLAGE_FIRST for b in places.VILLAGE_SECOND]
    rng.shuffle(village_pool)
    feeder_words = list(places.FEEDER_WORDS)
    rng.shuffle(feeder_words)
    plan.substations.append(("清河110kV变电站", f"{PROVINCE_CODE}01X1B01", 110))
    customer = 0
    for si in range(scenario.stations):
        profile = scenario.profiles[si % len(scenario.profiles)]
        town = TOWNS[si % len(TOWNS)]
        code = f"{PROVINCE_CODE}01X1S{si + 1:02d}"
        plan.stations.append(StationPlan(si, f"{town[:-1]}供电所", code, town, profile))
        if si > 0:  # each rural township has a 35 kV substation of its own
            plan.substations.append((f"{town[:-1]}35kV变电站", f"{PROVINCE_CODE}01X1B{si + 1:02d}", 35))
        roads = [w + rng.choice(places.ROAD_SUFFIXES) for w in rng.sample(places.ROAD_WORDS, 12)]
        compounds = iter(
            f"{w}{s}" for w in rng.sample(places.COMMUNITY_WORDS, 30) for s in places.COMMUNITY_SUFFIXES
        )
        n_feeders = rng.randint(*scenario.feeders_per_station)
        area_no = 0
        for fi in range(n_feeders):
            findex = len(plan.feeders)
            area_ids: list[int] = []
            n_areas = rng.randint(*scenario.areas_per_feeder)
            # The feeder's roads (urban) or villages (rural): a few, each shared by several areas.
            shared = max(1, n_areas // 4)
            if profile == "urban":
                feeder_roads = [roads.pop() if roads else f"新{findex}路" for _ in range(min(shared, 3))]
            else:
                feeder_roads = [village_pool.pop() for _ in range(shared)]
            for ai in range(n_areas):
                area_no += 1
                road = feeder_roads[ai % len(feeder_roads)]
                if profile == "urban" and rng.random() < 0.9:
                    area_class = "urban"
                    place = f"{road}{next(compounds, f'{area_no}号院')}"
                    name = f"{place}台区"
                else:
                    area_class = "remote" if profile == "mountain" and rng.random() < 0.5 else "rural"
                    group = ai // len(feeder_roads) + 1
                    if profile == "urban":  # the town's outskirts: a village of its own
                        road = f"{road[:2]}村"
                    place = f"{road}{group}组"
                    name = f"{place}台区"
                n = _log_uniform(rng, *scenario.customers_per_area)
                aindex = len(plan.areas)
                plan.areas.append(
                    AreaPlan(
                        index=aindex,
                        feeder=findex,
                        station=si,
                        name=name,
                        code=f"{code}A{area_no:04d}",
                        area_class=area_class,
                        road=road,
                        place=place,
                        first_customer=customer,
                        customers=n,
                    )
                )
                area_ids.append(aindex)
                for k in range(n):
                    plan.customers.append(
                        _customer(rng, scenario, si, town, place, area_class, aindex, customer, k)
                    )
                    customer += 1
            plan.feeders.append(
                FeederPlan(
                    index=findex,
                    station=si,
                    substation=0 if si == 0 or fi % 3 == 2 else si,
                    name=f"10kV{feeder_words[findex % len(feeder_words)]}{'' if findex < len(feeder_words) else findex}线",
                    code=f"{code}F{fi + 1:02d}",
                    areas=tuple(area_ids),
                )
            )
        for ci in range(scenario.crews_per_station):
            plan.crews.append(
                CrewPlan(
                    station=si,
                    code=f"{code}C{ci + 1}",
                    name=f"{town[:-1]}抢修{'一二三四五六七八九'[ci % 9]}组",
                    members=scenario.members_per_crew,
                    tier="repair_team" if ci == 0 else "electrician_group",
                )
            )
    return plan


def _customer(
    rng: random.Random,
    scenario: Scenario,
    station: int,
    town: str,
    place: str,
    area_class: str,
    area: int,
    index: int,
    k: int,
) -> CustomerRow:
    name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    if area_class == "urban":
        address = f"{town}{place}{k // 24 + 1}栋{k // 6 % 4 + 1}单元{k % 6 + 1}0{rng.randint(1, 4)}室"
    else:
        address = f"{town}{place}{k + 1}号"
    return CustomerRow(
        area=area,
        account_no=f"7{station + 1}{index + 1:08d}",
        name=name,
        mobile=f"13{index + 1:09d}",
        address=address,
        is_key=rng.random() < scenario.key_share,
    )


# --- into the database ------------------------------------------------------------------------------


@dataclass
class CountyIds:
    """Database ids of the written county: row id = offset + plan index."""

    feeder: int
    area: int
    customer: int
    station_units: list[int]
    agent_id: int

    def feeder_id(self, index: int) -> int:
        return self.feeder + index

    def area_id(self, index: int) -> int:
        return self.area + index

    def customer_id(self, index: int) -> int:
        return self.customer + index


def write_county(plan: CountyPlan) -> CountyIds:
    """Write ``plan`` into the (empty) database; returns the ids. Customers, phones and addresses
    go in by COPY on PostgreSQL with their indexes rebuilt once (``gridcare.demo.bulk``)."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from gridcare.customers.models import (
        Customer,
        CustomerAddress,
        CustomerPhone,
        Feeder,
        Substation,
        TransformerArea,
    )
    from gridcare.customers.services import search_text_for
    from gridcare.demo.bulk import BulkLoader
    from gridcare.org.models import Role, RoleAssignment, Unit, User
    from gridcare.org.services import create_staff, create_unit
    from gridcare.repair.models import Crew

    loader = BulkLoader()
    with transaction.atomic():
        province = create_unit(name="压测省电力公司", code=PROVINCE_CODE, kind=Unit.Kind.PROVINCE)
        city = create_unit(
            name="压测市供电公司", code=f"{PROVINCE_CODE}01", kind=Unit.Kind.CITY, parent=province
        )
        county = create_unit(
            name=f"{plan.county_name}供电公司",
            code=f"{PROVINCE_CODE}01X1",
            kind=Unit.Kind.COUNTY,
            parent=city,
        )
        create_unit(
            name="供电服务指挥分中心",
            code=f"{PROVINCE_CODE}01X1D3",
            kind=Unit.Kind.DEPARTMENT,
            parent=county,
            function=Unit.Function.REPAIR_COMMAND,
        )
        stations, teams = [], []
        for s in plan.stations:
            station = create_unit(
                name=s.name, code=s.code, kind=Unit.Kind.STATION, parent=county, phone="95598"
            )
            team = create_unit(
                name=f"{s.name[:-3]}抢修班",
                code=f"{s.code}T1",
                kind=Unit.Kind.TEAM,
                parent=station,
                function=Unit.Function.REPAIR,
            )
            stations.append(station)
            teams.append(team)
        agent = create_staff(
            username="bench-family-agent",
            password="bench-family-not-for-login",  # noqa: S106
            full_name="压测座席",
            roles=[(Role.AGENT, city)],
        )
        create_staff(
            username="bench-family-dispatcher",
            password="bench-family-not-for-login",  # noqa: S106
            full_name="压测调度",
            roles=[(Role.DISPATCHER, county)],
        )
        # Crew members: one hash for all, bulk.
        password = make_password(None)
        members: list[tuple[CrewPlan, list[User]]] = []
        users: list[User] = []
        for crew in plan.crews:
            people = [
                User(
                    username=f"{crew.code.lower()}m{m + 1}",
                    full_name=f"{crew.name}队员{m + 1}",
                    password=password,
                )
                for m in range(crew.members)
            ]
            users.extend(people)
            members.append((crew, people))
        User.objects.bulk_create(users)
        saved = dict(
            User.objects.filter(username__in=[u.username for u in users]).values_list("username", "id")
        )
        for u in users:
            u.pk = saved[u.username]
        RoleAssignment.objects.bulk_create(
            [
                RoleAssignment(user=u, role=Role.CREW, unit=teams[crew.station])
                for crew, people in members
                for u in people
            ]
        )

        substations = [
            Substation(name=n, code=c, voltage_kv=kv, unit=county) for n, c, kv in plan.substations
        ]
        Substation.objects.bulk_create(substations)
        substations = list(
            Substation.objects.filter(code__in=[c for _n, c, _kv in plan.substations]).order_by("id")
        )
        by_code = {s.code: s for s in substations}

        first_feeder = loader.next_id(Feeder)
        Feeder.objects.bulk_create(
            [
                Feeder(
                    id=first_feeder + f.index,
                    name=f.name,
                    code=f.code,
                    substation=by_code[plan.substations[f.substation][1]],
                    unit=stations[f.station],
                )
                for f in plan.feeders
            ],
            batch_size=1000,
        )
        first_area = loader.next_id(TransformerArea)
        TransformerArea.objects.bulk_create(
            [
                TransformerArea(
                    id=first_area + a.index,
                    name=a.name,
                    code=a.code,
                    feeder_id=first_feeder + a.feeder,
                    station=stations[a.station],
                    area_class=a.area_class,
                    capacity_kva=400 if a.customers > 120 else 200 if a.customers > 40 else 100,
                )
                for a in plan.areas
            ],
            batch_size=1000,
        )
        first_customer = loader.next_id(Customer)
        first_phone = loader.next_id(CustomerPhone)
        first_address = loader.next_id(CustomerAddress)
        station_of_area = [stations[a.station].pk for a in plan.areas]
        customer_fields = [
            "id", "account_no", "name", "customer_class", "tariff_category", "transformer_area",
            "station", "is_key", "status", "search_text",
        ]  # fmt: skip
        models = [Customer, CustomerPhone, CustomerAddress]
        with loader.constraints_and_indexes_deferred(models):
            loader.write(
                Customer,
                customer_fields,
                (
                    (
                        first_customer + i,
                        c.account_no,
                        c.name,
                        "public" if c.is_key else "residential",
                        "general_business" if c.is_key else "residential_tiered",
                        first_area + c.area,
                        station_of_area[c.area],
                        c.is_key,
                        "active",
                        search_text_for(c.name, [c.address]),
                    )
                    for i, c in enumerate(plan.customers)
                ),
            )
            loader.write(
                CustomerPhone,
                ["id", "customer", "number", "kind", "is_primary"],
                (
                    (first_phone + i, first_customer + i, c.mobile, "mobile", True)
                    for i, c in enumerate(plan.customers)
                ),
            )
            loader.write(
                CustomerAddress,
                ["id", "customer", "kind", "address", "is_primary"],
                (
                    (first_address + i, first_customer + i, "supply", c.address, True)
                    for i, c in enumerate(plan.customers)
                ),
            )
        loader.finish([Feeder, TransformerArea, *models])

        for crew, people in members:
            row = Crew.objects.create(
                code=crew.code,
                name=crew.name,
                tier=crew.tier,
                station=stations[crew.station],
                team_unit=teams[crew.station],
                leader=people[0] if people else None,
                vehicle=f"抢修车{crew.code[-4:]}",
                phone="95598",
                service_area=f"{plan.stations[crew.station].name}辖区",
            )
            row.members.set(people)
            row.service_feeders.set(
                [first_feeder + f.index for f in plan.feeders if f.station == crew.station]
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Unit, User, RoleAssignment, Substation, Feeder, TransformerArea, Crew):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return CountyIds(
        feeder=first_feeder,
        area=first_area,
        customer=first_customer,
        station_units=[s.pk for s in stations],
        agent_id=agent.pk,
    )
