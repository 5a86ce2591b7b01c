"""Assembles the routers of the apps into /api/v1/ (OpenAPI at /api/v1/openapi.json)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.security import SessionAuth

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.customers.api import router as customers_router
from gridcare.hotline.api import router as calls_router
from gridcare.knowledge.api import router as knowledge_router
from gridcare.org.api import BearerToken
from gridcare.outages.api import router as outages_router
from gridcare.workorders.api import router as workorders_router


class LocalTimeEncoder(NinjaJSONEncoder):
    """Every time in an answer in GridCare's zone (Asia/Shanghai, ``+08:00``), whether the value
    was computed in local time or read back from the database in UTC: the same instant is always
    written the same way."""

    def default(self, o):
        if isinstance(o, dt.datetime) and o.tzinfo is not None:
            # Full precision, as pydantic writes the answers it serializes itself (the intake's).
            return clock.local(o).isoformat()
        return super().default(o)


class LocalTimeRenderer(JSONRenderer):
    encoder_class = LocalTimeEncoder


api = NinjaAPI(
    title="GridCare API",
    version="1",
    description="GridCare 95598 customer service center. Authenticate with `Authorization: Bearer <token>` "
    "(`gridcare create-token USERNAME`) or a staff session. Errors are JSON `{code, message}`.",
    auth=[BearerToken(), SessionAuth()],
    urls_namespace="api",
    renderer=LocalTimeRenderer(),
)


def _error(request, status: int, code: str, message: str, **extra):
    return api.create_response(request, {"code": code, "message": message, **extra}, status=status)


@api.exception_handler(ApiError)
def on_api_error(request, exc: ApiError):
    response = _error(request, exc.status, exc.code, exc.message, **exc.extra)
    for name, value in getattr(exc, "headers", {}).items():  # e.g. Retry-After of a 429
        response[name] = value
    return response


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    return _error(request, 422, "invalid_input", "The request does not match the schema.", errors=exc.errors)


@api.exception_handler(ValidationError)
def on_django_validation_error(request, exc: ValidationError):
    return _error(request, 422, "invalid_input", "; ".join(exc.messages))


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return _error(request, 401, "unauthorized", "A valid bearer token or session is required.")


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return _error(request, 404, "not_found", "No such object in your scope.")


@api.exception_handler(PermissionDenied)
def on_forbidden(request, exc):
    return _error(request, 403, "forbidden", str(exc) or "Your roles do not allow this.")


# The busiest paths first: Django tries the URL patterns in order (fault calls in a storm, intake).
api.add_router("/repair", "gridcare.repair.api.router")
api.add_router("/work-orders", workorders_router)
api.add_router("/calls", calls_router)
api.add_router("/customers", customers_router)
api.add_router("/knowledge", knowledge_router)
api.add_router("/outages", outages_router)
