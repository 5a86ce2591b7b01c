"""The storm family's scenarios: one dataclass per scenario, a county and a storm drawn from it.

Every number here describes the *world* (the county's shape, how its customers call, how many
crews it has). Nothing here is a parameter of the analysis: GridCare's analysis runs with the same
settings (``RepairSetting`` as the database holds it) in every scenario.

The development scenarios (``DEV``) may be looked at while the analysis is worked on. The
held-out ones (``HELD_OUT``, run only with ``--held-out``) have other shapes and seeds and are
meant to be run once at the end, to check that what holds on ``DEV`` was not fitted to it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

Range = tuple[float, float]
IntRange = tuple[int, int]


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    about: str
    # --- the county -------------------------------------------------------------------------
    stations: int = 3  # 2–4 supply stations (供电所) in one county
    profiles: tuple[str, ...] = ("urban", "rural", "mountain")  # station i has profiles[i % len]
    feeders_per_station: IntRange = (4, 6)
    areas_per_feeder: IntRange = (10, 20)  # transformer areas (台区) on a feeder
    customers_per_area: IntRange = (40, 160)  # drawn log-uniformly per area
    key_share: float = 0.006  # key customers (重要客户)
    crews_per_station: int = 3
    members_per_crew: int = 2
    # --- the storm ----------------------------------------------------------------------------
    minutes: int = 60  # calls arrive within this simulated time
    feeder_faults: int = 3
    area_faults: int = 8  # single faulted transformers, each on a healthy feeder where possible
    area_clusters: int = 0  # healthy feeders with 2–3 faulted transformers each
    stagger_minutes: float = 35.0  # faults start uniformly within [0, stagger] minutes
    call_p: Range = (0.08, 0.20)  # per-customer calling probability, drawn per faulted device
    area_call_p: Range | None = None  # the same for faulted transformers, if not call_p
    delay: str = "lognormal"  # calling delay after the fault: "lognormal" or "exp"
    delay_mean_minutes: float = 8.0
    delay_sigma: float = 0.8  # lognormal only (σ of the underlying normal)
    late_feeders: int = 0  # faulted feeders whose first calls come from 2–3 areas only …
    late_lag_minutes: Range = (8.0, 20.0)  # … the other areas start calling this much later
    lone_rate: float = 0.0004  # lone customer-side faults per customer per hour, at volume 1×
    volume: float = 1.0  # storm volume multiplier of the lone faults (1×–12×)
    no_account_share: float = 0.05  # callers giving no account number (phone + spoken address)
    repeat_share: float = 0.06  # callers who call a second time
    hazard_share: float = 0.0  # calls reporting a hazard (line down, sparks)

    @property
    def gated(self) -> bool:
        """Targets apply where the faulted devices' customers call at ≥ 5 %."""
        return min(self.call_p[0], (self.area_call_p or self.call_p)[0]) >= 0.05 - 1e-9

    def describe(self) -> str:
        """Every parameter but the name and the description, as one line."""
        return " ".join(
            f"{f.name}={_fmt(getattr(self, f.name))}" for f in fields(self) if f.name not in ("name", "about")
        )


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return (
            "–".join(_fmt(v) for v in value)
            if all(not isinstance(v, str) for v in value)
            else "/".join(value)
        )
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


