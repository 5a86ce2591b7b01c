"""The demo county's organization, staff and grid topology (a few thousand rows, built with the ORM).

The customers that hang on this topology are generated in bulk by ``population``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from faker import Faker

from gridcare.customers.models import AreaClass, Feeder, Substation, TransformerArea
from gridcare.org.models import Role, RoleAssignment, Unit, User
from gridcare.org.services import create_unit

from . import places

# The documented password of every demo account; it passes the password rules (12+ characters,
# not only project words).
DEMO_PASSWORD = "gridcare-demo-shift"  # noqa: S105
Kind = Unit.Kind
Function = Unit.Function


@dataclass
class AreaInfo:
    """What the customer generator needs to know about one 台区."""

    pk: int
    county: int
    station: int  # index into County.stations
    area_class: str
    road: str = ""  # urban: the road the area's customers live on
    community: str = ""  # urban: the residential compound, if any
    village: str = ""  # rural/mountain: the village
    groups: list[str] = field(default_factory=list)  # rural/mountain: its 村民小组


@dataclass
class StationInfo:
    unit: Unit
    plan: places.StationPlan
    county: int
    number: int  # 1-based within its county, used in account numbers
    grid_managers: list[User] = field(default_factory=list)
    villages: list[str] = field(default_factory=list)
    roads: list[str] = field(default_factory=list)


@dataclass
class County:
    province: Unit
    city: Unit
    counties: list[Unit] = field(default_factory=list)
    stations: list[StationInfo] = field(default_factory=list)
    account_managers: dict[int, list[User]] = field(default_factory=dict)  # county index → managers
    areas: list[AreaInfo] = field(default_factory=list)
    staff: dict[str, User] = field(default_factory=dict)


def _unit(name: str, code: str, kind: str, parent: Unit | None, function: str = "", phone: str = "") -> Unit:
    return create_unit(name=name, code=code, kind=kind, parent=parent, function=function, phone=phone)


class _Staff:
    """Collects demo accounts and writes them in two bulk inserts (one password hash for all)."""

    def __init__(self, fake: Faker):
        self.fake = fake
        self.password = make_password(DEMO_PASSWORD)
        self.users: list[User] = []
        self.roles: list[tuple[User, str, Unit]] = []
        self.names: set[str] = set()

    def add(self, username: str, roles: list[tuple[str, Unit]], *, full_name: str = "", **extra) -> User:
        while not full_name or full_name in self.names:
            full_name = self.fake.name()
        self.names.add(full_name)
        user = User(
            username=username,
            password=self.password,
            full_name=full_name,
            employee_no=f"QL{len(self.users) + 1:05d}",
            mobile=self.fake.phone_number(),
            **extra,
        )
        self.users.append(user)
        self.roles.extend((user, role, unit) for role, unit in roles)
        return user

    def save(self) -> None:
        User.objects.bulk_create(self.users, batch_size=500)
        saved = {u.username: u for u in User.objects.filter(username__in=[u.username for u in self.users])}
        for user in self.users:
            user.pk = saved[user.username].pk
        RoleAssignment.objects.bulk_create(
            [RoleAssignment(user=user, role=role, unit=unit) for user, role, unit in self.roles],
            batch_size=500,
        )


def build_county(rng: random.Random, fake: Faker, areas_per_feeder: int = 20) -> County:
    province = _unit(places.PROVINCE_NAME, "QL", Kind.PROVINCE, None, phone="95598")
    city = _unit(places.CITY_NAME, "QL01", Kind.CITY, province, phone="08598195598")
    county = County(province=province, city=city)
    staff = _Staff(fake)

    # City departments (客户服务中心 with its 95598 seats, 供电服务指挥中心 …, as in docs/org.md).
    service_center = _unit("客户服务中心", "QL01D01", Kind.DEPARTMENT, city, Function.CUSTOMER_SERVICE)
    _unit("95598座席班", "QL01D01T1", Kind.TEAM, service_center, Function.HOTLINE)
    _unit("客户信息组", "QL01D01T2", Kind.TEAM, service_center, Function.CUSTOMER_INFO)
    _unit("电费核算组", "QL01D01T3", Kind.TEAM, service_center, Function.BILLING)
    _unit("稽查组", "QL01D01T4", Kind.TEAM, service_center, Function.AUDIT)
    _unit("供电服务指挥中心", "QL01D02", Kind.DEPARTMENT, city, Function.REPAIR_COMMAND)
    _unit("电能计量中心", "QL01D03", Kind.DEPARTMENT, city, Function.METERING)

    # Staff of the city. A role is held at the unit whose subtree the person works on, so the
    # 95598 agents, shift leaders and the dispatcher hold theirs at the city (they see every station).
    staff.add("admin", [(Role.ADMIN, city)], is_staff=True, is_superuser=True)
    # 三员分立: accounts and roles, and the audit log, each with its own administrator.
    staff.add("secadmin", [(Role.SECURITY_ADMIN, city)], is_staff=True)
    staff.add("auditadmin", [(Role.AUDIT_ADMIN, city)], is_staff=True)
    staff.add("agent01", [(Role.AGENT, city)])
    for n in range(2, 13):
        staff.add(f"agent{n:02d}", [(Role.AGENT, city)])
    staff.add("leader01", [(Role.SHIFT_LEADER, city), (Role.AGENT, city)])
    staff.add("leader02", [(Role.SHIFT_LEADER, city), (Role.AGENT, city)])
    staff.add("dispatch01", [(Role.DISPATCHER, city)])
    staff.add("billing01", [(Role.BILLING_CLERK, city)])
    staff.add("auditor02", [(Role.AUDITOR, city)])
    staff.add("qc01", [(Role.INSPECTOR, city)])
    staff.add("kb01", [(Role.KNOWLEDGE_EDITOR, city)])
    staff.add("chief01", [(Role.MANAGER, city)])

    substations: list[Substation] = []
    feeder_plan: list[tuple[Feeder, int]] = []  # (feeder, station index)
    village_pool = [a + b for a in places.VILLAGE_FIRST for b in places.VILLAGE_SECOND]
    rng.shuffle(village_pool)
    for ci, plan in enumerate(places.COUNTIES, start=1):
        code = f"QL01X{ci}"
        county_unit = _unit(plan.company, code, Kind.COUNTY, city, phone=f"{plan.landline_prefix}11000")
        county.counties.append(county_unit)
        branch = _unit("客户服务分中心", f"{code}D1", Kind.DEPARTMENT, county_unit, Function.CUSTOMER_SERVICE)
        _unit("客户经理组", f"{code}D1T1", Kind.TEAM, branch, Function.ACCOUNT_MANAGERS)
        _unit("业务受理组", f"{code}D1T2", Kind.TEAM, branch, Function.BUSINESS)
        _unit("电能计量组", f"{code}D1T3", Kind.TEAM, branch, Function.METERING)
        _unit("电费核算组", f"{code}D1T4", Kind.TEAM, branch, Function.BILLING)
        _unit("稽查组", f"{code}D2", Kind.DEPARTMENT, county_unit, Function.AUDIT)
        _unit("供电服务指挥分中心", f"{code}D3", Kind.DEPARTMENT, county_unit, Function.REPAIR_COMMAND)

        # Three account managers per county serve its ≥100 kVA customers (a real county: 720 by 3 managers).
        county.account_managers[ci - 1] = [
            staff.add(f"manager{(ci - 1) * 3 + n:02d}", [(Role.ACCOUNT_MANAGER, county_unit)])
            for n in (1, 2, 3)
        ]
        staff.add(("auditor01", "auditor03", "auditor04")[ci - 1], [(Role.AUDITOR, county_unit)])
        staff.add(f"dispatch{ci + 1:02d}", [(Role.DISPATCHER, county_unit)])
        staff.add(f"metering{ci:02d}", [(Role.METERING, county_unit)])
        staff.add(f"billing{ci + 1:02d}", [(Role.BILLING_CLERK, county_unit)])
        # 营业厅收费员 at the county's service hall: counter payments only.
        staff.add(f"cashier{ci:02d}", [(Role.CASHIER, county_unit)])
        staff.add(f"chief{ci + 1:02d}", [(Role.MANAGER, county_unit)])

        # Substations: the county town's 110 kV ones and a 35 kV one in each rural township.
        town_subs: dict[str, Substation] = {}
        main_subs = []
        for si, sp in enumerate(plan.stations, start=1):
            if sp.profile == "urban":
                if len(main_subs) < 2:
                    main_subs.append(
                        Substation(
                            name=f"{sp.name}110kV变电站",
                            code=f"{code}B{si:02d}",
                            voltage_kv=110,
                            unit=county_unit,
                        )
                    )
            else:
                town_subs[sp.name] = Substation(
                    name=f"{sp.name}35kV变电站", code=f"{code}B{si:02d}", voltage_kv=35, unit=county_unit
                )
        Substation.objects.bulk_create([*main_subs, *town_subs.values()])
        substations.extend([*main_subs, *town_subs.values()])

        for si, sp in enumerate(plan.stations, start=1):
            scode = f"{code}S{si:02d}"
            station = _unit(
                f"{sp.name}供电所",
                scode,
                Kind.STATION,
                county_unit,
                phone=f"{plan.landline_prefix}{si:02d}110",
            )
            repair = _unit(f"{sp.name}抢修班", f"{scode}T1", Kind.TEAM, station, Function.REPAIR)
            _unit(f"{sp.name}营业班", f"{scode}T2", Kind.TEAM, station, Function.BUSINESS)
            info = StationInfo(unit=station, plan=sp, county=ci - 1, number=si)
            county.stations.append(info)
            n_station = len(county.stations)
            staff.add(f"clerk{n_station:02d}", [(Role.BUSINESS_CLERK, station)])  # works at 营业班
            staff.add(f"head{n_station:02d}", [(Role.MANAGER, station)])
            for k in range(3):
                staff.add(f"crew{(n_station - 1) * 3 + k + 1:02d}", [(Role.CREW, repair)])
            grid_count = 6 if sp.profile == "urban" else 4
            info.grid_managers = [
                staff.add(f"grid{n_station:02d}{k + 1:02d}", [(Role.ACCOUNT_MANAGER, station)])
                for k in range(grid_count)
            ]
            sources = main_subs if sp.profile == "urban" else [town_subs[sp.name], *main_subs[:1]]
            words = rng.sample(places.FEEDER_WORDS, sp.feeders)
            for fi in range(sp.feeders):
                sub = sources[0] if fi < sp.feeders - 1 or len(sources) == 1 else sources[1]
                feeder = Feeder(
                    name=f"10kV{words[fi]}线", code=f"{scode}F{fi + 1:02d}", substation=sub, unit=station
                )
                feeder_plan.append((feeder, len(county.stations) - 1))
            if sp.profile == "urban":
                info.roads = [w + rng.choice(places.ROAD_SUFFIXES) for w in rng.sample(places.ROAD_WORDS, 14)]
                info.villages = [village_pool.pop() + "村" for _ in range(3)]  # the town's outskirts
            else:
                info.villages = [
                    village_pool.pop() + "村" for _ in range(12 if sp.profile == "rural" else 10)
                ]

    staff.save()
    county.staff = {u.username: u for u in staff.users}
    Feeder.objects.bulk_create([f for f, _ in feeder_plan], batch_size=500)
    _build_areas(county, feeder_plan, rng, areas_per_feeder)
    return county


def _build_areas(
    county: County, feeder_plan: list[tuple[Feeder, int]], rng: random.Random, areas_per_feeder: int
) -> None:
    """台区 along each feeder; urban ones on roads and compounds, rural ones in villages."""
    rows: list[TransformerArea] = []
    infos: list[AreaInfo] = []
    per_station: dict[int, int] = {}
    for feeder, si in feeder_plan:
        station = county.stations[si]
        profile = station.plan.profile
        for _ in range(areas_per_feeder):
            per_station[si] = per_station.get(si, 0) + 1
            n = per_station[si]
            info = AreaInfo(pk=0, county=station.county, station=si, area_class=AreaClass.RURAL)
            if profile == "urban" and rng.random() < 0.9:
                info.area_class = AreaClass.URBAN
                info.road = rng.choice(station.roads)
                if rng.random() < 0.55:
                    info.community = rng.choice(places.COMMUNITY_WORDS) + rng.choice(
                        places.COMMUNITY_SUFFIXES
                    )
                    name = f"{info.community}{rng.randint(1, 6)}号台区"
                else:
                    name = f"{info.road}{rng.randint(1, 9)}号公变台区"
                capacity = rng.choice([400, 630, 630, 800])
            else:
                info.village = rng.choice(station.villages)
                if profile == "mountain" and rng.random() < 0.5:
                    info.area_class = AreaClass.REMOTE
                    info.groups = rng.sample(places.MOUNTAIN_GROUPS, 2)
                else:
                    first = rng.randint(1, 10)
                    info.groups = [f"{g}组" for g in range(first, first + 3)]
                name = f"{info.village}{info.groups[0]}台区"
                capacity = rng.choice([50, 100, 200, 200, 315])
            rows.append(
                TransformerArea(
                    name=name,
                    code=f"{station.unit.code}A{n:04d}",
                    feeder=feeder,
                    station=station.unit,
                    area_class=info.area_class,
                    capacity_kva=capacity,
                    grid_manager=station.grid_managers[n % len(station.grid_managers)],
                )
            )
            infos.append(info)
    TransformerArea.objects.bulk_create(rows, batch_size=1000)
    codes = {a.code: a.pk for a in TransformerArea.objects.only("id", "code")}
    for row, info in zip(rows, infos, strict=True):
        info.pk = codes[row.code]
    county.areas = infos
