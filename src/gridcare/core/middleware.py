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
