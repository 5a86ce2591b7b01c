"""Scoped reads of outage information: "is this customer / address / area out, why and until
when?" for today, the next seven days and current fault outages. Pages, the API and the agent's
customer view use these; a station sees the outages touching its transformer areas (and those its
subtree published).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from gridcare.core import clock
from gridcare.customers.models import Customer, CustomerPhone, Feeder, TransformerArea
from gridcare.customers.queries import normalize_text, visible_customers
from gridcare.notify.models import Message
from gridcare.org import scoping
from gridcare.org.types import Viewer

from . import wording
from .models import LIVE_STATES, PUBLIC_STATES, Outage, OutageArea, OutageCustomer, OutageKind, OutageState
from .notices import ABOUT_TYPE, Purpose

WHEN_CHOICES = {
    "today": "今日",
    "week": "7天内",
    "fault": "故障停电",
    "current": "正在停电",
    "all": "全部",
}
LOOKUP_LIMIT = 200


def visible_outages(user: Viewer, active_unit: Any = None) -> QuerySet[Outage]:
    """Outages touching a transformer area of the user's stations, or published by their subtree."""
    if getattr(user, "is_superuser", False) and active_unit is None:
        return Outage.objects.all()
    touching = scoping.restrict(OutageArea.objects.all(), user, "station_id", active_unit).values("outage_id")
    published = scoping.restrict(Outage.objects.all(), user, "unit_id", active_unit).values("pk")
    return Outage.objects.filter(Q(pk__in=touching) | Q(pk__in=published))


def get_outage(user: Viewer, number: str, *, active_unit: Any = None) -> Outage:
    """One outage in the user's scope by number, or 404."""
    qs = visible_outages(user, active_unit).select_related(
        "unit", "created_by", "published_by", "override_by"
    )
    outage = qs.filter(number=number).first()
    if outage is None:
        raise Http404("not found")
    return outage


def day_window(now: dt.datetime, days: int) -> tuple[dt.datetime, dt.datetime]:
    """[local midnight today, local midnight ``days`` days later)."""
    today = now.astimezone(clock.LOCAL_TZ).date()
    start = dt.datetime.combine(today, dt.time.min, tzinfo=clock.LOCAL_TZ)
    return start, start + dt.timedelta(days=days)


def filter_when(qs: QuerySet[Outage], when: str, now: dt.datetime | None = None) -> QuerySet[Outage]:
    """today / week (today and the next six days) / fault (open fault outages) / current (without
    power right now) / all. An outage still in progress always counts as today's, even when its
    estimated end has passed."""
    now = now or clock.now()
    if when == "fault":
        return qs.filter(kind=OutageKind.FAULT, state=OutageState.IN_PROGRESS)
    if when == "current":
        return qs.filter(
            Q(state=OutageState.IN_PROGRESS)
            | (
                Q(state=OutageState.PUBLISHED, starts_at__lte=now)
                & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))
            )
        )
    if when in ("today", "week"):
        start, end = day_window(now, 1 if when == "today" else 7)
        overlaps = Q(state__in=PUBLIC_STATES, starts_at__lt=end) & (
            Q(ends_at__isnull=True) | Q(ends_at__gt=start)
        )
        return qs.filter(Q(state=OutageState.IN_PROGRESS) | overlaps)
    if when == "all":
        return qs
    raise ValueError(f"unknown period {when!r}")


@dataclass
class OutageLookup:
    account_no: str = ""
    address: str = ""
    area: str = ""
    feeder: str = ""
    when: str = "today"

    def is_empty(self) -> bool:
        return not any(v.strip() for v in (self.account_no, self.address, self.area, self.feeder))


@dataclass
class LookupRow:
    outage: Outage
    status: str
    matched_customers: int | None = None


