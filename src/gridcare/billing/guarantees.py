"""保电 in force: the supply guarantees that cover a customer at an instant — the customer's own,
or one for any unit its station lies under (a county's extreme-weather guarantee covers every
station of the county). Both the disconnection rules (``arrears``) and the prepaid cut
(``prepaid``) ask here, so neither imports the other."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from gridcare.customers.models import Customer
from gridcare.org.models import Unit

from .models import SupplyGuarantee


def unit_and_above(unit_id: int) -> list[int]:
    """The ids of the unit and every unit above it (its materialized path)."""
    path = Unit.objects.filter(pk=unit_id).values_list("path", flat=True).first() or ""
    ids = [int(part) for part in path.strip("/").split("/") if part]
    return ids or [unit_id]


def in_force(customer: Customer, at: dt.datetime) -> list[SupplyGuarantee]:
    """The guarantees covering ``customer`` at ``at`` (started, not yet ended), the latest start
    first."""
    target = Q(customer_id=customer.pk) | Q(unit_id__in=unit_and_above(customer.station_id))
    return list(
        SupplyGuarantee.objects.filter(target, starts_at__lte=at, ends_at__gt=at)
        .select_related("unit")
        .order_by("-starts_at", "id")
    )
