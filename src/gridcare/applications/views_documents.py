"""The 业扩 forms as PDF downloads (``documents``): one view for the pages, audited like every
export; the API answers the same bytes (``api.document``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from gridcare.core import pdf
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.org import scoping
from gridcare.org.types import StaffRequest, Viewer

from . import documents, queries
from .models import Application


def response(application: Application, kind: str, user: Viewer, request: object) -> HttpResponse:
    """The document ``kind`` of ``application`` as a download (404 when the application has not
    reached it)."""
    if kind not in {k.key for k in documents.available(application)}:
        raise ApiError(ErrorCode.NOT_FOUND, gettext("该申请还没有此单据"), status=404)
    found = documents.build(application, kind, full=scoping.can_see_personal_data(user))
    return pdf.document_response(
        title=found.title,
        lines=found.lines,
        sections=found.sections,
        filename=f"{application.number}-{kind}",
        user=user,
        request=request,
        object_type="applications.application",
        object_id=application.number,
        reference=application.number,
    )


@login_required
@require_GET
def document(request: StaffRequest, number: str, kind: str) -> HttpResponse:
    try:
        application = queries.get_application(request.user, number)
        return response(application, kind, request.user, request)
    except ApiError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        raise