@dataclass
class LookupResult:
    query: OutageLookup
    rows: list[LookupRow] = field(default_factory=list)
    customer: Customer | None = None
    areas: list[TransformerArea] = field(default_factory=list)
    feeders: list[Feeder] = field(default_factory=list)
    not_found: str = ""  # what was looked for and is not in the user's scope

    @property
    def out_now(self) -> list[LookupRow]:
        return [r for r in self.rows if r.outage.state in LIVE_STATES and _in_effect(r.outage)]


def _in_effect(outage: Outage, now: dt.datetime | None = None) -> bool:
    now = now or clock.now()
    if outage.state == OutageState.IN_PROGRESS:
        return True
    return (
        outage.state == OutageState.PUBLISHED
        and outage.starts_at is not None
        and outage.starts_at <= now
        and (outage.ends_at is None or outage.ends_at > now)
    )


def lookup(
    user: Viewer, query: OutageLookup, *, active_unit: Any = None, limit: int = LOOKUP_LIMIT
) -> LookupResult:
    """Answer "is it out?" for an account number, an address fragment, a transformer area or a
    feeder (code or name), for ``query.when``. Conditions combine with AND."""
    result = LookupResult(query=query)
    if query.when not in WHEN_CHOICES:
        raise ValueError(f"unknown period {query.when!r}")
    qs = visible_outages(user, active_unit)
    if query.account_no.strip():
        customer = visible_customers(user, active_unit).filter(account_no=query.account_no.strip()).first()
        if customer is None:
            result.not_found = f"户号 {query.account_no.strip()}"
            return result
        result.customer = customer
        qs = qs.filter(pk__in=OutageCustomer.objects.filter(customer=customer).values("outage_id"))
    matched_customers = None
    if query.address.strip():
        text = normalize_text(query.address)
        matched_customers = (
            visible_customers(user, active_unit).filter(search_text__contains=text).values("pk")
        )
        qs = qs.filter(
            pk__in=OutageCustomer.objects.filter(customer_id__in=matched_customers).values("outage_id")
        )
    if query.area.strip():
        value = query.area.strip()
        areas = scoping.restrict(TransformerArea.objects.all(), user, "station_id", active_unit).filter(
            Q(code=value) | Q(name__contains=value)
        )
        result.areas = list(areas.order_by("code")[:20])
        if not result.areas:
            result.not_found = f"台区 {value}"
            return result
        qs = qs.filter(pk__in=OutageArea.objects.filter(transformer_area__in=areas).values("outage_id"))
    if query.feeder.strip():
        value = query.feeder.strip()
        visible_areas = scoping.restrict(TransformerArea.objects.all(), user, "station_id", active_unit)
        feeders = Feeder.objects.filter(Q(code=value) | Q(name__contains=value)).filter(
            pk__in=visible_areas.values("feeder_id")
        )
        result.feeders = list(feeders.order_by("code")[:20])
        if not result.feeders:
            result.not_found = f"线路 {value}"
            return result
        qs = qs.filter(pk__in=OutageArea.objects.filter(feeder__in=feeders).values("outage_id"))
    outages = list(filter_when(qs, query.when).select_related("unit").order_by("starts_at", "id")[:limit])
    counts: dict[int, int] = {}
    if matched_customers is not None and outages:
        counts = dict(
            OutageCustomer.objects.filter(
                outage_id__in=[o.pk for o in outages], customer_id__in=matched_customers
            )
            .values("outage_id")
            .annotate(n=Count("id"))
            .values_list("outage_id", "n")
        )
    result.rows = [
        LookupRow(
            outage=o, status=wording.status_line(o), matched_customers=counts.get(o.pk) if counts else None
        )
        for o in outages
    ]
    return result


def list_outages(
    user: Viewer, *, when: str = "today", kind: str = "", state: str = "", active_unit: Any = None
) -> QuerySet[Outage]:
    qs = filter_when(visible_outages(user, active_unit), when)
    if kind:
        qs = qs.filter(kind=kind)
    if state:
        qs = qs.filter(state=state)
    if when == "all":
        return qs.select_related("unit").order_by("-created_at", "-id")
    return qs.select_related("unit").order_by("starts_at", "id")


