"""Excel exports of statistics tables (openpyxl), audited like every export."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from django.http import HttpResponse

from gridcare.core import audit, clock
from gridcare.core.models import AuditLog
from gridcare.org.types import Actor


def workbook_response(
    *,
    title: str,
    subtitle: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    filename: str,
    user: Actor,
    request: Any,
) -> HttpResponse:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([title, subtitle])
    sheet.append(list(headers))
    for row in rows:
        sheet.append([_cell(v) for v in row])
    sheet.column_dimensions["A"].width = 28
    buffer = io.BytesIO()
    book.save(buffer)
    audit.record(
        action=AuditLog.Action.EXPORT,
        actor=user,
        object_type="quality.statistics",
        object_repr=title,
        detail={"rows": len(rows), "subtitle": subtitle},
        request=request,
    )
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{filename}-{clock.local_now():%Y%m%d-%H%M}.xlsx"'
    )
    return response


def _cell(value: Any) -> Any:
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return clock.local(value).replace(tzinfo=None)
    if value is None:
        return ""
    if hasattr(value, "as_tuple"):  # Decimal
        return float(value)
    return value
