"""An export sent as a download: recorded in the audit log (who, what, how many rows, from where),
then answered as an attachment named ``NAME-<time>.EXT`` in Asia/Shanghai time. Every export goes
through here, whatever its format (core.excel for Excel sheets, core.pdf for printable documents),
so that each is audited alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header

from gridcare.core import audit, clock
from gridcare.core.models import AuditLog


def audited_attachment(
    content: bytes,
    *,
    content_type: str,
    filename: str,
    extension: str,
    title: str,
    user: Any,
    request: Any,
    object_type: str,
    object_id: str = "",
    detail: Mapping[str, Any] | None = None,
) -> HttpResponse:
    """``content`` as the download ``FILENAME-<yyyymmdd-hhmm>.EXTENSION``, after one audit row
    (action 导出, ``object_type``/``object_id``, ``title`` as what was exported, ``detail`` plus the
    format)."""
    audit.record(
        action=AuditLog.Action.EXPORT,
        actor=user,
        object_type=object_type,
        object_id=object_id,
        object_repr=title,
        detail={**(detail or {}), "format": extension},
        request=request,
    )
    response = HttpResponse(content, content_type=content_type)
    name = f"{filename}-{clock.local_now():%Y%m%d-%H%M}.{extension}"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
    return response
