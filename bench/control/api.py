"""POST /api/v1/work-orders of the control: validate a small body, check the bearer token
against a hash held in settings (no query), insert one row."""

import hashlib
import hmac
from typing import Literal

from django.conf import settings
from django.utils import timezone
from ninja import Field, NinjaAPI, Schema
from ninja.security import HttpBearer

from .models import Intake


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
