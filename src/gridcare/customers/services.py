"""Business actions on the customer archive."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from gridcare.core import audit
from gridcare.core.models import AuditLog
from gridcare.org.types import Actor

from .models import Customer
from .queries import normalize_text


def search_text_for(name: str, addresses: list[str]) -> str:
    return normalize_text(" ".join([name, *addresses]))


def refresh_search_text(customer: Customer) -> None:
    customer.search_text = search_text_for(customer.name, [a.address for a in customer.addresses.all()])
    Customer.objects.filter(pk=customer.pk).update(search_text=customer.search_text)


def reveal_personal_data(*, user: Actor, customer: Customer, request: Any = None) -> dict[str, Any]:
    """Full phones, ID number and addresses for a role that needs them; the access is audited."""
    from django.core.exceptions import PermissionDenied

    from gridcare.org.scoping import can_see_personal_data

    if not can_see_personal_data(user):
        raise PermissionDenied("您的岗位无权查看完整个人信息")
    with transaction.atomic():
        audit.record(
            action=AuditLog.Action.VIEW_SENSITIVE,
            actor=user,
            obj=customer,
            request=request,
            detail={"fields": ["phones", "id_number", "addresses"]},
        )
    return {
        "phones": [p.number for p in customer.phones.all()],
        "id_number": customer.id_number,
        "addresses": [a.address for a in customer.addresses.all()],
    }
