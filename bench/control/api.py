"""The control's endpoints: validate a small body, check the bearer token against a hash held in
settings (no query), insert one row.

- ``POST /api/v1/work-orders`` (bench/intake);
- ``POST /api/v1/payments`` (bench/billing (c)): one row, unique by (channel, reference); the same
  reference again answers the stored row (200) — the least an idempotent payment endpoint does."""

import hashlib
import hmac
from decimal import Decimal
from typing import Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from ninja import Field, NinjaAPI, Schema
from ninja.security import HttpBearer

from .models import Intake, Payment


class Token(HttpBearer):
    def authenticate(self, request, token: str):
        digest = hashlib.sha256(token.encode()).hexdigest()
        return hmac.compare_digest(digest, settings.BENCH_CONTROL_TOKEN_SHA256) or None


class IntakeIn(Schema):
    order_type: Literal["fault_repair", "complaint"]
    channel: str = Field("hotline", max_length=20)
    content: str = Field(..., min_length=1, max_length=4000)
    account_no: str | None = Field(None, max_length=20)


class IntakeOut(Schema):
    number: str


api = NinjaAPI(title="bench control", auth=Token(), urls_namespace="control")


@api.post("/work-orders", response={201: IntakeOut})
def create(request, body: IntakeIn):
    row = Intake.objects.create(
        order_type=body.order_type,
        channel=body.channel,
        account_no=body.account_no or "",
        content=body.content,
        idempotency_key=request.headers.get("Idempotency-Key", "")[:80],
        created_at=timezone.now(),
    )
    return 201, {"number": f"C{row.pk:010d}"}


class PaymentIn(Schema):
    account_no: str = Field(..., min_length=1, max_length=20)
    channel: str = Field(..., max_length=20)
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    reference: str = Field(..., min_length=1, max_length=64)


class PaymentOut(Schema):
    receipt_no: str


@api.post("/payments", response={201: PaymentOut, 200: PaymentOut})
def pay(request, body: PaymentIn):
    try:
        with transaction.atomic():
            row = Payment.objects.create(
                account_no=body.account_no,
                channel=body.channel,
                reference=body.reference,
                amount=body.amount,
                paid_at=timezone.now(),
            )
        return 201, {"receipt_no": f"R{row.pk:010d}"}
    except IntegrityError:
        row = Payment.objects.get(channel=body.channel, reference=body.reference)
        return 200, {"receipt_no": f"R{row.pk:010d}"}
