"""Human-readable, gap-tolerant, race-free numbers: PREFIX + period + zero-padded counter."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from .models import NumberSequence


def next_value(prefix: str, period: str) -> int:
    """Atomically take the next counter value for (prefix, period)."""
    with transaction.atomic():
        NumberSequence.objects.get_or_create(prefix=prefix, period=period)
        NumberSequence.objects.filter(prefix=prefix, period=period).update(value=F("value") + 1)
        return NumberSequence.objects.get(prefix=prefix, period=period).value


def next_number(prefix: str, period: str, width: int = 6) -> str:
    return f"{prefix}{period}{next_value(prefix, period):0{width}d}"
