"""Paging of the API's lists: ninja's limit/offset pagination with both numbers bounded.

Unbounded, a large ``offset`` reached PostgreSQL as ``OFFSET 99999999999999999999`` ("bigint out
of range", a 500). A limit outside 1..``PAGE_MAX`` answers 422 ``invalid_limit`` as everywhere.
"""

from __future__ import annotations

from ninja import Field, Schema
from ninja.conf import settings as ninja_settings
from ninja.pagination import LimitOffsetPagination

from gridcare.core.validation import OFFSET_MAX

PAGE_DEFAULT = ninja_settings.PAGINATION_PER_PAGE
PAGE_MAX = 500


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(PAGE_DEFAULT, ge=1, le=PAGE_MAX, description=f"1 to {PAGE_MAX}")
        offset: int = Field(0, ge=0, le=OFFSET_MAX)
