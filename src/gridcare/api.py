"""Assembles the routers of the apps into /api/v1/ (OpenAPI at /api/v1/openapi.json)."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.security import SessionAuth

from gridcare.applications.api import router as applications_router
from gridcare.applications.callback_api import cases_router as audit_cases_router
from gridcare.applications.callback_api import router as application_callbacks_router
from gridcare.applications.survey_api import router as application_records_router
from gridcare.billing.api import router as billing_router
from gridcare.billing.api import runs_router as billing_runs_router
from gridcare.billing.api_arrears import router as disconnections_router
from gridcare.billing.api_payments import files_router as payment_files_router
from gridcare.billing.api_payments import reconciliations_router
from gridcare.billing.api_payments import router as payments_router
from gridcare.billing.api_payments import waivers_router as late_fee_waivers_router
from gridcare.core import clock
from gridcare.core.api_errors import ApiError, ErrorCode, ErrorOut, error_codes_markdown
from gridcare.customers.api import router as customers_router
from gridcare.hotline.api import router as calls_router
from gridcare.knowledge.api import router as knowledge_router
from gridcare.org.api import BearerToken
from gridcare.outages.api import router as outages_router
from gridcare.quality.api import router as statistics_router
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


logger = logging.getLogger("gridcare.api")

JSON_TYPES = frozenset({"application/json"})


class JsonOnlyParser(Parser):
    """A body is JSON, declared as such: a ``text/plain`` (or form) body is refused with 415 rather
    than parsed anyway (a cross-site form can send text/plain without a CORS preflight)."""

    def parse_body(self, request):
        if request.content_type not in JSON_TYPES:
            raise ApiError(
                ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                "The request body must be JSON (Content-Type: application/json).",
                status=415,
            )
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise ApiError(ErrorCode.INVALID_BODY, "The request body must be a JSON object.", status=400)
        return data


# The statuses any operation may answer besides its own (documented on every operation).
COMMON_ERRORS = {
    400: "Bad request: unparseable body, invalid characters, invalid Idempotency-Key",
    401: "No valid bearer token or session",
    403: "Your roles do not allow this (or the CSRF check failed)",
    404: "No such object in your scope",
    409: "Conflict with the object's current state (e.g. a stale version)",
    415: "The body is not JSON",
    422: "Input does not match the schema or a business rule",
    429: "Too many requests",
}


class GridCareAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """The schema, with the common error answers on every operation (``COMMON_ERRORS``) and
        the ``ErrorOut`` component they refer to."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in (
            ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}").get("$defs", {}).items()
        ):
            components.setdefault(name, definition)
        error = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        error.pop("$defs", None)
        components.setdefault("ErrorOut", error)
        answer = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                # ninja keys an operation's own answers by int; one key per status, as text.
                responses = {str(k): v for k, v in operation.setdefault("responses", {}).items()}
                operation["responses"] = responses
                for status, description in COMMON_ERRORS.items():
                    responses.setdefault(str(status), {"description": description, **answer})
        return schema


api = GridCareAPI(
    title="GridCare API",
    version="1",
    description="GridCare 95598 customer service center. Authenticate with `Authorization: Bearer <token>` "
    "(`gridcare create-token USERNAME`) or a staff session. Every error is JSON `{code, message}` "
    "with one of these codes:\n\n" + error_codes_markdown() + "\n",
    auth=[BearerToken(), SessionAuth()],
    urls_namespace="api",
    renderer=LocalTimeRenderer(),
    parser=JsonOnlyParser(),
    # Swagger UI's own assets are vendored by ninja; its online validator badge would load an image
    # from validator.swagger.io on any non-localhost address — an intranet has no internet.
    docs=Swagger(settings={"validatorUrl": None}),
)


def _error(request, status: int, code: str, message: str, **extra):
    return api.create_response(request, {"code": code, "message": message, **extra}, status=status)


@api.exception_handler(ApiError)
def on_api_error(request, exc: ApiError):
    response = _error(request, exc.status, exc.code, exc.message, **exc.extra)
    for name, value in getattr(exc, "headers", {}).items():  # e.g. Retry-After of a 429
        response[name] = value
    return response


