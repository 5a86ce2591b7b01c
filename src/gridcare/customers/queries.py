"""Scoped reads of the customer archive, used by pages and the API alike."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from gridcare.org import scoping

from .models import Customer, CustomerAddress, CustomerPhone

SEARCH_LIMIT = 50
_DIGITS = re.compile(r"^\d{5,20}$")


def normalize_phone(value: str) -> str:
    """Keep digits only; drop a leading +86 / 0086 country code."""
    digits = re.sub(r"\D", "", value or "")
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            digits = digits[len(prefix) :]
    return digits


def normalize_text(value: str) -> str:
    return re.sub(r"\s+", "", value or "").lower()


def visible_customers(user: Any, active_unit: Any = None) -> QuerySet[Customer]:
    return scoping.restrict(Customer.objects.all(), user, "station_id", active_unit)


@dataclass
class CustomerQuery:
    q: str = ""
    phone: str = ""
    account_no: str = ""
    name: str = ""
    address: str = ""

    def is_empty(self) -> bool:
        return not any(
            [
                self.q.strip(),
                self.phone.strip(),
                self.account_no.strip(),
                self.name.strip(),
                self.address.strip(),
            ]
        )


def _list_queryset(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    return qs.select_related("transformer_area", "station").prefetch_related(
        Prefetch("phones", queryset=CustomerPhone.objects.order_by("-is_primary", "id")),
        Prefetch("addresses", queryset=CustomerAddress.objects.order_by("-is_primary", "id")),
    )


def search_customers(
    user: Any, query: CustomerQuery, *, active_unit: Any = None, limit: int = SEARCH_LIMIT
) -> list[Customer]:
    """Find customers by phone, account number, name or address — one query box for the agent.

    A free-text ``q`` is read the way an agent types it: an 11-digit number is a phone, another
    long number an account number (or landline), anything else a name or a piece of address.
    """
    if query.is_empty():
        return []
    qs = visible_customers(user, active_unit)
    condition = Q()
    if query.phone.strip():
        condition &= Q(
            id__in=CustomerPhone.objects.filter(number=normalize_phone(query.phone)).values("customer_id")
        )
    if query.account_no.strip():
        condition &= Q(account_no=query.account_no.strip())
    if query.name.strip():
        condition &= Q(name__startswith=query.name.strip())
    if query.address.strip():
        condition &= Q(search_text__contains=normalize_text(query.address))
    q = query.q.strip()
    if q:
        compact = re.sub(r"[\s\-]", "", q)
        if _DIGITS.match(compact):
            phone_ids = CustomerPhone.objects.filter(number=normalize_phone(compact)).values("customer_id")
            condition &= Q(account_no=compact) | Q(id__in=phone_ids)
        else:
            text = normalize_text(q)
            condition &= Q(name__startswith=q) | Q(search_text__contains=text)
    return list(_list_queryset(qs.filter(condition)).order_by("account_no")[:limit])


def get_customer(user: Any, account_no: str, *, active_unit: Any = None) -> Customer:
    """One customer in the user's scope by account number, or 404."""
    qs = Customer.objects.select_related(
        "transformer_area__feeder__substation",
        "transformer_area__grid_manager",
        "station__parent",
        "account_manager",
    ).prefetch_related("phones", "addresses", "meters", "contracts")
    return scoping.get_for_user(qs, user, "station_id", active_unit, account_no=account_no)
