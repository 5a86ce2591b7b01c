"""Excel exports (openpyxl): a titled sheet of rows as an attachment, recorded in the audit log
like every export (core.exports). Used by the supervision bulletins, the statistics pages and their
drill-downs."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from django.http import HttpResponse

from gridcare.core import clock
from gridcare.core.exports import audited_attachment


def workbook_response(
    *,
    title: str,
    subtitle: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    filename: str,
    user: Any,
    request: Any,
    object_type: str = "quality.statistics",
    object_id: str = "",
) -> HttpResponse:
    """``rows`` under ``headers`` in a sheet headed ``title`` and ``subtitle``, as
    ``FILENAME-<time>.xlsx``; the export is audited as ``object_type`` (``user``: who exports)."""
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
    return audited_attachment(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=filename,
        extension="xlsx",
        title=title,
        user=user,
        request=request,
        object_type=object_type,
        object_id=object_id,
        detail={"rows": len(rows), "subtitle": subtitle},
    )


def _cell(value: Any) -> Any:
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return clock.local(value).replace(tzinfo=None)
    if value is None:
        return ""
    if hasattr(value, "as_tuple"):  # Decimal
        return float(value)
    return value