def current_outages_for_customer(customer: Customer, *, at: dt.datetime | None = None) -> list[Outage]:
    """The outages this customer is without power under right now (fault outages first).
    Not scoped: the caller already holds a customer it may see."""
    qs = Outage.objects.filter(pk__in=OutageCustomer.objects.filter(customer=customer).values("outage_id"))
    outages = list(filter_when(qs, "current", at).select_related("unit"))
    return sorted(outages, key=lambda o: (o.kind != OutageKind.FAULT, o.starts_at or clock.now()))


def outages_for_customer(customer: Customer, *, when: str = "week") -> list[Outage]:
    """Every outage touching the customer for ``when`` — for the agent's customer view (current,
    upcoming within the week, restored today)."""
    qs = Outage.objects.filter(pk__in=OutageCustomer.objects.filter(customer=customer).values("outage_id"))
    return list(filter_when(qs, when).select_related("unit").order_by("starts_at", "id"))


# --- One outage's page ------------------------------------------------------------------


PROGRESS_STATES = {
    "sent": (Message.State.SENT,),
    "pending": (Message.State.PENDING, Message.State.SENDING),
    "failed": (Message.State.FAILED,),
    "dead": (Message.State.DEAD,),
}


def delivery_progress(outage: Outage) -> list[dict[str, Any]]:
    """Per message purpose (停电通知 / 恢复送电通知 / 停电取消通知): how many messages were queued
    and how many are sent, pending, failed-and-retrying, given up. One aggregate query."""
    aggregates = {}
    for purpose in Purpose.LABELS:
        prefix = f"outage:{outage.number}:{purpose}:"
        for name, states in PROGRESS_STATES.items():
            aggregates[f"{purpose}__{name}"] = Count(
                "id", filter=Q(dedup_key__startswith=prefix, state__in=states)
            )
    counts = Message.objects.filter(about_type=ABOUT_TYPE, about_id=outage.number).aggregate(**aggregates)
    rows = []
    for purpose, label in Purpose.LABELS.items():
        row: dict[str, Any] = {"purpose": purpose, "label": label}
        for name in PROGRESS_STATES:
            row[name] = counts[f"{purpose}__{name}"] or 0
        row["total"] = sum(row[name] for name in PROGRESS_STATES)
        row["done_percent"] = round(100 * row["sent"] / row["total"]) if row["total"] else 0
        if row["total"]:
            rows.append(row)
    return rows


def customers_without_mobile(outage: Outage) -> int:
    return (
        OutageCustomer.objects.filter(outage=outage)
        .exclude(
            customer_id__in=CustomerPhone.objects.filter(kind=CustomerPhone.Kind.MOBILE).values("customer_id")
        )
        .count()
    )


def key_customers(outage: Outage) -> list[OutageCustomer]:
    """The key customers of the outage with the phone checklist and their notice's state."""
    rows = list(
        OutageCustomer.objects.filter(outage=outage, is_key=True)
        .select_related("customer", "customer__account_manager", "transformer_area", "phoned_by")
        .prefetch_related("customer__phones")
        .order_by("customer__account_no")
    )
    keys = {
        f"outage:{outage.number}:{purpose}:sms:{row.customer_id}": (row, purpose)
        for row in rows
        for purpose in Purpose.LABELS
    }
    states = dict(Message.objects.filter(dedup_key__in=list(keys)).values_list("dedup_key", "state"))
    for row in rows:
        row.message_states = {
            purpose: states.get(f"outage:{outage.number}:{purpose}:sms:{row.customer_id}")
            for purpose in Purpose.LABELS
        }
    return rows


def areas_of(outage: Outage) -> QuerySet[OutageArea]:
    return OutageArea.objects.filter(outage=outage).select_related("transformer_area", "feeder", "station")