DEV: tuple[Scenario, ...] = (
    Scenario(
        name="shaped-county",
        seed=1501,
        about="the county of issue 15: areas of ~100 customers, 20 per feeder; a feeder fault brings "
        "10–13 callers per area over an hour (a faulted transformer's own customers call more: 15–30 %); "
        "22 area and 8 feeder faults at once; lone faults",
        stations=3,
        profiles=("urban", "rural", "rural"),
        feeders_per_station=(7, 7),
        areas_per_feeder=(20, 20),
        customers_per_area=(90, 110),
        feeder_faults=8,
        area_faults=22,
        stagger_minutes=5,
        call_p=(0.10, 0.13),
        area_call_p=(0.15, 0.30),
        delay="lognormal",
        delay_mean_minutes=18,
        delay_sigma=0.9,
        lone_rate=0.0005,
        volume=4,
        no_account_share=0.05,
    ),
    Scenario(
        name="faint-calls",
        seed=1502,
        about="few customers call (3–5 %): big areas, long feeders (not gated: below 5 %)",
        stations=2,
        profiles=("urban", "rural"),
        feeders_per_station=(4, 5),
        areas_per_feeder=(20, 30),
        customers_per_area=(100, 200),
        feeder_faults=3,
        area_faults=6,
        call_p=(0.03, 0.05),
        lone_rate=0.0003,
        volume=2,
    ),
    Scenario(
        name="tiny-areas",
        seed=1503,
        about="mountain areas of 5–20 customers, 25–40 per feeder, who call a lot (20–40 %)",
        stations=3,
        profiles=("mountain", "mountain", "rural"),
        feeders_per_station=(3, 4),
        areas_per_feeder=(25, 40),
        customers_per_area=(5, 20),
        feeder_faults=3,
        area_faults=10,
        call_p=(0.20, 0.40),
        delay_mean_minutes=6,
        lone_rate=0.0006,
        volume=3,
        no_account_share=0.08,
    ),
    Scenario(
        name="big-transformers",
        seed=1504,
        about="urban transformers of 250–400 customers, only 5–8 per feeder; 5–10 % call",
        stations=2,
        profiles=("urban", "urban"),
        feeders_per_station=(6, 8),
        areas_per_feeder=(5, 8),
        customers_per_area=(250, 400),
        feeder_faults=3,
        area_faults=10,
        call_p=(0.05, 0.10),
        lone_rate=0.0004,
        volume=3,
    ),
    Scenario(
        name="clustered-transformers",
        seed=1505,
        about="two or three faulted transformers on one healthy feeder, six times over",
        stations=3,
        feeders_per_station=(4, 5),
        areas_per_feeder=(10, 20),
        customers_per_area=(50, 150),
        feeder_faults=2,
        area_faults=4,
        area_clusters=6,
        call_p=(0.08, 0.20),
        lone_rate=0.0004,
        volume=2,
    ),
    Scenario(
        name="late-areas",
        seed=1506,
        about="feeders whose first calls come from two or three areas; the others call 10–25 min later",
        stations=3,
        profiles=("urban", "rural", "rural"),
        feeders_per_station=(3, 4),
        areas_per_feeder=(15, 25),
        customers_per_area=(60, 120),
        feeder_faults=5,
        late_feeders=5,
        late_lag_minutes=(10, 25),
        area_faults=6,
        call_p=(0.06, 0.15),
        lone_rate=0.0004,
        volume=3,
    ),
    Scenario(
        name="no-account",
        seed=1507,
        about="35 % of callers give no account number: a phone and a spoken address",
        stations=2,
        profiles=("urban", "rural"),
        feeders_per_station=(4, 5),
        areas_per_feeder=(10, 18),
        customers_per_area=(40, 140),
        feeder_faults=3,
        area_faults=8,
        call_p=(0.10, 0.25),
        no_account_share=0.35,
        lone_rate=0.0004,
        volume=3,
    ),
    Scenario(
        name="lone-flood-12x",
        seed=1508,
        about="12× the usual customer-side faults beside a moderate storm",
        stations=3,
        feeders_per_station=(3, 5),
        areas_per_feeder=(10, 20),
        customers_per_area=(60, 180),
        feeder_faults=3,
        area_faults=6,
        call_p=(0.05, 0.15),
        lone_rate=0.0005,
        volume=12,
    ),
    Scenario(
        name="quiet-1x",
        seed=1509,
        about="an ordinary hour: one feeder and three transformers down, everyone else quiet",
        stations=2,
        profiles=("rural", "mountain"),
        feeders_per_station=(3, 4),
        areas_per_feeder=(8, 15),
        customers_per_area=(20, 120),
        feeder_faults=1,
        area_faults=3,
        call_p=(0.15, 0.40),
        lone_rate=0.0004,
        volume=1,
    ),
    Scenario(
        name="scarce-crews",
        seed=1510,
        about="one crew of one member per station while 14 devices fail within 20 minutes",
        stations=3,
        feeders_per_station=(3, 5),
        areas_per_feeder=(8, 16),
        customers_per_area=(40, 140),
        crews_per_station=1,
        members_per_crew=1,
        feeder_faults=4,
        area_faults=10,
        stagger_minutes=20,
        call_p=(0.10, 0.30),
        lone_rate=0.0004,
        volume=4,
        hazard_share=0.01,
    ),
    Scenario(
        name="wide-thin-feeders",
        seed=1511,
        about="35–40 areas of 30–80 customers per feeder, 5–8 % calling: each area ≤ 12 % thin",
        stations=2,
        profiles=("rural", "rural"),
        feeders_per_station=(3, 4),
        areas_per_feeder=(35, 40),
        customers_per_area=(30, 80),
        feeder_faults=4,
        area_faults=5,
        call_p=(0.05, 0.08),
        delay_mean_minutes=12,
        lone_rate=0.0004,
        volume=2,
    ),
    Scenario(
        name="mixed-county",
        seed=1512,
        about="four stations of every kind: 5–400 customers per area, 5–40 areas per feeder, 5–40 % "
        "calling, late feeders, clusters, callers without account, hazards, 6× lone faults",
        stations=4,
        profiles=("urban", "rural", "mountain", "rural"),
        feeders_per_station=(2, 4),
        areas_per_feeder=(5, 40),
        customers_per_area=(5, 400),
        feeder_faults=4,
        late_feeders=2,
        area_faults=8,
        area_clusters=2,
        call_p=(0.05, 0.40),
        delay="exp",
        delay_mean_minutes=7,
        no_account_share=0.12,
        lone_rate=0.0004,
        volume=6,
        hazard_share=0.01,
    ),
    Scenario(
        name="fast-callers",
        seed=1513,
        about="callers who call at once (exponential delay, mean 3 min) at 20–40 %, faults over 50 min",
        stations=2,
        profiles=("urban", "rural"),
        feeders_per_station=(4, 5),
        areas_per_feeder=(8, 16),
        customers_per_area=(30, 150),
        feeder_faults=3,
        area_faults=8,
        stagger_minutes=50,
        call_p=(0.20, 0.40),
        delay="exp",
        delay_mean_minutes=3,
        lone_rate=0.0004,
        volume=2,
    ),
)

