"""The scope of an outage on the grid topology: feeders and transformer areas given by the caller,
expanded to transformer areas (a feeder means all its areas) and materialized into the affected
customers with one INSERT … SELECT per chunk of areas."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Count, Q

from gridcare.core.api_errors import ApiError
from gridcare.customers.models import Customer, Feeder, TransformerArea
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Actor

from .models import Outage, OutageArea, OutageCustomer


def resolve_scope(
    *, feeders: Iterable[Any] = (), transformer_areas: Iterable[Any] = ()
) -> tuple[list[Feeder], list[TransformerArea]]:
    """Feeders and transformer areas given as objects, ids or codes → objects.
    An unknown code answers ``unknown_feeder`` / ``unknown_area`` (422)."""
    return (
        _resolve(Feeder, feeders, "unknown_feeder", "线路"),
        _resolve(TransformerArea, transformer_areas, "unknown_area", "台区"),
    )


def _resolve(model, items: Iterable[Any], code: str, label: str) -> list:
    objects, ids, codes = [], set(), set()
    for item in items:
        if isinstance(item, model):
            objects.append(item)
        elif isinstance(item, int):
            ids.add(item)
        elif str(item).strip():
            codes.add(str(item).strip())
    found = list(model.objects.filter(Q(pk__in=ids) | Q(code__in=codes)))
    missing = (ids - {o.pk for o in found}) | (codes - {o.code for o in found})
    if missing:
        names = "、".join(sorted(str(m) for m in missing))
        raise ApiError(code, f"{label}不存在：{names}", status=422, missing=sorted(str(m) for m in missing))
    by_pk = {o.pk: o for o in [*objects, *found]}
    return sorted(by_pk.values(), key=lambda o: o.code)


def expand_areas(feeders: list[Feeder], areas: list[TransformerArea]) -> list[TransformerArea]:
    """A feeder in scope means every transformer area it supplies."""
    by_pk = {a.pk: a for a in areas}
    if feeders:
        for area in TransformerArea.objects.filter(feeder__in=feeders):
            by_pk.setdefault(area.pk, area)
    return sorted(by_pk.values(), key=lambda a: a.code)


def check_scope_visible(actor: Actor, feeders: list[Feeder], areas: list[TransformerArea]) -> None:
    if actor is None or getattr(actor, "is_superuser", False):
        return
    outside = [f.code for f in feeders if not scoping.unit_in_scope(actor, f.unit_id)] + [
        a.code for a in areas if not scoping.unit_in_scope(actor, a.station_id)
    ]
    if outside:
        raise ApiError(
            "scope_not_allowed",
            f"停电范围超出您的管辖范围：{'、'.join(outside)}",
            status=403,
            outside=outside,
        )


def owning_unit(areas: list[TransformerArea]) -> Unit | None:
    """The lowest unit whose subtree holds every affected station (the station itself when only
    one is affected)."""
    station_ids = {a.station_id for a in areas}
    if not station_ids:
        return None
    paths = list(Unit.objects.filter(pk__in=station_ids).values_list("path", flat=True))
    common = paths[0].strip("/").split("/")
    for path in paths[1:]:
        parts = path.strip("/").split("/")
        n = 0
        while n < min(len(common), len(parts)) and common[n] == parts[n]:
            n += 1
        common = common[:n]
    return Unit.objects.get(pk=int(common[-1])) if common else None


def materialize(outage: Outage, areas: list[TransformerArea]) -> dict[str, int]:
    """Make the outage's affected areas and customers match ``areas``: rows of areas that left the
    scope are deleted, customers of new areas inserted with one INSERT … SELECT per chunk."""
    existing = set(OutageArea.objects.filter(outage=outage).values_list("transformer_area_id", flat=True))
    wanted = {a.pk: a for a in areas}
    removed = existing - wanted.keys()
    added = [a for pk, a in wanted.items() if pk not in existing]
    if removed:
        OutageCustomer.objects.filter(outage=outage, transformer_area_id__in=removed).delete()
        OutageArea.objects.filter(outage=outage, transformer_area_id__in=removed).delete()
    if added:
        OutageArea.objects.bulk_create(
            [
                OutageArea(outage=outage, transformer_area=a, feeder_id=a.feeder_id, station_id=a.station_id)
                for a in added
            ]
        )
        insert_customers(outage, [a.pk for a in added])
    counts = dict(
        OutageCustomer.objects.filter(outage=outage)
        .values("transformer_area_id")
        .annotate(n=Count("id"))
        .values_list("transformer_area_id", "n")
    )
    rows = list(OutageArea.objects.filter(outage=outage))
    for row in rows:
        row.customer_count = counts.get(row.transformer_area_id, 0)
    OutageArea.objects.bulk_update(rows, ["customer_count"], batch_size=500)
    outage.customer_count = sum(counts.values())
    outage.key_customer_count = OutageCustomer.objects.filter(outage=outage, is_key=True).count()
    return {"areas_added": len(added), "areas_removed": len(removed)}


def insert_customers(outage: Outage, area_ids: list[int]) -> None:
    qn = connection.ops.quote_name
    target = qn(OutageCustomer._meta.db_table)
    source = qn(Customer._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(area_ids), 500):
            chunk = area_ids[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            # Table names come from the models' metadata, values are parameters.
            cursor.execute(
                f"INSERT INTO {target} (outage_id, customer_id, transformer_area_id, is_key, phone_note) "  # noqa: S608
                f"SELECT %s, id, transformer_area_id, is_key, '' FROM {source} "
                f"WHERE transformer_area_id IN ({marks}) AND status <> %s",
                [outage.pk, *chunk, Customer.Status.CLOSED],
            )


def set_declared_scope(outage: Outage, feeders: list[Feeder], areas: list[TransformerArea]) -> None:
    outage.feeders.set(feeders)
    outage.transformer_areas.set(areas)


def data_scope(feeders: list[Feeder], areas: list[TransformerArea]) -> str:
    parts = []
    if feeders:
        parts.append("线路 " + "、".join(f.code for f in feeders))
    if areas:
        parts.append("台区 " + "、".join(a.code for a in areas[:20]) + ("…" if len(areas) > 20 else ""))
    return "；".join(parts)
