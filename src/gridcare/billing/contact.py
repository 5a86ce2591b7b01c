"""How billing reaches people: an SMS to a billed customer (their primary mobile, through the
notify outbox, held by the quiet hours) and the staff of a unit who handle arrears (its billing
clerks, and from a higher level its managers). Used by ``arrears`` and ``prepaid`` alike."""

from __future__ import annotations

from collections.abc import Iterable

from gridcare.customers.models import Customer, CustomerPhone
from gridcare.notify import services as notify
from gridcare.notify.models import Channel
from gridcare.notify.models import Priority as MessagePriority
from gridcare.org.models import Role, User


def mobile_of(customer: Customer) -> str:
    """The customer's mobile to text (the primary one first); blank when none is on file."""
    for number in (
        CustomerPhone.objects.filter(customer=customer, kind=CustomerPhone.Kind.MOBILE)
        .order_by("-is_primary", "id")
        .values_list("number", flat=True)
    ):
        if number.strip():
            return str(number.strip())
    return ""


def text_customer(customer: Customer, body: str, *, dedup: str, about: tuple[str, str]) -> bool:
    """Queue an SMS to ``customer`` in the caller's transaction (nothing twice for one ``dedup``
    key); False when no mobile is on file."""
    phone = mobile_of(customer)
    if not phone:
        return False
    notify.enqueue(
        channel=Channel.SMS,
        to=phone,
        to_name=customer.name,
        body=body,
        priority=MessagePriority.KEY_CUSTOMER if customer.is_key else MessagePriority.NORMAL,
        recipient=("customers.customer", str(customer.pk)),
        about=about,
        dedup_key=dedup,
    )
    return True


def staff_at(unit_ids: Iterable[int], roles: Iterable[str]) -> list[User]:
    """The active people holding one of ``roles`` at one of the units (each once)."""
    ids, wanted = list(unit_ids), list(roles)
    if not ids or not wanted:
        return []
    return list(
        User.objects.filter(is_active=True, assignments__role__in=wanted, assignments__unit_id__in=ids)
        .distinct()
        .order_by("id")
    )


BILLING_STAFF = (Role.BILLING_CLERK, Role.MANAGER)
