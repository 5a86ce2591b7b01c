"""Scoped reads of the customer archive, used by pages and the API alike."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from gridcare.core.joined import Children, JoinedRows, Related
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Viewer

from .models import Customer, CustomerAddress, CustomerPhone, TransformerArea

SEARCH_LIMIT = 50
_DIGITS = re.compile(r"^\d{5,20}$")


def normalize_phone(value: str) -> str:
    """Keep digits only (full-width ones typed with a Chinese input method become ASCII); drop a
    leading +86 / 0086 country code."""
    digits = re.sub(r"[^0-9]", "", unicodedata.normalize("NFKC", value or ""))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            digits = digits[len(prefix) :]
    return digits


def normalize_text(value: str) -> str:
    return re.sub(r"\s+", "", value or "").lower()


def visible_customers(user: Viewer, active_unit: Any = None) -> QuerySet[Customer]:
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


def search_customers(
    user: Viewer, query: CustomerQuery, *, active_unit: Any = None, limit: int = SEARCH_LIMIT
) -> list[Customer]:
    """Find customers by phone, account number, name or address — one query box for the agent.

    A free-text ``q`` is read the way an agent types it: an 11-digit number is a phone, another
    long number an account number (or landline), anything else a name or a piece of address.

    Returns at most ``limit`` customers ordered by account number, each with its station, its
    transformer area, its phones and its addresses loaded. This runs on every incoming call (the
    IVR/CTI screen pop), so it is one SQL statement (``core.joined``) rather than three ORM
    queries; the scope still comes from the scoping door.
    """
    if query.is_empty():
        return []
    conditions: list[str] = []
    params: list[Any] = []
    if query.phone.strip():
        conditions.append(_PHONE_MATCH)
        params.append(normalize_phone(query.phone))
    if query.account_no.strip():
        conditions.append(f"{_C}.account_no = %s")
        params.append(query.account_no.strip())
    if query.name.strip():
        conditions.append(_name_starts())
        params.append(_like_prefix(query.name.strip()))
    if query.address.strip():
        conditions.append(_text_contains())
        params.append(_like_infix(normalize_text(query.address)))
    q = unicodedata.normalize("NFKC", query.q).strip()  # full-width digits, letters and spaces
    if q:
        compact = re.sub(r"[\s\-]", "", q)
        if _DIGITS.match(compact):
            conditions.append(f"({_C}.account_no = %s OR {_PHONE_MATCH})")
            params += [compact, normalize_phone(compact)]
        else:
            conditions.append(f"({_name_starts()} OR {_text_contains()})")
            params += [_like_prefix(q), _like_infix(normalize_text(q))]
    return _RESULT_PAGE.fetch(visible_customers(user, active_unit), conditions, params, limit)


# --- the result page in one statement -----------------------------------------------------------
# Table and column names below come from the models' metadata, values always travel as parameters.

_C = connection.ops.quote_name(Customer._meta.db_table)
_PHONE_MATCH = (
    f"{_C}.id IN (SELECT customer_id FROM {connection.ops.quote_name(CustomerPhone._meta.db_table)} "  # noqa: S608
    "WHERE number = %s)"
)


def _like_prefix(value: str) -> str:
    return connection.ops.prep_for_like_query(value) + "%"


def _like_infix(value: str) -> str:
    return "%" + connection.ops.prep_for_like_query(value) + "%"


def _like(column: str) -> str:
    # The same SQL as Django's startswith/contains lookups, so the same indexes serve it
    # (customer_name_prefix and customer_search_trgm on PostgreSQL, see migration 0003).
    if connection.vendor == "postgresql":
        return f"{_C}.{column}::text LIKE %s"
    return f"{_C}.{column} LIKE %s ESCAPE '\\'"


def _name_starts() -> str:
    return _like("name")


def _text_contains() -> str:
    return _like("search_text")


_RESULT_PAGE = JoinedRows(
    Customer,
    related=(Related(Unit, "s", "station_id"), Related(TransformerArea, "a", "transformer_area_id")),
    children=(
        Children(CustomerPhone, "phones", "customer_id", ("-is_primary", "id")),
        Children(CustomerAddress, "addresses", "customer_id", ("-is_primary", "id")),
    ),
    order_by="{table}.account_no",
)
# A customer with its transformer area (``get_customer_for_intake``, ``customer_with_area``).
_INTAKE_ROW = JoinedRows(Customer, related=(Related(TransformerArea, "a", "transformer_area_id"),))


def get_customer_for_intake(user: Viewer, account_no: str, *, active_unit: Any = None) -> Customer:
    """The same scoped lookup as ``get_customer`` for taking a request: the customer and its
    transformer area only, not the archive's phones, meters and contracts. Every intake runs it,
    so it is one prebuilt statement (no ORM query compiling) and the scope is checked in Python."""
    found = _INTAKE_ROW.fetch(None, [f"{_C}.account_no = %s"], [account_no], 1)
    return scoping.require_in_scope(found[0] if found else None, user, "station_id", active_unit)


def customer_with_area(pk: int) -> Customer | None:
    """A customer and its transformer area by id, unscoped (for work already admitted, such as a
    queued call), by the same prebuilt statement as ``get_customer_for_intake``."""
    found = _INTAKE_ROW.fetch(None, [f"{_C}.id = %s"], [pk], 1)
    return found[0] if found else None


def get_customer(user: Viewer, account_no: str, *, active_unit: Any = None) -> Customer:
    """One customer in the user's scope by account number, or 404."""
    qs = Customer.objects.select_related(
        "transformer_area__feeder__substation",
        "transformer_area__grid_manager",
        "station__parent",
        "account_manager",
    ).prefetch_related("phones", "addresses", "meters", "contracts")
    return scoping.get_for_user(qs, user, "station_id", active_unit, account_no=account_no)