_RANGE = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    """422 ``invalid_input`` with pydantic's errors (without the values given: they may be personal
    data); a bad ``limit`` alone is 422 ``invalid_limit``, the same code and status everywhere."""
    errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors]
    if errors and all(e.get("loc") and e["loc"][-1] == "limit" and e["type"] in _RANGE for e in errors):
        return _error(request, 422, ErrorCode.INVALID_LIMIT, "limit is out of range.", errors=errors)
    return _error(
        request, 422, ErrorCode.INVALID_INPUT, "The request does not match the schema.", errors=errors
    )


@api.exception_handler(ValidationError)
def on_django_validation_error(request, exc: ValidationError):
    return _error(request, 422, "invalid_input", "; ".join(exc.messages))


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return _error(request, 401, "unauthorized", "A valid bearer token or session is required.")


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return _error(request, 404, "not_found", "No such object in your scope.")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    """ninja's own errors: an unparseable body (400; a refused media type keeps its own answer),
    a failed CSRF check (403), a throttle (429)."""
    if isinstance(exc.__cause__, ApiError):
        return on_api_error(request, exc.__cause__)
    if exc.status_code == 400:
        return _error(request, 400, ErrorCode.INVALID_BODY, "The request body is not valid JSON.")
    if exc.status_code == 403 and "CSRF" in str(exc):
        return _error(request, 403, ErrorCode.CSRF_FAILED, "CSRF check failed: send the CSRF token.")
    if exc.status_code == 429:
        return _error(request, 429, ErrorCode.TOO_MANY_REQUESTS, "Too many requests.")
    codes = {401: ErrorCode.UNAUTHORIZED, 403: ErrorCode.FORBIDDEN, 404: ErrorCode.NOT_FOUND}
    return _error(request, exc.status_code, codes.get(exc.status_code, ErrorCode.INVALID_INPUT), str(exc))


@api.exception_handler(MultiPartParserError)
def on_bad_multipart(request, exc: MultiPartParserError):
    """A multipart body Django cannot parse (no boundary, cut short): 400, never a 500."""
    return _error(request, 400, ErrorCode.INVALID_BODY, "The multipart body cannot be parsed.")


@api.exception_handler(DataError)
def on_data_error(request, exc: DataError):
    """A value the database cannot hold that no schema caught: a client error, not a 500 (the
    value itself is not repeated: it may be personal data)."""
    logger.warning("DataError answered as 422 on %s", request.path)
    return _error(request, 422, ErrorCode.INVALID_INPUT, "A value is out of range or not storable.")


@api.exception_handler(Exception)
def on_unhandled(request, exc: Exception):
    """Anything else: logged with its traceback, answered ``{code, message}`` (500) — never a
    traceback or an HTML page, DEBUG or not."""
    logger.error("Unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return _error(request, 500, ErrorCode.SERVER_ERROR, "Internal error; it has been logged.")


@api.exception_handler(PermissionDenied)
def on_forbidden(request, exc):
    return _error(request, 403, "forbidden", str(exc) or "Your roles do not allow this.")


# The busiest paths first: Django tries the URL patterns in order (fault calls in a storm, intake).
api.add_router("/repair", "gridcare.repair.api.router")
api.add_router("/work-orders", workorders_router)
api.add_router("/payments", payments_router)  # the channels' other hot path: resolved early
api.add_router("/calls", calls_router)
api.add_router("/customers", customers_router)
api.add_router("/knowledge", knowledge_router)
api.add_router("/outages", outages_router)
api.add_router("/applications", applications_router)
api.add_router("/applications", application_records_router)
api.add_router("/application-callbacks", application_callbacks_router)
api.add_router("/audit-cases", audit_cases_router)
api.add_router("/statistics", statistics_router)
api.add_router("/billing", billing_router)
api.add_router("/billing-runs", billing_runs_router)
api.add_router("/disconnections", disconnections_router)
api.add_router("/payment-files", payment_files_router)
api.add_router("/reconciliations", reconciliations_router)
api.add_router("/late-fee-waivers", late_fee_waivers_router)
