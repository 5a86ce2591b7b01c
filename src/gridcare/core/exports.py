"""Files handed to a person (Excel sheets, PDF documents): one way to send them as an attachment
named ``FILENAME-<time>.EXT`` and to record the export in the audit log, whatever the format."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse

from gridcare.core import audit, clock
from gridcare.core.models import AuditLog


def audited_attachment(
    content: bytes,
    *,
    content_type: str,
    extension: str,
    filename: str,
    title: str,
    subtitle: str,
    rows: int,
    user: Any,
    request: Any,
    object_type: str,
) -> HttpResponse:
    """``content`` as a download; the export (what, how many rows, by whom) is audited."""
    audit.record(
        action=AuditLog.Action.EXPORT,
        actor=user,
        object_type=object_type,
        object_repr=title,
        detail={"rows": rows, "subtitle": subtitle, "format": extension},
        request=request,
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="{filename}-{clock.local_now():%Y%m%d-%H%M}.{extension}"'
    )
    return response
