from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseForbidden
from django.shortcuts import render
from django.views.decorators.http import require_POST

from gridcare.core.masking import mask_address, mask_id_number, mask_phone
from gridcare.org.scoping import can_see_personal_data

from . import queries, services


def _search_form(request) -> queries.CustomerQuery:
    g = request.GET
    return queries.CustomerQuery(
        q=g.get("q", ""),
        phone=g.get("phone", ""),
        account_no=g.get("account_no", ""),
        name=g.get("name", ""),
        address=g.get("address", ""),
    )


@login_required
def search(request):
    """客户查询: one box (phone / account number / name / address) plus precise fields."""
    query = _search_form(request)
    results = queries.search_customers(request.user, query, active_unit=request.active_unit)
    rows = [
        {
            "c": c,
            "phones": [mask_phone(p.number) for p in c.phones.all()],
            "address": mask_address(next(iter(c.addresses.all()), None).address) if c.addresses.all() else "",
        }
        for c in results
    ]
    context = {"query": query, "rows": rows, "searched": not query.is_empty(), "limit": queries.SEARCH_LIMIT}
    template = "customers/_results.html" if request.htmx else "customers/search.html"
    return render(request, template, context)


@login_required
def detail(request, account_no: str):
    customer = queries.get_customer(request.user, account_no, active_unit=request.active_unit)
    context = {
        "c": customer,
        "area": customer.transformer_area,
        "phones": [(mask_phone(p.number), p) for p in customer.phones.all()],
        "addresses": [(mask_address(a.address), a) for a in customer.addresses.all()],
        "id_number": mask_id_number(customer.id_number),
        "can_reveal": can_see_personal_data(request.user),
    }
    return render(request, "customers/detail.html", context)


@login_required
@require_POST
def reveal(request, account_no: str):
    """htmx: show full personal data to a role that needs it; written to the audit log."""
    customer = queries.get_customer(request.user, account_no, active_unit=request.active_unit)
    try:
        data = services.reveal_personal_data(user=request.user, customer=customer, request=request)
    except PermissionDenied as exc:
        return HttpResponseForbidden(str(exc))
    return render(request, "customers/_personal_data.html", {"data": data})