HELD_OUT: tuple[Scenario, ...] = (
    Scenario(
        name="ho-suburbs",
        seed=7301,
        about="suburban county: late feeders, clusters, callers without account, 8× lone faults",
        stations=3,
        profiles=("urban", "urban", "rural"),
        feeders_per_station=(3, 5),
        areas_per_feeder=(15, 25),
        customers_per_area=(40, 160),
        feeder_faults=5,
        late_feeders=3,
        late_lag_minutes=(6, 18),
        area_faults=9,
        area_clusters=2,
        call_p=(0.06, 0.18),
        delay_mean_minutes=10,
        delay_sigma=1.0,
        no_account_share=0.15,
        lone_rate=0.0005,
        volume=8,
    ),
    Scenario(
        name="ho-mountain-scarce",
        seed=7302,
        about="four mountain and rural stations, small areas, one crew each",
        stations=4,
        profiles=("mountain", "rural", "mountain", "rural"),
        feeders_per_station=(2, 3),
        areas_per_feeder=(8, 30),
        customers_per_area=(5, 60),
        crews_per_station=1,
        members_per_crew=2,
        feeder_faults=4,
        area_faults=9,
        call_p=(0.15, 0.35),
        delay="exp",
        delay_mean_minutes=9,
        lone_rate=0.0007,
        volume=5,
    ),
    Scenario(
        name="ho-city-core",
        seed=7303,
        about="a dense town: 200–400 customers behind 5–12 transformers per feeder, 5–9 % calling",
        stations=2,
        profiles=("urban", "urban"),
        feeders_per_station=(5, 6),
        areas_per_feeder=(5, 12),
        customers_per_area=(200, 400),
        feeder_faults=3,
        area_faults=9,
        area_clusters=1,
        call_p=(0.05, 0.09),
        delay_mean_minutes=6,
        lone_rate=0.0003,
        volume=10,
    ),
    Scenario(
        name="ho-thin-storm",
        seed=7304,
        about="ten long feeders down at 5–7 %, each area thin, lone faults at 10×",
        stations=3,
        profiles=("rural", "rural", "urban"),
        feeders_per_station=(4, 5),
        areas_per_feeder=(25, 40),
        customers_per_area=(50, 110),
        feeder_faults=10,
        late_feeders=2,
        area_faults=4,
        call_p=(0.05, 0.07),
        delay_mean_minutes=15,
        delay_sigma=1.1,
        lone_rate=0.0004,
        volume=10,
    ),
    Scenario(
        name="ho-slow-callers",
        seed=7305,
        about="callers who wait (lognormal, mean 14 min, σ 1.2); faults spread over 45 min",
        stations=3,
        feeders_per_station=(3, 4),
        areas_per_feeder=(6, 22),
        customers_per_area=(15, 250),
        feeder_faults=3,
        area_faults=10,
        area_clusters=2,
        stagger_minutes=45,
        call_p=(0.08, 0.30),
        delay_mean_minutes=14,
        delay_sigma=1.2,
        no_account_share=0.1,
        lone_rate=0.0004,
        volume=6,
    ),
)

# Two small scenarios for CI (``--smoke``): a storm on a small county each, in well under a minute.
SMOKE: tuple[Scenario, ...] = (
    Scenario(
        name="smoke-feeder",
        seed=9101,
        about="small county, one feeder and two transformers down",
        stations=2,
        profiles=("urban", "rural"),
        feeders_per_station=(2, 2),
        areas_per_feeder=(5, 7),
        customers_per_area=(10, 40),
        minutes=30,
        feeder_faults=1,
        area_faults=2,
        stagger_minutes=10,
        call_p=(0.2, 0.4),
        delay_mean_minutes=4,
        no_account_share=0.2,
        volume=3,
    ),
    Scenario(
        name="smoke-cluster",
        seed=9102,
        about="small county, two or three transformers down on one healthy feeder, scarce crews",
        stations=2,
        feeders_per_station=(2, 3),
        areas_per_feeder=(5, 8),
        customers_per_area=(10, 40),
        crews_per_station=1,
        members_per_crew=1,
        minutes=30,
        feeder_faults=1,
        area_faults=1,
        area_clusters=1,
        stagger_minutes=10,
        call_p=(0.2, 0.4),
        delay_mean_minutes=4,
        volume=3,
    ),
)


def by_name(name: str) -> Scenario:
    for scenario in (*DEV, *HELD_OUT, *SMOKE):
        if scenario.name == name:
            return scenario
    known = ", ".join(s.name for s in (*DEV, *SMOKE))
    raise SystemExit(f"no scenario named {name!r} (development scenarios: {known})")
