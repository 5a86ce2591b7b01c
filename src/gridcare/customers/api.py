from __future__ import annotations

from ninja import Field, Query, Router, Schema

from gridcare.core.api_errors import ApiError
from gridcare.core.validation import CleanLine, limit_param

from . import queries, services
from .schemas import CustomerDetailOut, CustomerSummaryOut, PersonalDataOut

router = Router(tags=["customers"])


class CustomerSearchParams(Schema):
    q: CleanLine = Field("", max_length=200)
    phone: CleanLine = Field("", max_length=32)
    account_no: CleanLine = Field("", max_length=32)
    name: CleanLine = Field("", max_length=60)
    address: CleanLine = Field("", max_length=200)
    limit: int = limit_param(20, 50)


@router.get(
    "", response=list[CustomerSummaryOut], summary="Search customers (phone, account number, name, address)"
)
def search_customers(request, params: Query[CustomerSearchParams]):
    query = queries.CustomerQuery(
        q=params.q, phone=params.phone, account_no=params.account_no, name=params.name, address=params.address
    )
    if query.is_empty():
        raise ApiError("query_required", "Give q, phone, account_no, name or address.", status=400)
    found = queries.search_customers(request.auth, query, limit=params.limit)
    return [CustomerSummaryOut.from_customer(c) for c in found]


@router.get("/{account_no}", response=CustomerDetailOut, summary="One customer by account number")
def get_customer(request, account_no: str):
    return CustomerDetailOut.from_customer(queries.get_customer(request.auth, account_no))


@router.post(
    "/{account_no}/personal-data",
    response=PersonalDataOut,
    summary="Reveal full phones, ID number and addresses (audited)",
)
def reveal_personal_data(request, account_no: str):
    customer = queries.get_customer(request.auth, account_no)
    return services.reveal_personal_data(user=request.auth, customer=customer, request=request)
