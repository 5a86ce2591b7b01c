"""Statistics API (/api/v1/statistics/…): the same figures as the statistics pages, scoped."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["statistics"])
