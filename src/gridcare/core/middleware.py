from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import translation

from . import audit, clock
from .api_errors import TooManyRequests


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Chinese unless the user chose another language (language cookie / i18n/setlang).

    Django's own middleware follows the browser's Accept-Language, which would show an English UI
    to staff whose browsers happen to be English; GridCare's working language is Chinese.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


# Session keys: when the user logged in, and when they last did something (a poll is not doing
# something). Epoch seconds by core.clock, so tests can move time.
SESSION_AUTH_AT = "gridcare_auth_at"
SESSION_ACTIVE_AT = "gridcare_active_at"
# Sent by gridcare/poll.js on the requests an ``hx-trigger="every …"`` element makes by itself.
POLL_HEADER = "X-GridCare-Poll"


def is_poll(request) -> bool:
    return request.headers.get(POLL_HEADER) == "1"


def start_session_clock(request) -> None:
    now = int(clock.now().timestamp())
    request.session[SESSION_AUTH_AT] = now
    request.session[SESSION_ACTIVE_AT] = now


class SessionLifetimeMiddleware:
    """Ends a staff session idle for ``SESSION_COOKIE_AGE`` seconds or older than
    ``GRIDCARE_SESSION_MAX_HOURS``; a poll (workspace call strip, repair board, outage progress)
    neither counts as activity nor keeps the session alive. Also remembers the request for the
    audit log and answers a throttled page with 429 and ``Retry-After``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = audit.current_request.set(request)
        try:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and hasattr(request, "session"):
                ended = self._expired(request)
                if ended:
                    return self._end(request, ended)
            return self.get_response(request)
        finally:
            audit.current_request.reset(token)

    def _expired(self, request) -> str:
        now = int(clock.now().timestamp())
        session = request.session
        auth_at = session.get(SESSION_AUTH_AT)
        active_at = session.get(SESSION_ACTIVE_AT)
        if auth_at is None or active_at is None:  # a session from before these keys
            start_session_clock(request)
            return ""
        if now - auth_at > settings.GRIDCARE_SESSION_MAX_HOURS * 3600:
            return "absolute"
        if now - active_at > settings.SESSION_COOKIE_AGE:
            return "idle"
        if not is_poll(request):
            session[SESSION_ACTIVE_AT] = now
        return ""

    def _end(self, request, reason: str):
        from django.contrib.auth import logout
        from django.contrib.auth.views import redirect_to_login

        request.gridcare_logout_reason = reason
        logout(request)
        next_url = request.headers.get("HX-Current-URL") or request.get_full_path()
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"code": "unauthorized", "message": "The session has ended; log in again."}, status=401
            )
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = redirect_to_login(next_url).url
            return response
        return redirect_to_login(next_url)

    def process_exception(self, request, exception):
        if isinstance(exception, TooManyRequests) and not request.path.startswith("/api/"):
            response = render(
                request,
                "429.html",
                {"retry_after": exception.retry_after, "minutes": (exception.retry_after + 59) // 60},
                status=429,
            )
            response["Retry-After"] = str(exception.retry_after)
            return response
        return None


class CleanInputMiddleware:
    """Refuses control characters (NUL included) in a request's path, query string and form
    fields before any view sees them, and answers every error under ``/api/`` as JSON
    ``{code, message}``.

    PostgreSQL refuses NUL in text: left to reach it, such a value is a 500 whose log repeats the
    statement's values. A page answers 400; the API ``400 invalid_characters`` (its JSON bodies
    are checked by the schemas' field types, ``core.validation``). A 404 for an unknown API path,
    a 405 and a 500 Django itself answers are turned into JSON too (the API's own errors already
    are, ``gridcare.api``).
    """

    API_PREFIX = "/api/"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from gridcare.core.validation import CONTROL_CHARS, LINE_CONTROL_CHARS

        is_api = request.path_info.startswith(self.API_PREFIX)
        if LINE_CONTROL_CHARS.search(request.path_info):
            # No object's number or code holds one: there is no such page (404, not a 500).
            if is_api:
                return _json_error(404, "not_found", "No such path or object.")
            from django.http import HttpResponseNotFound

            return HttpResponseNotFound(content_type="text/plain; charset=utf-8")
        bad = request.META.get("QUERY_STRING") and any(
            LINE_CONTROL_CHARS.search(key) or any(LINE_CONTROL_CHARS.search(v) for v in values)
            for key, values in request.GET.lists()
        )
        if not bad and request.method == "POST" and not is_api:
            try:
                bad = any(
                    CONTROL_CHARS.search(value)
                    for values in request.POST.lists()
                    for value in values[1]
                    if isinstance(value, str)
                )
            except Exception:  # an unreadable form is the view's (or Django's) 400 to answer
                bad = False
        if bad:
            if is_api:
                return _json_error(400, "invalid_characters", "Control characters are not allowed.")
            from django.http import HttpResponseBadRequest
            from django.utils.translation import gettext as _

            return HttpResponseBadRequest(
                _("输入中含有不允许的控制字符。"), content_type="text/plain; charset=utf-8"
            )
        response = self.get_response(request)
        if is_api and response.status_code >= 400 and not _is_json(response):
            code, message = _API_STATUS.get(response.status_code, ("invalid_input", "Bad request."))
            if response.status_code >= 500:
                code, message = "server_error", "Internal error; it has been logged."
            json_response = _json_error(response.status_code, code, message)
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if response.has_header(header):
                    json_response[header] = response[header]
            return json_response
        return response

    def process_exception(self, request, exception):
        if request.path_info.startswith(self.API_PREFIX):
            import logging

            logging.getLogger("gridcare.api").error(
                "Unhandled error on %s %s", request.method, request.path, exc_info=exception
            )
            return _json_error(500, "server_error", "Internal error; it has been logged.")
        return None


_API_STATUS = {
    400: ("invalid_input", "Bad request."),
    401: ("unauthorized", "A valid bearer token or session is required."),
    403: ("forbidden", "Forbidden."),
    404: ("not_found", "No such path or object."),
    405: ("method_not_allowed", "This method is not allowed here."),
    413: ("invalid_body", "The request body is too large."),
    415: ("unsupported_media_type", "The request body must be JSON."),
    429: ("too_many_requests", "Too many requests."),
}


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def _json_error(status: int, code: str, message: str):
    from django.http import JsonResponse

    return JsonResponse({"code": code, "message": message}, status=status)
