"""Paging of the API's lists: ninja's limit/offset pagination with both numbers bounded.

Unbounded, a large ``offset`` reached PostgreSQL as ``OFFSET 99999999999999999999`` ("bigint out
of range", a 500). A limit outside 1..``PAGE_MAX`` answers 422 ``invalid_limit`` as everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
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


class MappedPage(BoundedLimitOffsetPagination):
    """The shared bounds, with only the page's rows turned into answers (``answer``: the page's
    rows in, the answers out) — a list of thousands is never built into schemas to show fifty."""

    def answer(self, rows: list[Any]) -> list[Any]:
        return rows

    def paginate_queryset(
        self,
        queryset: QuerySet[Any],
        pagination: BoundedLimitOffsetPagination.Input | LimitOffsetPagination.Input,
        request: HttpRequest | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        offset, limit = pagination.offset, pagination.limit
        return {
            "items": self.answer(list(queryset[offset : offset + limit])),
            "count": self._items_count(queryset),
        }


def mapped(answer: Callable[[list[Any]], list[Any]]) -> type[MappedPage]:
    """A ``MappedPage`` whose ``answer`` is ``answer``: ``@paginate(mapped(lambda rows: …))``."""
    return type("Page", (MappedPage,), {"answer": lambda self, rows: answer(rows)})
